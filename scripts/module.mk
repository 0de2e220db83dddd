# scripts/ — `make install`, the package lists (deps.sh), and the tests of
# the commands, the gate and the install. The commands themselves are one
# C program (cli/): build/leakwatch finds build/libleakwatch.so beside
# itself, exactly as an installed copy finds $(PREFIX)/lib/leakwatch.

# The default suppression list (runtime-owned threads, docs/design.md §1.3)
# beside the commands, where leakwatch diff and gate look for it.
$(BUILD)/default.supp: suppressions/default.supp
	@mkdir -p $(dir $@)
	install -m 644 $< $@

ALL_TARGETS += $(BUILD)/default.supp

# ---- install -------------------------------------------------------------
# Layout: $(PREFIX)/bin/leakwatch, and leakwatch-{gate,diff,show} linked to it
#         $(PREFIX)/lib/leakwatch/libleakwatch.so
#         $(PREFIX)/share/leakwatch/default.supp (runtime-owned threads)
#         $(PREFIX)/include/leakwatch.h, $(PREFIX)/lib/pkgconfig/leakwatch.pc
#         $(PREFIX)/share/man/man1/*.1, man7/libleakwatch.7
INSTALL_BIN   := $(DESTDIR)$(PREFIX)/bin
INSTALL_LIB   := $(DESTDIR)$(PREFIX)/lib/leakwatch
INSTALL_INC   := $(DESTDIR)$(PREFIX)/include
INSTALL_PC    := $(DESTDIR)$(PREFIX)/lib/pkgconfig
INSTALL_MAN   := $(DESTDIR)$(PREFIX)/share/man
INSTALL_SHARE := $(DESTDIR)$(PREFIX)/share/leakwatch

$(BUILD)/leakwatch.pc: scripts/leakwatch.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

.PHONY: install $(BUILD)/leakwatch.pc
install: all $(BUILD)/leakwatch.pc
	install -d $(INSTALL_BIN) $(INSTALL_LIB) $(INSTALL_INC) $(INSTALL_PC) $(INSTALL_MAN)/man1 $(INSTALL_MAN)/man7
	install -m 755 $(BUILD)/leakwatch $(INSTALL_BIN)/
	for l in $(CLI_LINKS); do ln -sf leakwatch $(INSTALL_BIN)/$$l; done
	install -m 644 $(BUILD)/libleakwatch.so $(INSTALL_LIB)/
	install -d $(INSTALL_SHARE)
	install -m 644 $(BUILD)/default.supp $(INSTALL_SHARE)/
	install -m 644 include/leakwatch.h $(INSTALL_INC)/
	install -m 644 $(BUILD)/leakwatch.pc $(INSTALL_PC)/
	install -m 644 man/leakwatch.1 man/leakwatch-diff.1 man/leakwatch-gate.1 $(INSTALL_MAN)/man1/
	install -m 644 man/libleakwatch.7 $(INSTALL_MAN)/man7/

# ---- tests -------------------------------------------------------------
# test-scripts: shellcheck, option handling and error messages of the
#               commands (needs no shim: uses fake programs);
# test-gate:    the gate against real runners (tests/e2e/gate/run.sh);
# test-install: make install into a temporary prefix, build against the
#               installed header via pkg-config, run the installed commands.
.PHONY: test-scripts test-gate test-install
test-scripts: all
	LW_RESULTS_FILE=$(LW_RESULTS)/test-scripts bash tests/e2e/gate/test_cli.sh $(BUILD)
test-gate: all
	LW_RESULTS_FILE=$(LW_RESULTS)/test-gate bash tests/e2e/gate/run.sh $(BUILD)
test-install: all
	LW_RESULTS_FILE=$(LW_RESULTS)/test-install bash tests/e2e/gate/test_install.sh $(BUILD)
TEST_TARGETS += test-scripts test-gate test-install
