# tests/e2e/sockets/ — end-to-end tests of sockets, fds and timers under the
# preload (issue 5). `make test-e2e-sockets` builds the fixtures and runs
# run.py, which writes "PASSED FAILED" to $(LW_RESULTS)/test-e2e-sockets.
# Included by the lead from tests/module.mk (or preload/module.mk).
E2E_SOCK_DIR := $(BUILD)/tests/e2e-sockets
E2E_SOCK_BINS := $(E2E_SOCK_DIR)/sockets_fixture $(E2E_SOCK_DIR)/badinput $(E2E_SOCK_DIR)/sendsem

$(E2E_SOCK_DIR)/%: tests/e2e/sockets/%.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -Iinclude -O1 -g -o $@ $< -lpthread -lrt -ldl

.PHONY: test-e2e-sockets
test-e2e-sockets: $(BUILD)/libleakwatch.so $(E2E_SOCK_BINS)
	LW_RESULTS=$(LW_RESULTS) timeout 120 python3 tests/e2e/sockets/run.py $(BUILD)

ALL_TARGETS += $(E2E_SOCK_BINS)
TEST_TARGETS += test-e2e-sockets
