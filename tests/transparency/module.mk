# tests/transparency/ — leakwatch must not change what a program does.
#   make test-transp   the minimal programs (each one thing a preloaded
#                      program once did differently), in `make test`
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
