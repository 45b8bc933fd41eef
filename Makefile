# Set-up and everyday commands. Each target installs what it needs first (into .venv), so on a
# fresh machine `make serve` and `make test` are the only two commands you need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: serve build test install browser clean

# --dirty rebuilds only the pages that changed (guide_build/hooks.py counts a page as changed when
# one of its snippets did); it logs a warning, hence --no-strict. `make build` is strict.
serve: $(INSTALLED)  ## Preview the site at http://127.0.0.1:8000/guide/, rebuilding on every save
	$(BIN)/mkdocs serve --livereload --dirty --no-strict

build: $(INSTALLED)  ## Build the site into site/, failing on any warning
	$(BIN)/mkdocs build --strict

test: $(INSTALLED) browser  ## Run the whole test suite (it includes the strict build)
	$(BIN)/pytest

install: $(INSTALLED)

# The exact versions the site is built and tested with are pinned in constraints.txt: the pages
# show real output, and that output depends on them (torch above all).
$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test]"
	touch $@

# The browser tests drive Debian's Chromium; no test tool downloads a browser of its own.
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) site .cache test-artifacts
