# tests/e2e/preload — real programs run under build/libleakwatch.so; run.py
# asserts on their snapshots (and validates each against
# docs/snapshot.schema.json). Included from preload/module.mk.
E2E_PRELOAD_DIR := $(BUILD)/tests/e2e-preload
E2E_PRELOAD_SRC := tests/e2e/preload
E2E_PRELOAD_BINS := $(E2E_PRELOAD_DIR)/fix $(E2E_PRELOAD_DIR)/fix_disabled $(E2E_PRELOAD_DIR)/cxx $(E2E_PRELOAD_DIR)/early \
	$(E2E_PRELOAD_DIR)/libdl_fixture.so $(E2E_PRELOAD_DIR)/libearly_fixture.so \
	$(E2E_PRELOAD_DIR)/fwd.so $(E2E_PRELOAD_DIR)/bench $(E2E_PRELOAD_DIR)/split \
	$(E2E_PRELOAD_DIR)/split_io

$(E2E_PRELOAD_DIR)/fix: $(E2E_PRELOAD_SRC)/fix.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread $< -o $@ -ldl
$(E2E_PRELOAD_DIR)/split: $(E2E_PRELOAD_SRC)/split.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread $< -o $@
$(E2E_PRELOAD_DIR)/split_io: $(E2E_PRELOAD_SRC)/split_io.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread $< -o $@
$(E2E_PRELOAD_DIR)/fix_disabled: $(E2E_PRELOAD_SRC)/fix.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -DLEAKWATCH_DISABLE -Iinclude -pthread $< -o $@
$(E2E_PRELOAD_DIR)/cxx: $(E2E_PRELOAD_SRC)/cxx.cpp include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread $< -o $@ -ldl
$(E2E_PRELOAD_DIR)/libdl_fixture.so: $(E2E_PRELOAD_SRC)/libdl_fixture.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -Wall -Werror -fPIC -shared -pthread $< -o $@
$(E2E_PRELOAD_DIR)/libearly_fixture.so: $(E2E_PRELOAD_SRC)/libearly_fixture.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -Wall -Werror -fPIC -shared -pthread $< -o $@
$(E2E_PRELOAD_DIR)/early: $(E2E_PRELOAD_SRC)/early.c $(E2E_PRELOAD_DIR)/libearly_fixture.so
	$(CC) -O1 -g -Wall -Werror -Iinclude -pthread $< -o $@ -L$(E2E_PRELOAD_DIR) \
		-Wl,--no-as-needed -l:libearly_fixture.so -Wl,--as-needed -Wl,-rpath,'$$ORIGIN' -ldl
$(E2E_PRELOAD_DIR)/fwd.so: $(E2E_PRELOAD_SRC)/fwd.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Werror -fPIC -shared $< -o $@ -ldl
$(E2E_PRELOAD_DIR)/bench: $(E2E_PRELOAD_SRC)/bench.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Werror -pthread $< -o $@

.PHONY: test-e2e-preload bench-preload
test-e2e-preload: $(LIBLEAKWATCH) $(E2E_PRELOAD_BINS)
	python3 $(E2E_PRELOAD_SRC)/run.py --lib $(LIBLEAKWATCH) --bin $(E2E_PRELOAD_DIR) \
		--schema docs/snapshot.schema.json --results "$${LW_RESULTS:-$(BUILD)/test-results}/test-e2e-preload"

# quick overhead check for the shim engineer (the real suite is `make bench`)
bench-preload: $(LIBLEAKWATCH) $(E2E_PRELOAD_DIR)/fwd.so $(E2E_PRELOAD_DIR)/bench
	python3 $(E2E_PRELOAD_SRC)/bench.py --lib $(LIBLEAKWATCH) --bin $(E2E_PRELOAD_DIR)

TEST_TARGETS += test-e2e-preload
