"""`python -m voicelab.cli …`: the same as `voicelab-cli …`."""

import sys

from voicelab.cli.main import main

sys.exit(main())
