# reports/ — the renderers: a finished struct lw_report / lw_dump in,
# text | json | junit | sarif | markdown | html | pprof | openmetrics |
# thread dump out. Linked into the analyzer binaries and every unit runner.
# Their only libraries are protobuf-c and zlib (pprof), link dependencies of
# the analyzer side only: the shim never links reports/.
REPORTS_SRCS := \
	reports/lw_vocab.c \
	reports/lw_escape.c \
	reports/lw_render_common.c \
	reports/lw_render_text.c \
	reports/lw_render_json.c \
	reports/lw_render_junit.c \
	reports/lw_render_sarif.c \
	reports/lw_render_markdown.c \
	reports/lw_render_dump.c \
	reports/lw_render_html.c \
	reports/lw_render_html_tree.c \
	reports/lw_render_pprof.c \
	reports/lw_render_openmetrics.c \
	$(BUILD)/gen/profile.pb-c.c
# recursive (=): pkg-config runs when linking, after deps.sh installed them
REPORTS_LDLIBS = $(shell pkg-config --libs libprotobuf-c zlib)
EXTRA_CFLAGS_reports += -I$(BUILD)/gen
EXTRA_CFLAGS_$(firstword $(subst /, ,$(BUILD))) += -I$(BUILD)/gen

# profile.proto -> C with protoc-c, into the build tree (never committed).
$(BUILD)/gen/profile.pb-c.c $(BUILD)/gen/profile.pb-c.h: reports/profile.proto | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=reports --c_out=$(BUILD)/gen $<
$(BUILD)/obj/reports/lw_render_pprof.o $(BUILD)/san/reports/lw_render_pprof.o: $(BUILD)/gen/profile.pb-c.h

# Compile them with `make` even before the analyzer links them, so a broken
# renderer shows up at once.
ALL_TARGETS += $(patsubst %.c,$(BUILD)/obj/%.o,$(REPORTS_SRCS))

# Golden-output tests (tests/golden/): real fixture programs under the shim,
# every format rendered, validated (tests/validators/), normalised and
# compared with tests/golden/expected/. `UPDATE_GOLDEN=1 make test-golden`
# rewrites the expected files — only on purpose, and review the diff.
GOLDEN_DIR := $(BUILD)/golden
GOLDEN_FIXTURES := $(GOLDEN_DIR)/three_level $(GOLDEN_DIR)/cxx_thread $(GOLDEN_DIR)/cxx_async \
	$(GOLDEN_DIR)/cxx_jthread $(GOLDEN_DIR)/rust_ticker.stamp
GOLDEN_CFLAGS := -D_GNU_SOURCE -Wall -Wextra -Werror -O0 -g -pthread

$(GOLDEN_DIR)/three_level: tests/golden/fixtures/three_level.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(GOLDEN_CFLAGS) -o $@ $<
$(GOLDEN_DIR)/cxx_thread: tests/golden/fixtures/cxx_thread.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(GOLDEN_CFLAGS) -o $@ $<
$(GOLDEN_DIR)/cxx_async: tests/golden/fixtures/cxx_async.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(GOLDEN_CFLAGS) -o $@ $<
$(GOLDEN_DIR)/cxx_jthread: tests/golden/fixtures/cxx_jthread.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++20 $(GOLDEN_CFLAGS) -o $@ $<
# Rust, at both optimisation levels, when rustc is installed (it is not a
# Debian package here but rustup's: run_golden.py skips the Rust cases with
# a message when the binaries are missing).
$(GOLDEN_DIR)/rust_ticker.stamp: tests/golden/fixtures/rust_ticker.rs
	@mkdir -p $(dir $@)
	@rm -f $(GOLDEN_DIR)/rust_ticker_O0 $(GOLDEN_DIR)/rust_ticker_O2
	@if command -v rustc >/dev/null; then \
	  rustc --edition 2021 -C opt-level=0 -g -o $(GOLDEN_DIR)/rust_ticker_O0 $< && \
	  rustc --edition 2021 -C opt-level=2 -g -o $(GOLDEN_DIR)/rust_ticker_O2 $<; \
	else echo "rustc not installed: the Rust golden cases will be skipped"; fi
	@touch $@

.PHONY: test-golden
test-golden: $(GOLDEN_FIXTURES) $(BUILD)/libleakwatch.so $(BUILD)/leakwatch-diff
	timeout 120 python3 tests/golden/run_golden.py $(BUILD)
TEST_TARGETS += test-golden

# The fleet-format unit tests read pprof back with the generated code.
EXTRA_CFLAGS_tests += -I$(BUILD)/gen
$(BUILD)/san/tests/unit/test_reports_fleet.o: $(BUILD)/gen/profile.pb-c.h
