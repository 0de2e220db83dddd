# tests/formats/ — the html, pprof and openmetrics formats read back by their
# real consumers: headless chromium (driven by playwright-core from npm, pinned
# by tests/html/package-lock.json and installed under build/, never globally),
# go tool pprof and promtool. The test tools come from `deps.sh test`.

HTML_TEST_DIR := $(BUILD)/html-test
$(HTML_TEST_DIR)/.npm-ok: tests/html/package.json tests/html/package-lock.json | $(TEST_DEPS_STAMP)
	@mkdir -p $(HTML_TEST_DIR)
	cp tests/html/package.json tests/html/package-lock.json $(HTML_TEST_DIR)/
	cd $(HTML_TEST_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(BUILD)/tests/formats/hostile: tests/formats/hostile.c include/leakwatch.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -O0 -g -pthread -o $@ $<

FORMATS_TEST_PREREQS := $(BUILD)/leakwatch-diff $(BUILD)/leakwatch-show $(BUILD)/libleakwatch.so \
	$(BUILD)/golden/three_level $(BUILD)/tests/formats/hostile $(HTML_TEST_DIR)/.npm-ok $(TEST_DEPS_STAMP)

# Three fixtures, each format read back; the 10,000-thread case included
# (about a minute on a quiet machine).
.PHONY: test-formats
test-formats: $(FORMATS_TEST_PREREQS)
	timeout 900 python3 tests/formats/run_formats.py $(BUILD)
TEST_TARGETS += test-formats
