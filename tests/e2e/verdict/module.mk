# tests/e2e/verdict — real programs of the shapes docs/design.md §1.2-§2.2
# judge (pools started on demand, shared sockets and eventfds, acceptors,
# epoll servers, exit rules, OpenMP/GLib/libuv runtimes, timerfds), run
# under `leakwatch run` + `leakwatch diff` and under the gate. run.py writes
# "PASSED FAILED" to $(LW_RESULTS)/test-e2e-verdict.
E2E_VERDICT_DIR := $(BUILD)/tests/e2e-verdict
E2E_VERDICT_SRC := tests/e2e/verdict
E2E_VERDICT_C := udp_shared eventfd_pool acceptor epoll_server unjoined_exit timerfd_poller
E2E_VERDICT_BINS := $(addprefix $(E2E_VERDICT_DIR)/,$(E2E_VERDICT_C) lazy_pool omp glib_pool uv_pool)

$(addprefix $(E2E_VERDICT_DIR)/,$(E2E_VERDICT_C)): $(E2E_VERDICT_DIR)/%: $(E2E_VERDICT_SRC)/%.c include/leakwatch.h | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread $< -o $@
$(E2E_VERDICT_DIR)/lazy_pool: $(E2E_VERDICT_SRC)/lazy_pool.cpp include/leakwatch.h | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread $< -o $@
$(E2E_VERDICT_DIR)/omp: $(E2E_VERDICT_SRC)/omp.c | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -fopenmp $< -o $@
$(E2E_VERDICT_DIR)/glib_pool: $(E2E_VERDICT_SRC)/glib_pool.c | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror $$(pkg-config --cflags glib-2.0) $< -o $@ $$(pkg-config --libs glib-2.0)
$(E2E_VERDICT_DIR)/uv_pool: $(E2E_VERDICT_SRC)/uv_pool.c | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror $$(pkg-config --cflags libuv) $< -o $@ $$(pkg-config --libs libuv)

.PHONY: test-e2e-verdict
test-e2e-verdict: all $(E2E_VERDICT_BINS)
	LW_RESULTS=$(LW_RESULTS) timeout 600 python3 $(E2E_VERDICT_SRC)/run.py $(BUILD)

# Built by make test only: GLib and libuv are test dependencies.
TEST_TARGETS += test-e2e-verdict
