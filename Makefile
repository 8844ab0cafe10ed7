# The two commands README.md gives a newcomer: `make run` and `make test`.
# Both create .venv, install VoiceLab into it, and then launch the app or run every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first and pinned: a bare `torch` requirement would otherwise resolve on its own.
# Set TORCH_INDEX=https://download.pytorch.org/whl/cpu for a small CPU-only download.
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: run test install install-test install-build system-deps lint screenshot package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel

$(VENV)/.torch: $(BIN)/python
	$(BIN)/python -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	touch $@

# resemblyzer (preview likeness) without its deps: it asks for the `webrtcvad` sdist, which
# fails to build; pyproject.toml lists what it needs, webrtcvad-wheels included.
RESEMBLYZER := $(BIN)/python -m pip install --no-deps "resemblyzer==0.1.4"

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install -e .
	$(RESEMBLYZER)
	touch $@

# openai-whisper (an optional backend) is tested with the real package; --no-deps keeps
# pip from pulling triton (hundreds of MB) that the CPU tests never use.
$(VENV)/.installed-test: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install -e ".[test]"
	$(RESEMBLYZER)
	$(BIN)/python -m pip install --no-deps "openai-whisper>=20240930"
	$(BIN)/python -m pip install tiktoken more-itertools
	touch $@

$(VENV)/.installed-build: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install -e ".[build]"
	$(RESEMBLYZER)
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-build: $(VENV)/.installed-build

system-deps:
	sh packaging/linux/install-system-deps.sh

run: system-deps install
	$(BIN)/voicelab

lint: install-test
	$(BIN)/lint-imports
	$(BIN)/ruff check .

test: system-deps install-test
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# A screenshot of the main window under Xvfb, as a person would see it (screenshots/).
screenshot: install
	xvfb-run -a -s "-screen 0 1400x900x24" $(BIN)/python -m voicelab --screenshot screenshots/main_window.png

# The packaged app for this platform (PyInstaller, build.spec): dist/VoiceLab/ plus a
# .tar.gz (Linux), a .zip of VoiceLab.app (macOS) or an Inno Setup installer (Windows).
package: system-deps install-build
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(VENV) build dist *.egg-info
