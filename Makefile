# ybgate — the two commands: `make run` (embedded default) and `make test` (the suite).
SHELL := /bin/bash
PY := .venv/bin/python
SHARED ?= ../shared
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run run-prod test lint format migrate bench bench-serve bench-sync bench-import loadtest venv lock clean schemas fuzz

## make venv: installs the pinned versions of requirements.lock (then the app itself, no deps)
venv: .venv/.installed

.venv/.installed: pyproject.toml requirements.lock setup.py $(wildcard csrc/*.c csrc/*.h)
	@command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@# the C part (csrc/, the 2204/2301 fast path) needs a compiler and Python's headers
	@command -v cc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc libc6-dev; }
	@python3 -c 'import os,sysconfig,sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
		|| { apt-get update -qq && apt-get install -y -qq python3-dev; }
	@test -x .venv/bin/python || python3 -m venv .venv || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv .venv; }
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements.lock
	.venv/bin/pip install -q --no-deps -e .
	.venv/bin/pip check  # a dependency in pyproject.toml but not in the lock: run `make lock`
	@touch $@

## make lock: re-resolve pyproject.toml (with the dev extra) into requirements.lock
lock:
	@test -x .venv/bin/pip-compile || { test -x .venv/bin/python || python3 -m venv .venv; .venv/bin/pip install -q pip-tools; }
	.venv/bin/pip-compile -q --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		--no-emit-trusted-host --allow-unsafe -o requirements.lock pyproject.toml

## make run: SQLite + no Redis, demo data seeded, tokens printed, serves on :8000
run: venv
	$(PY) -m app.cli migrate
	$(PY) -m app.cli seed
	$(PY) -m app.cli serve all --port $(PORT)

## make run-prod: PostgreSQL + Redis + relay + admin (:8001) + two gatekeepers (:8000, :8002)
run-prod: venv
	scripts/run-prod.sh

## make bench-import: roster import of 100,000 rows on PostgreSQL (rows/s, seconds)
bench-import: venv
	$(PY) bench/import_bench.py

## make bench-sync: propagation latency admin commit -> every gatekeeper; cold start at 1M
bench-sync: venv
	$(PY) bench/sync_bench.py

## make test: real PostgreSQL and Redis on loopback, the whole suite, servers stopped after
test: venv
	scripts/run-tests.sh

migrate: venv
	$(PY) -m app.cli migrate

## make fuzz: the 2204/2301 fast path (csrc/) under ASan + UBSan with edge coverage, fuzzed
## for FUZZ_SECONDS against the reference decoder (tests/fuzz/, corpus tests/data/fuzz-corpus/)
FUZZ_SECONDS ?= 90
fuzz: venv
	scripts/fuzz-feefast.sh $(FUZZ_SECONDS) $(FUZZ_SEED)

lint: venv
	.venv/bin/ruff check app tests bench loadtests
	.venv/bin/ruff format --check app tests bench loadtests
	.venv/bin/mypy

format: venv
	.venv/bin/ruff check --fix app tests bench loadtests
	.venv/bin/ruff format app tests bench loadtests

schemas: venv
	$(PY) -m app.cli schemas

clean:
	rm -rf .venv var ybgate.db ybgate.db-*

-include bench/bench.mk
