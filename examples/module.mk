# examples/ — the demo service and client, the gate demo's test binary, and
# the C / C++ / Python leak examples whose expected report facts are checked
# by `make test-examples` (so README and examples cannot drift from the code).
#   make demo          the whole job on the bundled service (< 60 s)
#   make test-demo     the same, asserting on every step (part of make test)
EXAMPLES_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O0 -g -pthread
EXAMPLES_BINS := $(addprefix $(BUILD)/examples/,service client cache_tests session_leak heartbeat_leak verify_test)

$(BUILD)/examples/service: examples/service/service.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLES_CFLAGS) -o $@ $<
$(BUILD)/examples/client: examples/service/client.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLES_CFLAGS) -o $@ $<
$(BUILD)/examples/cache_tests: examples/gate/cache_tests.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLES_CFLAGS) -o $@ $<
$(BUILD)/examples/session_leak: examples/c/session_leak.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLES_CFLAGS) -o $@ $<
$(BUILD)/examples/verify_test: examples/c/verify_test.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLES_CFLAGS) -Iinclude -rdynamic -o $@ $<
$(BUILD)/examples/heartbeat_leak: examples/cpp/heartbeat_leak.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -Wall -Wextra -Werror -O0 -g -pthread -o $@ $<

ALL_TARGETS += $(EXAMPLES_BINS)

.PHONY: demo test-demo test-examples
demo: all
	@bash examples/demo.sh $(BUILD)
test-demo: all
	LW_RESULTS_FILE=$(LW_RESULTS)/test-demo bash examples/demo.sh $(BUILD) --check
test-examples: all
	LW_RESULTS_FILE=$(LW_RESULTS)/test-examples bash tests/e2e/examples/run.sh $(BUILD)
TEST_TARGETS += test-demo test-examples
