# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch 2.14.1 / torchvision 0.29.1 install from this machine's local wheel cache.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

.PHONY: run test test-fast bench venv package package-test clean

$(VENV)/.stamp-base: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_PINS)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base
	$(PIP) install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.stamp-base

run: $(VENV)/.stamp-base
	$(PY) -m vlm_desktop

test: $(VENV)/.stamp-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

test-fast: $(VENV)/.stamp-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -m "not slow"

clean:
	rm -rf build dist .pytest_cache
