# cli/ — the one program of the analysis side: build/leakwatch (run,
# snapshot, show, diff, gate, gate-report) and, as links to it, the names
# users already run: leakwatch-diff, leakwatch-show, leakwatch-gate.
# analyzer/lw_ctl_client.c is the shim's control-channel client (libc only).
CLI_SRCS := \
	cli/lw_main.c \
	cli/lw_cli.c \
	cli/lw_cmd_analyze.c \
	cli/lw_cmd_run.c \
	cli/lw_cmd_gate.c \
	cli/lw_gate_plan.c \
	cli/lw_launch.c \
	analyzer/lw_ctl_client.c
CLI_LINKS := leakwatch-diff leakwatch-show leakwatch-gate
EXTRA_CFLAGS_cli += -Icli -Ianalyzer -Ireports

CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
# The top Makefile reads reports/ and analyzer/ first: their objects are known.
$(BUILD)/leakwatch: $(CLI_OBJS) $(ANALYZER_OBJS) $(ANALYZER_REPORTS_OBJS)
	$(CC) -o $@ $^ $(ANALYZER_LDLIBS)
$(addprefix $(BUILD)/,$(CLI_LINKS)): $(BUILD)/leakwatch
	ln -sf leakwatch $@

ALL_TARGETS += $(BUILD)/leakwatch $(addprefix $(BUILD)/,$(CLI_LINKS))
