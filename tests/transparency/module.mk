# tests/transparency/ — leakwatch must not change what a program does.
#   make test-transp              the minimal programs (each one thing a
#                                 preloaded program once did differently)
#   make test-transparency-quick  CPython's quick modules, plain and preloaded
#   make test-transparency        all of run_cpython.py's modules, and
#                                 test_signal under a snapshot-signal storm
# The first two are in `make test`; the last is named in the README.
TRANSP_DIR := $(BUILD)/tests/transparency
TRANSP_C := fork_from_thread raw_fork vfork_close fd_numbers send_signal
TRANSP_BINS := $(addprefix $(TRANSP_DIR)/,$(TRANSP_C)) $(TRANSP_DIR)/libuv_pool

$(addprefix $(TRANSP_DIR)/,$(TRANSP_C)): $(TRANSP_DIR)/%: tests/transparency/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O1 -g -pthread -o $@ $<
$(TRANSP_DIR)/libuv_pool: tests/transparency/libuv_pool.c | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O1 -g -o $@ $< $$(pkg-config --cflags --libs libuv)

.PHONY: test-transp
test-transp: all $(TRANSP_BINS) $(BUILD)/bench/libfloor.so
	LW_RESULTS=$(LW_RESULTS) timeout 600 python3 tests/transparency/run.py $(BUILD)

TEST_TARGETS += test-transp

.PHONY: test-transparency test-transparency-quick
test-transparency-quick: $(LIBLEAKWATCH)
	LW_RESULTS=$(LW_RESULTS) timeout 900 python3 tests/transparency/run_cpython.py $(BUILD) --quick
test-transparency: $(LIBLEAKWATCH)
	LW_RESULTS=$(LW_RESULTS) timeout 3600 python3 tests/transparency/run_cpython.py $(BUILD) --storm

TEST_TARGETS += test-transparency-quick
