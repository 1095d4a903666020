# Benchmarks of the hot path (included by the Makefile, which defines PY, SHARED, PORT).
#   make bench-serve   the gatekeeper on :$(PORT) with the synthetic registry (foreground)
#   make bench         gatekeeper vs floor at 20 and 200 lines, RSS/physician, ready time
#   make loadtest      locust, headless, against bench-serve (CSV under var/loadtest)
# Each depends on `venv` (a fresh clone builds it first). Knobs: BENCH_N (registry size),
# BENCH_HTTP=inline|uvicorn|granian (the gatekeeper's HTTP server), YBGATE_HSA_FAST_PATH=off,
# FLOOR_PORT (the floor's port in `make bench`, default 8099), BENCH_CHURN=0,
# BENCH_ROUNDS (3) and BENCH_SECONDS (8): each comparison's rounds and seconds per side.
# make bench-scale: 10,000,000 codes unless BENCH_N is given.
SCALE_N := $(if $(filter command line environment,$(origin BENCH_N)),$(BENCH_N),10000000)
BENCH_N ?= 1000000
BENCH_DIR := var/bench
BENCH_SNAPSHOT := $(BENCH_DIR)/registry-$(BENCH_N).snap
BENCH_EMPTY := $(BENCH_DIR)/registry-empty.snap
BENCH_DEPS := $(SHARED)/bench/synth.py bench/synth_snapshot.py app/registry/snapshot.py \
	app/registry/compact.py app/registry/judge.py
LOADTEST_TIME ?= 30s
LOADTEST_USERS ?= 32

export BENCH_N

$(BENCH_SNAPSHOT): $(BENCH_DEPS) | venv
	SHARED=$(SHARED) $(PY) bench/synth_snapshot.py $@

$(BENCH_EMPTY): $(BENCH_DEPS) | venv
	SHARED=$(SHARED) $(PY) bench/synth_snapshot.py $@ --empty

ifneq ($(SCALE_N),$(BENCH_N))  # else the rule above builds it
$(BENCH_DIR)/registry-$(SCALE_N).snap: $(BENCH_DEPS) | venv
	BENCH_N=$(SCALE_N) SHARED=$(SHARED) $(PY) bench/synth_snapshot.py $@
endif

.PHONY: bench-serve bench bench-scale loadtest bench-signature bench-frontend
bench-serve: venv $(BENCH_SNAPSHOT)
	PY=$(PY) bench/serve.sh $(BENCH_SNAPSHOT) $(PORT)

bench: venv $(BENCH_SNAPSHOT) $(BENCH_EMPTY)
	@command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	PY=$(PY) BENCH_PORT=$(PORT) bench/bench.sh $(SHARED) $(BENCH_SNAPSHOT) $(BENCH_EMPTY)

## make bench-scale: RSS per code, ready seconds, snapshot bytes, relay refresh cost and
## propagation at 100 writes/s, at BENCH_N codes (default 10,000,000); bench/scale.py
bench-scale: venv $(BENCH_DIR)/registry-$(SCALE_N).snap $(BENCH_EMPTY)
	BENCH_N=$(SCALE_N) SHARED=$(SHARED) $(PY) bench/scale.py $(BENCH_DIR)/registry-$(SCALE_N).snap \
		$(BENCH_EMPTY)

loadtest: venv $(BENCH_SNAPSHOT)
	PY=$(PY) SHARED=$(SHARED) LOADTEST_TIME=$(LOADTEST_TIME) LOADTEST_USERS=$(LOADTEST_USERS) \
		LOADTEST_PORT=$(PORT) bench/loadtest.sh $(BENCH_SNAPSHOT)

## make bench-signature: µs per gateway signature check, with the nonce store in memory
## and in Redis (bench/signature_cost.py; BENCH_REDIS_URL, else its own redis-server)
bench-signature: venv
	$(PY) bench/signature_cost.py

## make bench-frontend: 前置 mode against the stand-in platform called directly, open-loop
## at 200 and 2,000 messages/s: p50/p99, throughput, the ratios against the bars
## (bench/frontend_bench.py; BENCH_ARGS="--rates 200 --seconds 5" for others)
bench-frontend: venv
	$(PY) bench/frontend_bench.py $(BENCH_ARGS)

## make bench-console: each console page's answer time at 100,000 physicians and
## 1,000,000 decisions on PostgreSQL (bench/console_bench.py; p95 <= 300 ms);
## BENCH_ARGS="--physicians 10000 --decisions 100000" for a smaller one
.PHONY: bench-console
bench-console: venv
	$(PY) bench/console_bench.py $(BENCH_ARGS)
