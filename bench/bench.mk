# Benchmarks of the hot path (included by the Makefile, which defines PY and SHARED).
#   make bench-serve   the gatekeeper on :8000 with the synthetic registry (foreground)
#   make bench         gatekeeper vs floor at 20 and 200 lines, RSS/physician, ready time
#   make loadtest      locust, headless, against bench-serve (CSV under var/loadtest)
BENCH_N ?= 1000000
BENCH_DIR := var/bench
BENCH_SNAPSHOT := $(BENCH_DIR)/registry-$(BENCH_N).snap
BENCH_EMPTY := $(BENCH_DIR)/registry-empty.snap
BENCH_DEPS := $(SHARED)/bench/synth.py bench/synth_snapshot.py app/registry/snapshot.py \
	app/registry/compact.py app/registry/judge.py
LOADTEST_TIME ?= 30s
LOADTEST_USERS ?= 32

export BENCH_N

$(BENCH_SNAPSHOT): $(BENCH_DEPS)
	SHARED=$(SHARED) $(PY) bench/synth_snapshot.py $@

$(BENCH_EMPTY): $(BENCH_DEPS)
	SHARED=$(SHARED) $(PY) bench/synth_snapshot.py $@ --empty

.PHONY: bench-serve bench loadtest
bench-serve: $(BENCH_SNAPSHOT)
	PY=$(PY) bench/serve.sh $(BENCH_SNAPSHOT) 8000

bench: $(BENCH_SNAPSHOT) $(BENCH_EMPTY)
	@command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	PY=$(PY) bench/bench.sh $(SHARED) $(BENCH_SNAPSHOT) $(BENCH_EMPTY)

loadtest: $(BENCH_SNAPSHOT)
	PY=$(PY) SHARED=$(SHARED) LOADTEST_TIME=$(LOADTEST_TIME) LOADTEST_USERS=$(LOADTEST_USERS) \
		bench/loadtest.sh $(BENCH_SNAPSHOT)
