# The two set-up commands of the README. Both install what they need first.
PY ?= python3
PIP = $(PY) -m pip install -q --disable-pip-version-check

.PHONY: build test deps test-deps system-deps bench

deps:
	$(PIP) -e .

# Builds every edition of the scan in docs/ into site/<edition>/ (site + PDF).
build: deps
	envscan build

system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 poppler-utils >/dev/null; \
	fi

test-deps: system-deps
	$(PIP) -e ".[test]"

# Type-checks the package (mypy --strict) and runs the whole test suite (unit, editions, leak
# gate, site + PDF, browser).
test: test-deps
	$(PY) -m mypy
	$(PY) -m pytest

bench: deps
	$(PY) benchmarks/bench.py
