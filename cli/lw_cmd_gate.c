/* lw_cmd_gate.c — `leakwatch gate` (leakwatch-gate): the CI gate. Checks
 * every option and file first, runs CMD under the preload with a start and
 * an exit snapshot per process image into a directory only this run writes,
 * pairs them (lw_gate_plan.c), diffs each pair in-process, prints one report
 * on stderr, writes one --format file covering every process, and exits
 * non-zero when CMD failed (its status passes through) or new findings
 * fail. `leakwatch gate-report DIR` is the second half alone, over a
 * directory a run already wrote.
 *
 * Owns the run's snapshot directory and nothing else: never changes CMD's
 * arguments, cwd or stdio; removes its private directory on every exit
 * path it controls. Must never: read a snapshot this run did not write, or
 * start CMD before every argument was checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lw_analyze.h"
#include "lw_arena.h"
#include "lw_cli.h"
#include "lw_gate.h"
#include "lw_launch.h"

static void gate_usage(FILE *f)
{
    fprintf(f,
            "usage: leakwatch-gate [options] -- CMD [ARGS...]\n"
            "       leakwatch gate-report [options] DIR\n\n"
            "Runs CMD under libleakwatch.so (LD_PRELOAD) with a start and an exit snapshot\n"
            "in every process image that inherits the preload, diffs each one's start and\n"
            "exit snapshots and prints one report on stderr. gate-report does the second\n"
            "half over the snapshots a run left in DIR.\n\n"
            "options (all checked before CMD starts):\n"
            "  --suppressions=FILE   suppression lines (thread:GLOB, timer:, socket:, fd:, top:)\n"
            "  --no-default-suppressions\n"
            "                        do not apply the shipped list of runtime-owned threads\n"
            "  --baseline=FILE       accepted sites (KIND:SITE [owner=..] [expires=YYYY-MM-DD])\n"
            "  --grace=MS            grace period of the verdicts (default 1000)\n"
            "  --fail-on=LIST        thread,timer,socket,fd,unjoined,stuck,alive_at_exit, all or\n"
            "                        none (default: all; a service that never joins its threads\n"
            "                        at shutdown leaves out alive_at_exit)\n"
            "  --format=FMT -o FILE  also write a report covering every process:\n"
            "                        %s (-o alone: junit)\n"
            "  --keep=DIR            keep the snapshots in DIR (created if needed; must be empty)\n"
            "  --opt KEY=VALUE       extra LEAKWATCH_OPTIONS for CMD (repeatable)\n"
            "  --exitcode=N          status when new findings appeared (default 1)\n"
            "  --max-input-mb=N      refuse snapshots larger than N MB (default %d)\n"
            "  -v, --verbose         print the full report of clean processes too\n"
            "  -h, --help            this text\n"
            "  --version             print the version\n\n"
            "exit status:\n"
            "  CMD's own status when it is not 0; otherwise\n"
            "  0 no new findings, N (--exitcode, default 1) new findings,\n"
            "  2 usage error, a bad option or file, or a snapshot that could not be read,\n"
            "  125 leakwatch cannot work here (static or setuid CMD, no preload library,\n"
            "      not glibc, no snapshot written), 126 CMD not executable, 127 CMD not found.\n",
            lw_format_names(), LW_CLI_MAX_INPUT_MB);
}

struct gate_opts {
    const char *supp_path, *base_path, *format, *out_path, *keep;
    const char **kv;
    size_t nkv;
    long long grace, exitcode, max_mb;
    unsigned fail_on;
    bool verbose, no_default_supp;
    struct lw_suppressions supp;
    struct lw_baseline base;
    const struct lw_format_info *fmt;
    struct lw_out out;
};

enum { G_SUPP = 256, G_NO_DEFAULT_SUPP, G_BASE, G_GRACE, G_FAIL_ON, G_FORMAT, G_KEEP, G_OPT, G_EXITCODE, G_MAXIN, G_HELP, G_VERSION };

/* Parses and checks every option; returns the index of the first operand. */
static int parse(int argc, char **argv, struct gate_opts *o, bool run)
{
    static const struct option longopts[] = {
        {"suppressions", required_argument, 0, G_SUPP}, {"baseline", required_argument, 0, G_BASE},
        {"no-default-suppressions", no_argument, 0, G_NO_DEFAULT_SUPP},
        {"grace", required_argument, 0, G_GRACE},       {"fail-on", required_argument, 0, G_FAIL_ON},
        {"format", required_argument, 0, G_FORMAT},     {"output", required_argument, 0, 'o'},
        {"keep", required_argument, 0, G_KEEP},         {"opt", required_argument, 0, G_OPT},
        {"exitcode", required_argument, 0, G_EXITCODE}, {"max-input-mb", required_argument, 0, G_MAXIN},
        {"verbose", no_argument, 0, 'v'},               {"help", no_argument, 0, G_HELP},
        {"version", no_argument, 0, G_VERSION},         {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->grace = 1000;
    o->exitcode = 1;
    o->max_mb = LW_CLI_MAX_INPUT_MB;
    o->fail_on = LW_FAIL_ALL;
    o->kv = calloc((size_t)argc + 1, sizeof *o->kv);
    char err[1024];
    int c;
    opterr = 0;
    /* "+": stop at the first operand (CMD), like the shell version did. */
    while ((c = getopt_long(argc, argv, "+o:vh", longopts, NULL)) != -1) {
        switch (c) {
        case G_SUPP: o->supp_path = optarg; break;
        case G_NO_DEFAULT_SUPP: o->no_default_supp = true; break;
        case G_BASE: o->base_path = optarg; break;
        case G_GRACE: o->grace = lw_num("--grace", optarg, 86400000LL * 365); break;
        case G_FAIL_ON:
            if (lw_fail_on_parse(optarg, &o->fail_on, err, sizeof err) < 0)
                lw_die(LW_EXIT_USAGE, "--fail-on: %s", err);
            break;
        case G_FORMAT: o->format = optarg; break;
        case 'o': o->out_path = optarg; break;
        case G_KEEP:
            if (!run)
                lw_die(LW_EXIT_USAGE, "--keep: only for a run (gate-report reads DIR where it is)");
            o->keep = optarg;
            break;
        case G_OPT:
            if (!run)
                lw_die(LW_EXIT_USAGE, "--opt: only for a run");
            if (!strchr(optarg, '=') || optarg[0] == '=')
                lw_die(LW_EXIT_USAGE, "--opt wants KEY=VALUE, not '%s'", optarg);
            o->kv[o->nkv++] = optarg;
            break;
        case G_EXITCODE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 255)
                lw_die(LW_EXIT_USAGE, "--exitcode must be a number 0-255, not '%s'", optarg);
            o->exitcode = v;
            break;
        }
        case G_MAXIN:
            if ((o->max_mb = lw_num("--max-input-mb", optarg, 1 << 20)) == 0)
                lw_die(LW_EXIT_USAGE, "--max-input-mb: must be at least 1");
            break;
        case 'v': o->verbose = true; break;
        case 'h':
        case G_HELP: gate_usage(stdout); exit(LW_EXIT_CLEAN);
        case G_VERSION: printf("leakwatch-gate %s\n", LW_VERSION); exit(LW_EXIT_CLEAN);
        default:
            if (optopt && optopt < 256 && strchr("o", optopt))
                lw_die(LW_EXIT_USAGE, "option -%c needs a value (see --help)", optopt);
            lw_die(LW_EXIT_USAGE, "unknown option or missing value '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (o->format && !(o->fmt = lw_format_by_name(o->format)))
        lw_die(LW_EXIT_USAGE, "--format: unknown format '%s' (%s)", o->format, lw_format_names());
    if (o->fmt && !o->out_path)
        lw_die(LW_EXIT_USAGE, "--format=%s needs -o FILE (the text report always goes to stderr)", o->format);
    if (!o->fmt && o->out_path)
        o->fmt = lw_format_by_name("junit");
    char today[11];
    lw_today(today);
    if (o->supp_path && lw_supp_load(&o->supp, o->supp_path, err, sizeof err) < 0)
        lw_die(LW_EXIT_USAGE, "--suppressions: %s", err);
    if (!o->no_default_supp && lw_supp_load_default(&o->supp, err, sizeof err) < 0)
        lw_die(LW_EXIT_USAGE, "%s", err);
    if (o->base_path && lw_baseline_load(&o->base, o->base_path, today, err, sizeof err) < 0)
        lw_die(LW_EXIT_USAGE, "--baseline: %s", err);
    return optind;
}

/* ---- the report over a snapshot directory ---- */

struct tally {
    size_t procs, findings, errors, noexit, replaced;
    char *culprits; /* "pid:exe pid:exe" */
    size_t culprits_len;
};

static void section(int pid, const char *exe, const char *note)
{
    if (pid)
        fprintf(stderr, "\n==== %s: process %d (%s): %s\n", lw_prog, pid, exe ? exe : "?", note);
    else
        fprintf(stderr, "\n==== %s: process ? (%s): %s\n", lw_prog, exe ? exe : "?", note);
}

/* Diffs every planned pair, prints the per-process lines and reports on
 * stderr, fills g for the --format file and t for the summary. */
static void report_dir(const char *dir, struct gate_opts *o, struct lw_gate *g, struct tally *t)
{
    char err[1024];
    struct lw_plan plan;
    memset(g, 0, sizeof *g);
    memset(t, 0, sizeof *t);
    if (lw_gate_plan(dir, (size_t)o->max_mb << 20, &plan, err, sizeof err) < 0) {
        lw_msg("%s", err);
        t->errors++;
        return;
    }
    g->procs = calloc(plan.n ? plan.n : 1, sizeof *g->procs);
    bool color = lw_color_wanted("auto", stderr);
    for (size_t i = 0; i < plan.n; i++) {
        const struct lw_plan_item *it = &plan.items[i];
        struct lw_gate_proc *gp = &g->procs[g->nprocs];
        *gp = (struct lw_gate_proc){.pid = it->pid, .exe = it->exe ? strdup(it->exe) : NULL,
                                    .note = strdup(it->note)};
        switch (it->kind) {
        case LW_PLAN_BAD:
            t->errors++;
            section(0, it->after, "unreadable snapshot");
            lw_msg("%s: %s", it->after, it->note);
            gp->status = LW_PROC_ERROR;
            free(gp->exe);
            gp->exe = strdup(it->after);
            free(gp->note);
            gp->note = lw_xasprintf("unreadable snapshot: %s", it->note);
            g->nprocs++;
            continue;
        case LW_PLAN_REPLACED:
            t->replaced++;
            if (o->verbose)
                lw_msg("process %d (%s): %s", it->pid, it->exe, it->note);
            free(gp->exe);
            free(gp->note);
            continue;
        case LW_PLAN_NOEXIT:
            t->procs++, t->noexit++;
            lw_msg("process %d (%s): %s; not checked", it->pid, it->exe, it->note);
            gp->status = LW_PROC_NO_EXIT;
            g->nprocs++;
            continue;
        case LW_PLAN_PAIR: break;
        }
        t->procs++;
        g->nprocs++;
        size_t cap = (size_t)o->max_mb << 20;
        struct lw_snapshot *before = NULL, *after = NULL;
        if ((it->before && !(before = lw_snapshot_load(it->before, cap, err, sizeof err))) ||
            !(after = lw_snapshot_load(it->after, cap, err, sizeof err))) {
            t->errors++;
            gp->status = LW_PROC_ERROR;
            section(it->pid, it->exe, it->note);
            lw_msg("%s", err);
            lw_snapshot_free(before);
            continue;
        }
        struct lw_symbolizer *z = lw_symbolizer_new();
        struct lw_diff_opts d = {.grace_ms = o->grace,
                                 .fail_on = o->fail_on,
                                 .supp = o->supp.n ? &o->supp : NULL,
                                 .baseline = o->base_path ? &o->base : NULL};
        struct lw_report *r = lw_diff(z, before, after, &d);
        lw_symbolizer_free(z);
        lw_snapshot_free(before);
        lw_snapshot_free(after);
        gp->report = r;
        gp->status = r->fails ? LW_PROC_FINDINGS : LW_PROC_CLEAN;
        if (r->fails) {
            t->findings++;
            const char *b = lw_base_name(it->exe ? it->exe : "?");
            char *c = lw_xasprintf("%s%s%d:%s", t->culprits ? t->culprits : "", t->culprits ? " " : "", it->pid, b);
            free(t->culprits);
            t->culprits = c;
        }
        if (!r->fails && !o->verbose) {
            lw_msg("process %d (%s): no new findings", it->pid, it->exe);
        } else {
            section(it->pid, it->exe, it->note);
            struct lw_render_opts ro = {.color = color, .max_frames = 0};
            lw_render_text(stderr, r, &ro);
        }
    }
    lw_gate_plan_free(&plan);
}

static void gate_free(struct lw_gate *g)
{
    for (size_t i = 0; i < g->nprocs; i++) {
        free(g->procs[i].exe);
        free(g->procs[i].note);
        lw_report_free(g->procs[i].report);
    }
    free(g->procs);
}

/* Writes the --format file, the SUMMARY line; returns the exit status. */
static int finish(struct gate_opts *o, struct lw_gate *g, struct tally *t, int cmd_rc, const char *kept)
{
    if (o->fmt) {
        struct lw_render_opts ro = {.color = false, .max_frames = 0};
        int rr = o->fmt->render_gate(o->out.f, g, &ro);
        int wr = lw_out_commit(&o->out);
        if (rr < 0 || wr < 0) {
            lw_msg("could not write %s: %s", o->out_path, strerror(rr < 0 ? -rr : -wr));
            t->errors++;
        }
    }
    fflush(stdout);
    if (kept)
        lw_msg("snapshots kept in %s", kept);
    fprintf(stderr, "SUMMARY: %s: %zu process(es) checked, %zu with new findings", lw_prog, t->procs, t->findings);
    if (t->findings)
        fprintf(stderr, " (%s)", t->culprits);
    if (t->noexit)
        fprintf(stderr, ", %zu without an exit snapshot", t->noexit);
    if (t->errors)
        fprintf(stderr, ", %zu analysis error(s)", t->errors);
    if (cmd_rc >= 0)
        fprintf(stderr, "; command exited with status %d", cmd_rc);
    fputc('\n', stderr);
    free(t->culprits);
    if (cmd_rc > 0)
        return cmd_rc;
    if (t->errors)
        return LW_EXIT_USAGE;
    if (t->findings)
        return (int)o->exitcode;
    return LW_EXIT_CLEAN;
}

int lw_cmd_gate_report(int argc, char **argv)
{
    struct gate_opts o;
    int first = parse(argc, argv, &o, false);
    if (argc - first != 1)
        lw_die(LW_EXIT_USAGE, "expected one snapshot directory (usage: leakwatch gate-report [options] DIR)");
    const char *dir = argv[first];
    lw_out_open(&o.out, o.fmt ? o.out_path : NULL, NULL, 0);
    struct lw_gate g;
    struct tally t;
    report_dir(dir, &o, &g, &t);
    if (!t.procs && !t.errors && !t.replaced) {
        lw_out_abort(&o.out);
        lw_die(LW_EXIT_USAGE, "%s: no leakwatch-*.json snapshots", dir);
    }
    int rc = finish(&o, &g, &t, -1, NULL);
    gate_free(&g);
    return rc;
}

/* ---- running CMD ---- */

static char *private_dir;
static volatile sig_atomic_t got_signal;
static pid_t child;

static void remove_private(void)
{
    if (!private_dir)
        return;
    char snaps[PATH_MAX];
    snprintf(snaps, sizeof snaps, "%s/snapshots", private_dir);
    DIR *d = opendir(snaps);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    rmdir(snaps);
    rmdir(private_dir);
    free(private_dir);
    private_dir = NULL;
}

static void on_signal(int sig)
{
    got_signal = sig;
    if (child > 0)
        kill(child, sig);
}

/* --keep=DIR: created when missing; refused unless empty, so the gate
 * never reads a stale or foreign file (docs/design.md §4.3). */
static char *keep_dir(const char *keep)
{
    if (mkdir(keep, 0700) != 0 && errno != EEXIST)
        lw_die(LW_EXIT_USAGE, "--keep: cannot create directory '%s': %s", keep, strerror(errno));
    char *abs = realpath(keep, NULL);
    struct stat st;
    if (!abs || stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
        lw_die(LW_EXIT_USAGE, "--keep: '%s' is not a directory", keep);
    DIR *d = opendir(abs);
    if (!d)
        lw_die(LW_EXIT_USAGE, "--keep: cannot read '%s': %s", abs, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            lw_die(LW_EXIT_USAGE, "--keep: %s already holds snapshots or other files (%s); use an empty or new directory",
                   abs, de->d_name);
    closedir(d);
    if (access(abs, W_OK) != 0)
        lw_die(LW_EXIT_USAGE, "--keep: cannot write to '%s'", abs);
    return abs;
}

int lw_cmd_gate(int argc, char **argv)
{
    struct gate_opts o;
    int first = parse(argc, argv, &o, true);
    if (first < argc && strcmp(argv[first - 1], "--") != 0 && argv[first][0] == '-')
        lw_die(LW_EXIT_USAGE, "unknown option '%s' (see --help)", argv[first]);
    if (first >= argc)
        lw_die(LW_EXIT_USAGE, "no command given (usage: leakwatch-gate [options] -- CMD [ARGS...])");
    char err[PATH_MAX + 512], path[PATH_MAX];
    const char *lib = lw_launch_find_lib(err, sizeof err);
    if (!lib)
        lw_die(LW_EXIT_CANNOT, "%s", err);
    int rc = lw_launch_check_cmd(argv[first], path, sizeof path, err, sizeof err);
    if (rc)
        lw_die(rc, "%s", err);
    char *kept = o.keep ? keep_dir(o.keep) : NULL;
    /* The report file is opened (created beside its target) before CMD runs. */
    lw_out_open(&o.out, o.fmt ? o.out_path : NULL, NULL, 0);

    /* The snapshot directory: named (--keep) or private (0700, removed). */
    const char *tmp = getenv("TMPDIR");
    char *tmpl = lw_xasprintf("%s/leakwatch-gate.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        lw_out_abort(&o.out);
        lw_die(LW_EXIT_CANNOT, "cannot create a temporary directory (%s): %s", tmpl, strerror(errno));
    }
    private_dir = tmpl;
    atexit(remove_private);
    char *snapdir = kept;
    if (!snapdir) {
        snapdir = lw_xasprintf("%s/snapshots", private_dir);
        if (mkdir(snapdir, 0700) != 0)
            lw_die(LW_EXIT_CANNOT, "cannot create %s: %s", snapdir, strerror(errno));
    }

    /* CMD's options: ours replace the user's, everything else stays. (An
     * exec'd image numbers its files after its predecessors': no names
     * collide within a pid.) */
    char *output = lw_xasprintf("output=%s/leakwatch-%%p-%%n.json", snapdir);
    o.kv[o.nkv++] = "at_start=1";
    o.kv[o.nkv++] = "at_exit=1";
    o.kv[o.nkv++] = output;
    char *opts = lw_launch_merge_opts(getenv("LEAKWATCH_OPTIONS"), o.kv, o.nkv);

    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fflush(NULL);
    child = fork();
    if (child < 0)
        lw_die(LW_EXIT_CANNOT, "cannot start %s: %s", path, strerror(errno));
    if (child == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        lw_launch_exec(lib, opts, path, argv + first);
        int e = errno;
        fprintf(stderr, "%s: %s: cannot run: %s\n", lw_prog, path, strerror(e));
        _exit(e == ENOENT ? LW_EXIT_NOTFOUND : LW_EXIT_NOEXEC);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    child = 0;
    int cmd_rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    if (got_signal) {
        /* interrupted: no verdict, no half report (atexit removes the directory) */
        lw_out_abort(&o.out);
        exit(128 + got_signal);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    struct lw_gate g;
    struct tally t;
    report_dir(snapdir, &o, &g, &t);
    if (!t.procs && !t.errors && !t.replaced && cmd_rc == 0) {
        lw_out_abort(&o.out);
        lw_die(LW_EXIT_CANNOT,
               "no snapshot was written: %s did not load %s (a static or setuid program started by it? LD_PRELOAD "
               "cleared?)",
               argv[first], lib);
    }
    rc = finish(&o, &g, &t, cmd_rc, kept);
    gate_free(&g);
    free(output);
    free(opts);
    return rc;
}
