"""`python -m voicelab` opens the GUI (the packaged app's executable does the same)."""

import sys

from voicelab.ui.app import main

if __name__ == "__main__":
    sys.exit(main())
