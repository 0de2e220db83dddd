# tests/e2e/channel — the control channel, the snapshot signal and exec
# images (docs/design.md §3.5) on real processes: `make test-channel`.
E2E_CHAN_DIR := $(BUILD)/tests/e2e-channel

$(E2E_CHAN_DIR)/chanfix: tests/e2e/channel/chanfix.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g $(WARN) -pthread -o $@ $<

.PHONY: test-channel
test-channel: all $(E2E_CHAN_DIR)/chanfix
	LW_RESULTS=$(LW_RESULTS) timeout 300 python3 tests/e2e/channel/run.py $(BUILD)

ALL_TARGETS += $(E2E_CHAN_DIR)/chanfix
TEST_TARGETS += test-channel
