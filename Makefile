# Two commands do all the set-up: `make run` (the chat on seeds/) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# --no-compile: byte-compiling every installed module was half of a fresh install (67 s of it, on
# 2 cores); Python compiles the modules it imports when it first imports them.
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt

.PHONY: run test install browser clean

run: $(VENV)/.installed
	$(BIN)/qa serve

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test,milvus]'
	touch $@

# The chat is tested in Debian's Chromium; the CJK font keeps screenshots readable.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

clean:
	rm -rf $(VENV) var test-artifacts
