# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch 2.14.1 / torchvision 0.29.1 install from this machine's local wheel cache.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

.PHONY: run test test-fast fuzz bench venv package package-test clean translations

$(VENV)/.stamp-base: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_PINS)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base
	$(PIP) install --quiet -e '.[test,cluster]'
	touch $@

venv: $(VENV)/.stamp-base

run: $(VENV)/.stamp-base
	$(PY) -m vlm_desktop

test: $(VENV)/.stamp-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

test-fast: $(VENV)/.stamp-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -m "not slow"

# The long, coverage-guided fuzz run (atheris) of every target in tests/fuzz/; new failures
# are kept under tests/fuzz/corpus/ and replayed by `make test` from then on.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := image metadata-csv metadata-json metadata-jsonl history model-zip model-tar model-weights

$(VENV)/.stamp-fuzz: $(VENV)/.stamp-test
	$(PIP) install --quiet -e '.[fuzz]'
	touch $@

fuzz: $(VENV)/.stamp-fuzz
	for t in $(FUZZ_TARGETS); do \
	  $(PY) -m tests.fuzz.fuzz $$t --atheris --seconds $(FUZZ_SECONDS) --save || exit 1; done

clean:
	rm -rf build dist .pytest_cache

# The window's translations: refresh the .ts sources from the ui/ code (new texts come in
# unfinished; translate them in Qt Linguist, `pyside6-linguist`), then build the .qm files.
# The .qm is committed (37 KB), so installs and the frozen build need no Qt tools;
# tests/ui/test_i18n.py fails when it is older than its .ts.
TS_FILES := resources/i18n/vlm_desktop_zh_CN.ts

translations: $(VENV)/.stamp-base
	$(VENV)/bin/pyside6-lupdate vlm_desktop/ui/*.py -no-obsolete -locations none \
	  -source-language en -target-language zh_CN -ts $(TS_FILES)
	for ts in $(TS_FILES); do $(VENV)/bin/pyside6-lrelease $$ts -qm $${ts%.ts}.qm || exit 1; done

# --- packaged installer (packaging/; see packaging/build_linux.sh) -------------------------
APP_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' vlm_desktop/__init__.py)
DEB := dist/vlm-desktop_$(APP_VERSION)_amd64.deb

$(VENV)/.stamp-package: $(VENV)/.stamp-base
	$(PIP) install --quiet -e '.[package]'
	touch $@

# dist/vlm-desktop/, dist/vlm-desktop-X.Y.Z-linux-x86_64.tar.gz, dist/vlm-desktop_X.Y.Z_amd64.deb
package: $(VENV)/.stamp-package
	PYTHON=$(PY) bash packaging/build_linux.sh

# Runs the frozen app from the unpacked .deb: offline, empty HOME, offscreen (builds it if absent).
package-test: $(VENV)/.stamp-base
	test -f $(DEB) || $(MAKE) package
	PYTHON=$(PY) bash packaging/smoke_test.sh
