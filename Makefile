# Two entry points, used by README's quick start and by .ci/run.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install install-test chromium run test bench

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, from the constraints file: an unpinned torch pulls a multi-GB CUDA build.
install: $(PY)
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e .

install-test: $(PY)
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e '.[test]'

# Debian's Chromium for the browser tests (never `playwright install`).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

run: install
	$(VENV)/bin/commonplace serve

test: install-test chromium
	$(VENV)/bin/ruff check server sync search tests
	$(VENV)/bin/pytest -q

bench: install-test
	$(PY) tests/bench/bench_pageview.py
