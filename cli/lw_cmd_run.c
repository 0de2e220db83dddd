/* lw_cmd_run.c — `leakwatch run` (start a command under the preload: checks,
 * environment, exec; nothing runs in between) and `leakwatch snapshot PID`
 * (ask a running process for a snapshot and print the file's path).
 *
 * Must never: signal a process (snapshots are asked for through the
 * process's control channel), or keep state of its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lw_cli.h"
#include "lw_ctl_client.h"
#include "lw_launch.h"

static void run_usage(FILE *f)
{
    fputs("usage: leakwatch run [--opt KEY=VALUE]... [--] CMD [ARGS...]\n\n"
          "Runs CMD with LD_PRELOAD=libleakwatch.so (prepended to any LD_PRELOAD you\n"
          "have) and LEAKWATCH_OPTIONS built from yours plus each --opt (an --opt\n"
          "replaces the same key). CMD replaces this process: its pid and exit status\n"
          "are CMD's own. Keys (see libleakwatch(7)): output, at_start, at_exit,\n"
          "exit_grace_ms, signal, interval_ms, stack_depth, log, quiet.\n\n"
          "example: leakwatch run --opt output=/tmp/svc-%p-%n.json -- ./service --port 8080\n"
          "exit status: CMD's; 2 usage; 125 cannot preload (static/setuid CMD, no\n"
          "library, not glibc); 126 CMD not executable; 127 CMD not found.\n",
          f);
}

/* The `--opt K=V`, `--opt=K=V` words before the command; returns the index
 * of CMD in argv. */
static int parse_opts(int argc, char **argv, const char ***kv, size_t *n, void (*usage)(FILE *), bool gate)
{
    *kv = calloc((size_t)argc, sizeof **kv);
    *n = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (!gate && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            usage(stdout);
            exit(LW_EXIT_CLEAN);
        }
        const char *v = NULL;
        if (strcmp(a, "--opt") == 0) {
            if (i + 1 >= argc)
                lw_die(LW_EXIT_USAGE, "--opt needs KEY=VALUE");
            v = argv[++i];
        } else if (strncmp(a, "--opt=", 6) == 0) {
            v = a + 6;
        } else if (a[0] == '-') {
            lw_die(LW_EXIT_USAGE, "unknown option '%s' (see 'leakwatch run --help')", a);
        } else {
            return i;
        }
        if (!strchr(v, '=') || v[0] == '=')
            lw_die(LW_EXIT_USAGE, "--opt wants KEY=VALUE, not '%s'", v);
        (*kv)[(*n)++] = v;
    }
    return i;
}

int lw_cmd_run(int argc, char **argv)
{
    const char **kv;
    size_t nkv;
    int first = parse_opts(argc, argv, &kv, &nkv, run_usage, false);
    if (first >= argc)
        lw_die(LW_EXIT_USAGE, "no command given (usage: leakwatch run [--opt K=V]... -- CMD [ARGS...])");
    char err[PATH_MAX + 512], path[PATH_MAX];
    const char *lib = lw_launch_find_lib(err, sizeof err);
    if (!lib)
        lw_die(LW_EXIT_CANNOT, "%s", err);
    int rc = lw_launch_check_cmd(argv[first], path, sizeof path, err, sizeof err);
    if (rc)
        lw_die(rc, "%s", err);
    char *opts = lw_launch_merge_opts(getenv("LEAKWATCH_OPTIONS"), kv, nkv);
    lw_launch_exec(lib, opts, path, argv + first);
    if (errno == ENOEXEC) {
        /* No #! line: a shell runs it, as the shell this replaces did. */
        char **sh = calloc((size_t)(argc - first) + 2, sizeof *sh);
        sh[0] = "/bin/sh";
        sh[1] = path;
        for (int i = first + 1; i < argc; i++)
            sh[i - first + 1] = argv[i];
        execv("/bin/sh", sh);
    }
    lw_die(errno == ENOENT ? LW_EXIT_NOTFOUND : LW_EXIT_NOEXEC, "%s: cannot run: %s", path, strerror(errno));
}

static void snapshot_usage(FILE *f)
{
    fputs("usage: leakwatch snapshot [--timeout=SECONDS] PID\n\n"
          "Asks a process running under libleakwatch.so for a snapshot through its\n"
          "control channel (a private unix socket its leakwatch thread serves; only\n"
          "the same user or root may ask), waits for it to be written and prints the\n"
          "exact path the process wrote. No signal is sent. A process that is still\n"
          "starting (leakwatch run ... &) is waited for, up to the timeout (default 10\n"
          "seconds). After an exec the image running now answers.\n\n"
          "exit status: 0 printed the path; 1 no snapshot before the timeout, or the\n"
          "process could not write one (the message says why); 2 usage, no such\n"
          "process, PID is not running under leakwatch, or not yours.\n",
          f);
}

int lw_cmd_snapshot(int argc, char **argv)
{
    long long timeout = 10;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            snapshot_usage(stdout);
            return LW_EXIT_CLEAN;
        } else if (strncmp(a, "--timeout=", 10) == 0) {
            timeout = lw_num("--timeout", a + 10, 86400);
        } else if (strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc)
                lw_die(LW_EXIT_USAGE, "--timeout needs SECONDS");
            timeout = lw_num("--timeout", argv[++i], 86400);
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-' && a[1]) {
            lw_die(LW_EXIT_USAGE, "unknown option '%s' (see 'leakwatch snapshot --help')", a);
        } else
            break;
    }
    if (argc - i != 1)
        lw_die(LW_EXIT_USAGE, "expected exactly one PID (usage: leakwatch snapshot [--timeout=S] PID)");
    if (timeout == 0)
        lw_die(LW_EXIT_USAGE, "--timeout wants whole seconds > 0, not '0'");
    const char *ps = argv[i];
    char *end;
    long pid = strtol(ps, &end, 10);
    if (*end || end == ps || pid <= 0 || pid > INT_MAX || ps[0] == '0' || ps[0] == '+')
        lw_die(LW_EXIT_USAGE, "'%s' is not a process id", ps);
    /* The control channel (docs/design.md §3.5): no signal, nothing read
     * from the process's environment; the client waits (up to the timeout)
     * for a process that is still starting. */
    char path[PATH_MAX], err[1024];
    int r = lw_ctl_snapshot((pid_t)pid, (int)(timeout * 1000), path, sizeof path, err, sizeof err);
    if (r == 0) {
        printf("%s\n", path);
        return fflush(stdout) == 0 ? LW_EXIT_CLEAN : LW_EXIT_FINDINGS;
    }
    /* no such process, not under leakwatch, not ours: 2; no snapshot: 1 */
    lw_die(r == -ESRCH || r == -ENOTSUP || r == -EACCES ? LW_EXIT_USAGE : LW_EXIT_FINDINGS, "%s", err);
}
