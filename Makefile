# Set-up and everyday commands. Each target installs what it needs first (into .venv), so on a
# fresh machine `make serve` and `make test` are the only two commands you need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: serve build test check-chapter check-torchrun check-torch-versions install browser clean

# --dirty rebuilds only the pages that changed (guide_build/adapters/mkdocs_hooks.py counts a page as changed when
# one of its snippets did); it logs a warning, hence --no-strict. `make build` is strict.
serve: $(INSTALLED)  ## Preview the site at http://127.0.0.1:8000/guide/, rebuilding on every save
	$(BIN)/mkdocs serve --livereload --dirty --no-strict

build: $(INSTALLED)  ## Build the site into site/, failing on any warning
	$(BIN)/mkdocs build --strict

# pytest writes .cache/test-session-finished when its session ends normally: a run killed from
# inside (os._exit in code under test) cannot pass with no summary.
# Then the accessibility audit of every page in four variants (tests/test_accessibility.py), a
# step of its own: its four variants run two at a time, a test class each (AUDIT=no skips it, for CI parts).
AUDIT ?= yes
test: $(INSTALLED) browser  ## Run the whole test suite (it includes the strict build), then the accessibility audit
	rm -f .cache/test-session-finished
	$(BIN)/pytest $(PYTEST_ARGS)
	@test -f .cache/test-session-finished || { echo "pytest ended without finishing its session"; exit 1; }
	@if [ "$(AUDIT)" = yes ]; then \
	  rm -f .cache/test-session-finished && \
	  $(BIN)/pytest -m audit --dist loadscope tests/test_accessibility.py && \
	  test -f .cache/test-session-finished || { echo "the accessibility audit failed or did not finish"; exit 1; }; \
	fi

# One chapter's checks while you work on it (docs/contributing.md): its style, snippets, claims,
# witnesses, API links, notebook, page code, and a strict build of the site for its links.
check-chapter: $(INSTALLED)  ## make check-chapter PAGE=docs/<part>/<page>.md SNIPPETS=snippets/<chapter>
	@test -f "$(PAGE)" && test -d "$(SNIPPETS)" || { echo "usage: make check-chapter PAGE=docs/<part>/<page>.md SNIPPETS=snippets/<chapter>"; exit 2; }
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pre-commit run --files $(PAGE) $$(git ls-files --cached --others --exclude-standard $(SNIPPETS))
	$(BIN)/pytest tests/test_snippets.py tests/test_claims.py tests/test_witnesses.py tests/test_api_links.py tests/test_notebooks.py $(PAGE) \
	  -k "$(SNIPPETS)/ or $(notdir $(PAGE))" --deselect tests/test_snippets.py::test_every_snippet_asserts_what_it_demonstrates

# Every distributed example under the real torchrun, compared with what its page shows (slow).
check-torchrun: $(INSTALLED)  ## Run each `# guide: ranks=N` example with torchrun and compare
	$(BIN)/python tests/torchrun_conformance.py

# Every example on other torch releases, on the CPU (tests/torch_versions.py): each release's first
# run downloads a CUDA build of torch and its CUDA libraries, several GB, into .cache/torch-versions.
TORCH ?= 2.11.0
check-torch-versions: $(INSTALLED)  ## make check-torch-versions TORCH="2.11.0 2.14.1"
	$(BIN)/python tests/torch_versions.py $(TORCH)

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
