"""Qt-free core of VoiceLab.

Everything here runs headless: the GUI, the CLI and the trainer subprocess all call these
functions. An import-linter contract in pyproject.toml keeps Qt out of this package.
"""
