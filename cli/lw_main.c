/* lw_main.c — the one program of leakwatch's analysis side. It is
 * `leakwatch COMMAND ...` and, by the name it is run under, the commands
 * users already know: leakwatch-diff, leakwatch-show, leakwatch-gate (links
 * to the same binary, same options and outputs as before).
 */
#include <stdio.h>
#include <string.h>

#include "lw_cli.h"

static void usage(FILE *f)
{
    fputs("usage: leakwatch COMMAND [ARGS...]\n\n"
          "commands:\n"
          "  run [--opt KEY=VALUE]... -- CMD [ARGS...]\n"
          "                       run CMD with libleakwatch.so preloaded\n"
          "  snapshot [--timeout=S] PID\n"
          "                       ask a running process for a snapshot, print its path\n"
          "  show [OPTIONS] FILE  print a snapshot as a thread dump (leakwatch-show)\n"
          "  diff [OPTIONS] BEFORE AFTER\n"
          "                       list what leaked in between (leakwatch-diff)\n"
          "  gate [OPTIONS] -- CMD [ARGS...]\n"
          "                       CI gate: fail when CMD leaves leaks (leakwatch-gate)\n"
          "  gate-report [OPTIONS] DIR\n"
          "                       the gate's report over the snapshots a run left in DIR\n"
          "  help [COMMAND]       help for one command\n\n"
          "options: -h, --help    this text;   --version   print the version\n"
          "Run 'leakwatch COMMAND --help' for a command's options. See leakwatch(1).\n",
          f);
}

static const struct {
    const char *name, *prog;
    int (*fn)(int, char **);
} commands[] = {
    {"run", "leakwatch run", lw_cmd_run},
    {"snapshot", "leakwatch snapshot", lw_cmd_snapshot},
    {"show", "leakwatch-show", lw_cmd_show},
    {"diff", "leakwatch-diff", lw_cmd_diff},
    {"gate", "leakwatch-gate", lw_cmd_gate},
    {"gate-report", "leakwatch gate-report", lw_cmd_gate_report},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int dispatch(const char *name, int argc, char **argv)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0) {
            lw_prog = commands[i].prog;
            return commands[i].fn(argc, argv);
        }
    return -1;
}

int main(int argc, char **argv)
{
    const char *self = strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    /* leakwatch-diff, leakwatch-show, leakwatch-gate */
    if (strncmp(self, "leakwatch-", 10) == 0) {
        int rc = dispatch(self + 10, argc, argv);
        if (rc >= 0)
            return rc;
    }
    if (argc < 2) {
        usage(stderr);
        return LW_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        usage(stdout);
        return LW_EXIT_CLEAN;
    }
    if (strcmp(sub, "--version") == 0 || strcmp(sub, "version") == 0) {
        printf("leakwatch %s\n", LW_VERSION);
        return LW_EXIT_CLEAN;
    }
    if (strcmp(sub, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return LW_EXIT_CLEAN;
        }
        char *hv[] = {argv[2], "--help", NULL};
        int rc = dispatch(argv[2], 2, hv);
        if (rc < 0)
            lw_die(LW_EXIT_USAGE, "help: unknown command '%s'", argv[2]);
        return rc;
    }
    int rc = dispatch(sub, argc - 1, argv + 1);
    if (rc >= 0)
        return rc;
    lw_msg("unknown command '%s'", sub);
    usage(stderr);
    return LW_EXIT_USAGE;
}
