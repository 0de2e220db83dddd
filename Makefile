# leakwatch — top-level build. Each directory adds its own targets in a
# module.mk fragment; this file holds only what they share.
#   make            build the shim, the analyzer and the commands
#   make test       build and run every test (unit, end-to-end, golden)
#   make demo       the whole job on the bundled example service
#   make bench      overhead benchmarks (ratios vs plain and a do-nothing shim)
.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -DLW_VERSION='"$(VERSION)"'
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Missing Debian packages are installed once (as root) or named (otherwise):
# the build packages for everything, the test tools for `make test` only.
DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/deps.sh build
	@touch $@
TEST_DEPS_STAMP := $(BUILD)/.test-deps-ok
$(TEST_DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/deps.sh test
	@touch $@

# Fragments append to these.
ALL_TARGETS  :=
TEST_TARGETS :=
CLEAN_DIRS   :=

# Plain objects (-fPIC so the shim can use them) and ASan/UBSan objects for tests.
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fPIC $(EXTRA_CFLAGS_$(firstword $(subst /, ,$<))) -MMD -MP -c $< -o $@
$(BUILD)/san/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) $(EXTRA_CFLAGS_$(firstword $(subst /, ,$<))) -MMD -MP -c $< -o $@

-include preload/module.mk
-include reports/module.mk
-include analyzer/module.mk
-include cli/module.mk
-include scripts/module.mk
-include tests/module.mk
-include examples/module.mk
-include bench/module.mk
-include docs/module.mk

.PHONY: all test clean deps test-deps
all: $(ALL_TARGETS)
deps: $(DEPS_STAMP)
test-deps: $(TEST_DEPS_STAMP)

test: all $(TEST_DEPS_STAMP)
	@bash tests/run-tests.sh $(TEST_TARGETS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
