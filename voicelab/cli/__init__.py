"""`voicelab-cli`, the headless CLI: `main` (the dispatcher; `voicelab.cli.main:main` is the
`voicelab-cli` entry point) wires one module per command group (info, models, generate,
dataset, train, record), and `terminal` holds what they share. Nothing here imports Qt (an
import-linter contract)."""
