# ybgate — the two commands: `make run` (embedded default) and `make test` (the suite).
# Every target works on a fresh clone, in any order: each one that runs Python depends on
# `venv`. VENV=dir builds and uses another virtualenv (CI: one built without a compiler).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run run-prod test lint format migrate bench bench-serve bench-sync bench-import bench-decisions bench-scale loadtest venv lock clean schemas fuzz

## make venv: installs the pinned versions of requirements.lock (then the app itself, no deps).
## The C fast path (csrc/) is built when a C compiler and Python's headers are there, and
## skipped otherwise (the reference path serves); nothing installs a compiler.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock setup.py $(wildcard csrc/*.c csrc/*.h)
	@command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@test -x $(PY) || python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	$(VENV)/bin/pip check  # a dependency in pyproject.toml but not in the lock: run `make lock`
	@$(PY) -c 'from app.gatekeeper.national import fast; print(fast.describe("auto"))'
	@touch $@

## make lock: re-resolve pyproject.toml (with the dev extra) into requirements.lock
lock:
	@test -x $(VENV)/bin/pip-compile || { test -x $(PY) || python3 -m venv $(VENV); $(VENV)/bin/pip install -q pip-tools; }
	$(VENV)/bin/pip-compile -q --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		--no-emit-trusted-host --allow-unsafe -o requirements.lock pyproject.toml

## make run: SQLite + no Redis, demo data seeded, tokens printed, serves on :8000
## make run HSA_STANDIN=1: in 前置 mode too, forwarding to a stand-in platform on
## :$(STANDIN_PORT) (its control port, GET /received and POST /mode: $(STANDIN_PORT)+1)
STANDIN_PORT ?= 8100
run: venv
	$(PY) -m app.cli migrate
	$(PY) -m app.cli seed --port $(PORT)
ifeq ($(HSA_STANDIN),1)
	$(PY) -m app.cli standin --port $(STANDIN_PORT) --control-port $$(($(STANDIN_PORT) + 1)) & \
	standin=$$!; trap 'kill $$standin 2>/dev/null' EXIT; \
	YBGATE_HSA_UPSTREAM=http://127.0.0.1:$(STANDIN_PORT) $(PY) -m app.cli serve all --port $(PORT)
else
	$(PY) -m app.cli serve all --port $(PORT)
endif

## make run-prod: PostgreSQL + Redis + relay + admin (:8001) + two gatekeepers (:8000, :8002)
run-prod: venv
	PY=$(PY) PORT=$(PORT) scripts/run-prod.sh

## make bench-import: roster import of 100,000 rows on PostgreSQL (rows/s, seconds);
## BENCH_ARGS="--rows 1000" for a smaller one (make bench-sync takes BENCH_ARGS too)
bench-import: venv
	$(PY) bench/import_bench.py $(BENCH_ARGS)

## make bench-sync: propagation latency admin commit -> every gatekeeper; cold start at 1M
bench-sync: venv
	$(PY) bench/sync_bench.py $(BENCH_ARGS)

## make bench-decisions: decision log bytes per decision (PostgreSQL incl. indexes, journal,
## archive), COPY rate with fsync on, lookup p50/p99; BENCH_ARGS="--rows 2000000 --days 4"
## BENCH_ARGS="--ingest --rate 2000 --seconds 600": sustained ingest through the gatekeeper,
## hot-path p99 against the spill sink, a 60 s database outage under load, rows lost
bench-decisions: venv
	$(PY) bench/decisions_bench.py $(BENCH_ARGS)

## make test: real PostgreSQL and Redis on loopback, the whole suite, servers stopped after
test: venv
	PY=$(PY) scripts/run-tests.sh

migrate: venv
	$(PY) -m app.cli migrate

## make fuzz: the 2204/2301 fast path (csrc/) under ASan + UBSan with edge coverage, fuzzed
## for FUZZ_SECONDS against the reference decoder (tests/fuzz/, corpus tests/data/fuzz-corpus/)
FUZZ_SECONDS ?= 90
fuzz: venv
	scripts/fuzz-feefast.sh $(FUZZ_SECONDS) $(FUZZ_SEED)

lint: venv
	$(VENV)/bin/ruff check app tests bench loadtests scripts
	$(VENV)/bin/ruff format --check app tests bench loadtests scripts
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix app tests bench loadtests scripts
	$(VENV)/bin/ruff format app tests bench loadtests scripts

schemas: venv
	$(PY) -m app.cli schemas

clean:
	rm -rf $(VENV) var ybgate.db ybgate.db-* build
	find app -name '*.so' -delete

-include bench/bench.mk
