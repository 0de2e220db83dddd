# bench/module.mk — the overhead benchmark suite (issue 6). Not part of `make`
# or `make test`, except the few-second smoke run `test-bench-smoke`, which
# keeps every workload building and running.
#   make bench         full suite -> stdout and build/bench/results.md (~10-15 min)
#   make bench-quick   each workload once, plain/floor/leakwatch (a few seconds)
# Besides the wl_*.c workloads: bench/wl_pyqueue.py (many threads on one
# queue.Queue, run with /usr/bin/python3), short whole-process ping-pongs and
# a redis server's CPU per request (bench/bench_real.py).
BENCH_DIR := $(BUILD)/bench
BENCH_WORKLOADS := thread_churn cond_pingpong sem_pingpong mutex_contended \
    tcp_pingpong socketpair_pingpong poll_pingpong nanosleep_ticker block_release timer_churn \
    contended
BENCH_BINS := $(addprefix $(BENCH_DIR)/wl_,$(BENCH_WORKLOADS)) $(BENCH_DIR)/mcload
BENCH_TSAN_BINS := $(addprefix $(BENCH_DIR)/tsan/wl_,$(BENCH_WORKLOADS))
BENCH_FLOOR := $(BENCH_DIR)/libfloor.so
BENCH_SHIM := $(BUILD)/libleakwatch.so
BENCH_HDRS := bench/lw_bench.h bench/lw_bench_net.h
BENCH_CLANG ?= clang

$(BENCH_DIR)/wl_%: $(BUILD)/obj/bench/wl_%.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< -lpthread -lrt
$(BENCH_DIR)/mcload: $(BUILD)/obj/bench/mcload.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< -lpthread -lm
$(addprefix $(BUILD)/obj/bench/wl_,$(addsuffix .o,$(BENCH_WORKLOADS))) $(BUILD)/obj/bench/mcload.o: $(BENCH_HDRS)

# The same workloads under ThreadSanitizer, for the comparison rows.
$(BENCH_DIR)/tsan/wl_%: bench/wl_%.c $(BENCH_HDRS)
	@mkdir -p $(dir $@)
	$(BENCH_CLANG) $(BASE_CFLAGS) -O2 -g -fsanitize=thread -o $@ $< -lpthread -lrt

# The floor exports exactly the wrappers the shim exports (floor-map.sh). The
# map is regenerated on every build (cheap) and only rewritten on change.
.PHONY: lw-bench-force
$(BENCH_DIR)/floor.map: $(BUILD)/obj/bench/floor.o bench/floor-map.sh lw-bench-force
	@mkdir -p $(dir $@)
	@sh bench/floor-map.sh $< $(BENCH_SHIM) $@ $(BENCH_DIR)/floor-coverage.txt
$(BENCH_FLOOR): $(BUILD)/obj/bench/floor.o $(BENCH_DIR)/floor.map
	$(CC) -shared -o $@ $< -Wl,--version-script=$(BENCH_DIR)/floor.map -ldl

.PHONY: bench bench-quick bench-tools test-bench-smoke
bench-tools: $(BENCH_BINS) $(BENCH_FLOOR)

# The shim is built first when it can be; if it does not build, the suite
# still measures plain and floor and reports leakwatch as missing.
bench:
	@$(MAKE) --no-print-directory $(BENCH_SHIM) >/dev/null || echo "bench: $(BENCH_SHIM) did not build; leakwatch rows will be missing" >&2
	@-$(MAKE) --no-print-directory $(BUILD)/leakwatch-diff >/dev/null 2>&1
	@sh scripts/deps.sh memcached redis-server redis-tools elfutils gdb valgrind clang || echo "bench: memcached, redis, elfutils, gdb, valgrind or clang missing; their rows will be skipped" >&2
	@$(MAKE) --no-print-directory bench-tools
	@$(MAKE) --no-print-directory $(BENCH_TSAN_BINS) >/dev/null || echo "bench: ThreadSanitizer builds failed; those rows will be skipped" >&2
	python3 bench/run.py --build $(BUILD) --out $(BENCH_DIR)/results.md $(BENCH_ARGS)

bench-quick: bench-tools
	python3 bench/run.py --quick --build $(BUILD) --out $(BENCH_DIR)/results-quick.md

test-bench-smoke: bench-tools
	@python3 bench/run.py --quick --build $(BUILD) --out $(BENCH_DIR)/results-quick.md \
	    --results-file $(LW_RESULTS)/test-bench-smoke >$(BENCH_DIR)/smoke.log 2>&1 \
	    || { cat $(BENCH_DIR)/smoke.log; exit 1; }
	@tail -n 3 $(BENCH_DIR)/smoke.log

TEST_TARGETS += test-bench-smoke

# The hooks' fast paths change nothing a program sees: bench/semcheck.c
# drives the contended side of every lock/semaphore hook and the thread exits
# (pthread_exit, hooked or not; cancellation); its output plain and under
# leakwatch must be identical, and the snapshot must show both exit kinds.
$(BENCH_DIR)/semcheck: $(BUILD)/obj/bench/semcheck.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< -lpthread -ldl
.PHONY: test-bench-semantics
test-bench-semantics: $(BENCH_DIR)/semcheck $(BENCH_SHIM)
	@rm -f $(BENCH_DIR)/semcheck-*.txt $(BENCH_DIR)/semcheck-snap.json
	@timeout 60 $(BENCH_DIR)/semcheck > $(BENCH_DIR)/semcheck-plain.txt
	@LD_PRELOAD=$(abspath $(BENCH_SHIM)) LEAKWATCH_OPTIONS=at_exit=0:quiet=1 timeout 60 \
	    $(BENCH_DIR)/semcheck $(abspath $(BENCH_DIR))/semcheck-snap.json > $(BENCH_DIR)/semcheck-lw.txt
	@python3 bench/semcheck.py $(BENCH_DIR)/semcheck-plain.txt $(BENCH_DIR)/semcheck-lw.txt \
	    $(BENCH_DIR)/semcheck-snap.json $(LW_RESULTS)/test-bench-semantics

TEST_TARGETS += test-bench-semantics
