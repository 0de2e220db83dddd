# reports/ — the renderers: a finished struct lw_report / lw_dump in,
# text | json | junit | sarif | markdown | thread dump out. Linked into the
# analyzer binaries and every unit runner; no libraries of their own.
REPORTS_SRCS := \
	reports/lw_vocab.c \
	reports/lw_escape.c \
	reports/lw_render_common.c \
	reports/lw_render_text.c \
	reports/lw_render_json.c \
	reports/lw_render_junit.c \
	reports/lw_render_sarif.c \
	reports/lw_render_markdown.c \
	reports/lw_render_dump.c

# Compile them with `make` even before the analyzer links them, so a broken
# renderer shows up at once.
ALL_TARGETS += $(patsubst %.c,$(BUILD)/obj/%.o,$(REPORTS_SRCS))

# Golden-output tests (tests/golden/): real fixture programs under the shim,
# every format rendered, validated (tests/validators/), normalised and
# compared with tests/golden/expected/. `UPDATE_GOLDEN=1 make test-golden`
# rewrites the expected files — only on purpose, and review the diff.
GOLDEN_DIR := $(BUILD)/golden
GOLDEN_FIXTURES := $(GOLDEN_DIR)/three_level $(GOLDEN_DIR)/cxx_thread
GOLDEN_CFLAGS := -D_GNU_SOURCE -Wall -Wextra -Werror -O0 -g -pthread

$(GOLDEN_DIR)/three_level: tests/golden/fixtures/three_level.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(GOLDEN_CFLAGS) -o $@ $<
$(GOLDEN_DIR)/cxx_thread: tests/golden/fixtures/cxx_thread.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(GOLDEN_CFLAGS) -o $@ $<

.PHONY: test-golden
test-golden: $(GOLDEN_FIXTURES) $(BUILD)/libleakwatch.so $(BUILD)/leakwatch-diff
	timeout 120 python3 tests/golden/run_golden.py $(BUILD)
TEST_TARGETS += test-golden
