# tests/torture/ — reliability (issue 7): torture tests of the shim under
# real programs, the options-parser fuzz target, static analysis (lint) and
# a ThreadSanitizer build of the shim core.
#   make torture        all torture scenarios (tests/torture/run.py)
#   make test-torture   the same, bounded, for `make test` (< 60 s)
#   make lint           cppcheck over include/ preload/ analyzer/ reports/
#   make tsan           the shim core under ThreadSanitizer (torture_tsan.c)
#   make fuzz-options   the LEAKWATCH_OPTIONS fuzzer for FUZZ_SECONDS
# Included by the lead from tests/module.mk; until then:
#   make -f Makefile -f tests/torture/module.mk torture
TORTURE_DIR := $(BUILD)/tests/torture
TORTURE_BINS := $(TORTURE_DIR)/torture $(TORTURE_DIR)/libtorture_dl.so

$(TORTURE_DIR)/torture: tests/torture/torture.c tests/torture/torture_waits.c tests/torture/torture.h include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g $(WARN) -Iinclude -pthread -o $@ tests/torture/torture.c tests/torture/torture_waits.c -ldl -lrt
$(TORTURE_DIR)/libtorture_dl.so: tests/torture/libtorture_dl.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(WARN) -fPIC -shared -pthread -o $@ $<

.PHONY: torture test-torture
torture test-torture: $(LIBLEAKWATCH) $(BUILD)/leakwatch-diff $(TORTURE_BINS)
	timeout 120 python3 tests/torture/run.py --lib $(LIBLEAKWATCH) --bin $(TORTURE_DIR) \
		--diff $(BUILD)/leakwatch-diff --results "$${LW_RESULTS:-$(BUILD)/test-results}/$@"

ALL_TARGETS += $(TORTURE_BINS)
TEST_TARGETS += test-torture

# ---- fuzzing the options parser (same runner as analyzer/module.mk's) ----
$(BUILD)/fuzz/fuzz_options: tests/fuzz/fuzz_options.c preload/core/lw_options.c $(PRELOAD_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PRELOAD_INCLUDES) -o $@ $< preload/core/lw_options.c
.PHONY: fuzz-options test-fuzz-options
fuzz-options: $(BUILD)/fuzz/fuzz_options
	set -o pipefail; $(call lw_fuzz_run,options,$(FUZZ_SECONDS))
test-fuzz-options: $(BUILD)/fuzz/fuzz_options
	set -o pipefail; $(call lw_fuzz_run,options,5)
# `make fuzz` runs this target too
fuzz: fuzz-options
TEST_TARGETS += test-fuzz-options

# ---- static analysis ----
# -D__x86_64__: lw_sys.c #errors on unknown arches; '__attribute__(x)=':
# cppcheck 2.10 misparses some GCC attribute placements (a function pointer
# declared noreturn was one), reports a syntax error and skips the file.
# funcArgOrderDifferent in hook_wait.c: the LW_LOCK_FAST macros declare the
# slow path with the macro's parameter list; cppcheck compares names
# through the macro and misreads them (false positive).
LINT_CPPCHECK := cppcheck --enable=warning,performance,portability --inline-suppr \
	--error-exitcode=1 -q -D_GNU_SOURCE -D__x86_64__ '-D__attribute__(x)=' -DLW_VERSION='"lint"' \
	--suppress=funcArgOrderDifferent:preload/hooks/hook_wait.c -Iinclude
.PHONY: lint test-lint analyze
lint test-lint:
	@command -v cppcheck >/dev/null || { echo "lint: cppcheck not installed (apt-get install cppcheck)"; exit 1; }
	$(LINT_CPPCHECK) $(PRELOAD_INCLUDES) preload analyzer reports cli
	$(LINT_CPPCHECK) $(PRELOAD_INCLUDES) --std=c11 preload analyzer reports cli
TEST_TARGETS += test-lint
# gcc -fanalyzer over the shim and the analyzer, in a scratch build dir
ANALYZE_BUILD ?= $(BUILD)/analyze
analyze:
	$(MAKE) --no-print-directory BUILD=$(ANALYZE_BUILD) CFLAGS='-O2 -g -fanalyzer' \
		$(ANALYZE_BUILD)/libleakwatch.so $(ANALYZE_BUILD)/leakwatch-diff

# ---- ThreadSanitizer: the shim core hammered from several threads ----
# -Wno-tsan: lw_registry.c's seqlock orders with atomic_thread_fence, which TSan
# does not model; its data are relaxed atomics (LW_SEQ_WR/RD), so no race is
# hidden by that and the run needs no suppressions file.
TSAN_FLAGS := -fsanitize=thread -O1 -g -fno-omit-frame-pointer -Wno-tsan
$(TORTURE_DIR)/torture_tsan: tests/torture/torture_tsan.c $(PRELOAD_CORE_SRCS) $(PRELOAD_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(PRELOAD_INCLUDES) $(TSAN_FLAGS) -ftls-model=initial-exec -o $@ $< $(PRELOAD_CORE_SRCS) \
		$(PRELOAD_LDLIBS) $$(pkg-config --libs jansson)
.PHONY: tsan test-tsan
tsan test-tsan: $(TORTURE_DIR)/torture_tsan
	@d=$$(mktemp -d) && trap 'rm -rf $$d' EXIT && \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_EXTRA)" timeout 120 $< $$d 2000 2>&1 | tee $$d/log | tail -n 40; \
	  rc=$${PIPESTATUS[0]}; ! grep -q "WARNING: ThreadSanitizer" $$d/log && [ $$rc = 0 ]
TEST_TARGETS += test-tsan
