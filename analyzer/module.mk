# analyzer/ — load, symbolize, judge and diff snapshots offline: the
# library build/leakwatch links (cli/), its unit tests, the
# malformed-input corpus, fuzz targets and the analyzer benchmark.
ANALYZER_LIB_SRCS := \
	analyzer/lw_arena.c \
	analyzer/lw_load.c \
	analyzer/lw_symbolize.c \
	analyzer/lw_verdict.c \
	analyzer/lw_site.c \
	analyzer/lw_frames.c \
	analyzer/lw_finding.c \
	analyzer/lw_diff.c \
	analyzer/lw_suppress.c \
	analyzer/lw_baseline.c \
	analyzer/lw_dump.c

# recursive (=): pkg-config runs in the recipe, after a fresh machine's
# missing packages were installed, not when make reads this file
ANALYZER_LDLIBS = $(shell pkg-config --libs jansson libdw libelf) $(REPORTS_LDLIBS) -liberty
EXTRA_CFLAGS_analyzer += -Ianalyzer -Ireports

ANALYZER_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(ANALYZER_LIB_SRCS))
# The top Makefile reads reports/module.mk first, so REPORTS_SRCS is known.
ANALYZER_REPORTS_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(REPORTS_SRCS))

# The commands that drive the analyzer are in cli/ (build/leakwatch).

# Symbolization fixture: a -g PIE that writes a snapshot of itself (real
# addresses, an inlined frame, a C++ symbol). Used by unit and e2e tests.
SYMFIX := $(BUILD)/tests/analyzer/symfix
$(BUILD)/tests/analyzer/symfix.o: tests/e2e/analyzer/symfix.c
	@mkdir -p $(dir $@)
	$(CC) -g -O1 -fPIE -Wall -Wextra -Werror -c $< -o $@
$(BUILD)/tests/analyzer/symfix_cpp.o: tests/e2e/analyzer/symfix_cpp.cpp
	@mkdir -p $(dir $@)
	g++ -g -O1 -fPIE -Wall -Wextra -Werror -c $< -o $@
$(SYMFIX): $(BUILD)/tests/analyzer/symfix.o $(BUILD)/tests/analyzer/symfix_cpp.o
	g++ -pie -o $@ $^

# Unit tests need the fixture and the analyzer headers.
EXTRA_CFLAGS_tests += -Ianalyzer -Ireports
test-unit-analyzer: $(SYMFIX)
test-unit-analyzer: export LW_SYMFIX := $(SYMFIX)

# Malformed-input corpus: exit 2 and the expected message for every file.
.PHONY: test-analyzer-malformed
test-analyzer-malformed: $(BUILD)/leakwatch-diff
	bash tests/malformed/check.sh $(BUILD)/leakwatch-diff $(if $(LW_RESULTS),$(LW_RESULTS)/test-analyzer-malformed)
TEST_TARGETS += test-analyzer-malformed

# Fuzzing (clang libFuzzer + ASan + UBSan). `make fuzz` runs each target for
# FUZZ_SECONDS; test-fuzz runs them for ~15 s in total inside `make test`.
FUZZ_SECONDS ?= 60
FUZZ_NAMES := snapshot supp baseline
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE \
	-Iinclude -Ianalyzer -Ireports -I$(BUILD)/gen -DLW_VERSION='"$(VERSION)"'
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(ANALYZER_LIB_SRCS) $(REPORTS_SRCS) $(wildcard analyzer/*.h reports/*.h) $(BUILD)/gen/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(ANALYZER_LIB_SRCS) $(REPORTS_SRCS) $(ANALYZER_LDLIBS)
# run one fuzzer: $(1) name, $(2) seconds
lw_fuzz_run = mkdir -p $(BUILD)/fuzz/corpus_$(1) && \
	timeout $$(( $(2) + 30 )) $(BUILD)/fuzz/fuzz_$(1) -max_total_time=$(2) -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus_$(1) tests/fuzz/seeds/$(1) \
	$(if $(filter snapshot,$(1)),tests/malformed) >$(BUILD)/fuzz/$(1).log 2>&1 \
	&& tail -n 3 $(BUILD)/fuzz/$(1).log || { tail -n 60 $(BUILD)/fuzz/$(1).log; false; }
.PHONY: fuzz test-fuzz
fuzz: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
	set -o pipefail; $(foreach n,$(FUZZ_NAMES),$(call lw_fuzz_run,$(n),$(FUZZ_SECONDS)) &&) true
test-fuzz: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
	set -o pipefail; $(call lw_fuzz_run,snapshot,9) && $(call lw_fuzz_run,supp,3) && $(call lw_fuzz_run,baseline,3)
TEST_TARGETS += test-fuzz

# Analyzer speed: diff of two synthetic 10,000-thread snapshots whose stacks
# are real addresses in a -g binary (the analyzer itself), symbolized.
BENCH_ANALYZER_THREADS ?= 10000
BENCH_ANALYZER_STACKS ?= 200
.PHONY: bench-analyzer
bench-analyzer: $(BUILD)/leakwatch-diff
	@mkdir -p $(BUILD)/bench
	python3 tests/e2e/analyzer/gen_bench.py $(BUILD)/leakwatch-diff $(BENCH_ANALYZER_THREADS) \
		$(BUILD)/bench/analyzer-before.json $(BUILD)/bench/analyzer-after.json $(BENCH_ANALYZER_STACKS)
	@ls -l $(BUILD)/bench/analyzer-before.json $(BUILD)/bench/analyzer-after.json | awk '{print $$5, $$9}'
	@for fmt in text json; do \
	  /usr/bin/time -f "bench-analyzer: format=$$fmt threads=$(BENCH_ANALYZER_THREADS) stacks=$(BENCH_ANALYZER_STACKS) wall=%es peak_rss=%MKB" \
	    $(BUILD)/leakwatch-diff --format=$$fmt $(BUILD)/bench/analyzer-before.json $(BUILD)/bench/analyzer-after.json \
	    >$(BUILD)/bench/analyzer-report.$$fmt; rc=$$?; \
	  [ $$rc = 1 ] || { echo "bench-analyzer: unexpected exit $$rc"; exit 1; }; \
	done

# End-to-end: fixture programs under the preload, diffed and checked.
.PHONY: test-analyzer-e2e
test-analyzer-e2e: $(BUILD)/leakwatch-diff $(BUILD)/libleakwatch.so $(BUILD)/examples/session_leak $(BUILD)/examples/heartbeat_leak
	bash tests/e2e/analyzer/run.sh $(BUILD) $(if $(LW_RESULTS),$(LW_RESULTS)/test-analyzer-e2e)
TEST_TARGETS += test-analyzer-e2e
