# Unit tests: check runners built with ASan+UBSan. Each area has its own
# runner so the areas build and fail independently:
#   tests/unit/test_preload_*.c   link PRELOAD_CORE_SRCS  (+ PRELOAD_UNIT_LDLIBS)
#   tests/unit/test_analyzer_*.c  link ANALYZER_LIB_SRCS REPORTS_SRCS (+ ANALYZER_LDLIBS)
#   tests/unit/test_reports_*.c   link REPORTS_SRCS
LW_RESULTS ?= $(BUILD)/test-results
# Suites are discovered from `Suite *lw_suite_NAME(void)` lines in the sources.
define lw_unit_runner
UNIT_SRCS_$(1) := $$(wildcard tests/unit/test_$(1)_*.c)
$(BUILD)/tests/$(1)/suites.h: $$(UNIT_SRCS_$(1)) | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	@grep -ho '^Suite \*lw_suite_[a-z0-9_]*' $$(UNIT_SRCS_$(1)) /dev/null | sed 's/^Suite \*lw_suite_\(.*\)/LW_SUITE(\1)/' > $$@.tmp
	@cmp -s $$@.tmp $$@ || mv $$@.tmp $$@; rm -f $$@.tmp
$(BUILD)/tests/$(1)/runner.o: tests/unit/runner.c $(BUILD)/tests/$(1)/suites.h
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) -I$(BUILD)/tests/$(1) -c $$< -o $$@
$(BUILD)/tests/unit-$(1): $(BUILD)/tests/$(1)/runner.o $$(patsubst %.c,$(BUILD)/san/%.o,$$(UNIT_SRCS_$(1)) $(2))
	$(CC) $(SAN_FLAGS) -o $$@ $$^ $(3) $$$$(pkg-config --libs check) -lpthread -lm
.PHONY: test-unit-$(1)
test-unit-$(1): $(BUILD)/tests/unit-$(1)
	LW_RESULTS_FILE=$$(LW_RESULTS)/test-unit-$(1) CK_DEFAULT_TIMEOUT=60 $$<
# Runners link check (a test package): built by `make test`, not `make`.
ifneq ($$(UNIT_SRCS_$(1)),)
TEST_TARGETS += test-unit-$(1)
endif
endef

$(eval $(call lw_unit_runner,preload,$$(PRELOAD_CORE_SRCS),$$(PRELOAD_UNIT_LDLIBS)))
$(eval $(call lw_unit_runner,analyzer,$$(ANALYZER_LIB_SRCS) $$(REPORTS_SRCS),$$(ANALYZER_LDLIBS)))
$(eval $(call lw_unit_runner,reports,$$(REPORTS_SRCS),$$(REPORTS_LDLIBS)))
-include tests/e2e/sockets/module.mk
-include tests/formats/module.mk
-include tests/e2e/verdict/module.mk
-include tests/torture/module.mk
-include tests/e2e/channel/module.mk
-include tests/transparency/module.mk
