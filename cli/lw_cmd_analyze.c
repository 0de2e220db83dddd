/* lw_cmd_analyze.c — `leakwatch diff` (leakwatch-diff) and `leakwatch show`
 * (leakwatch-show): options in, snapshots loaded, the analyzer's report or
 * dump rendered by the format the one list (LW_FORMAT_LIST) names.
 *
 * Exit status (enum lw_exit): diff 0 no new findings that fail, 1 new
 * findings that fail (the report's own decision, lw_report_decide), 2 usage
 * or input error; show 0 or 2. Must never: print a partial report after an
 * input error, or decide what fails (the analyzer did).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_cli.h"

static void diff_usage(FILE *f)
{
    fprintf(f,
            "usage: leakwatch-diff [options] BEFORE.json AFTER.json\n"
            "       leakwatch-diff [options] SNAPSHOT.json      (against an empty baseline)\n"
            "Lists threads, timers and sockets that leaked between two leakwatch snapshots.\n"
            "A file name of - reads standard input.\n\n"
            "  --format=FMT          %s (default text; md = markdown)\n"
            "  --pprof-stack=WHICH   pprof samples' stack: creation (default) or blocked\n"
            "  --grace=MS            a scope must have ended at least MS ago (default 1000)\n"
            "  --suppressions=FILE   thread:GLOB, timer:GLOB, socket:GLOB, fd:GLOB, top:GLOB lines\n"
            "  --no-default-suppressions\n"
            "                        do not apply the shipped list of runtime-owned threads\n"
            "                        (OpenMP, OpenBLAS, GLib, libuv, allocator threads)\n"
            "  --fail-on=KINDS       comma list of thread,timer,socket,fd,unjoined,stuck,\n"
            "                        alive_at_exit, all or none (default all)\n"
            "  --baseline=FILE       accepted sites: KIND:SITE [owner=NAME] [expires=YYYY-MM-DD] [# why]\n"
            "  --write-baseline=FILE write the new findings as a baseline (with --force to overwrite)\n"
            "  -o, --output=FILE     write the report to FILE instead of standard output\n"
            "  --color=WHEN          auto (default), always, never\n"
            "  --max-frames=N        frames per stack in text/markdown reports (0 = all)\n"
            "  --max-input-mb=N      refuse snapshots larger than N MB (default %d)\n"
            "  --help, --version\n\n"
            "Exit status: 0 no new findings, 1 new findings, 2 usage or input error.\n",
            lw_format_names(), LW_CLI_MAX_INPUT_MB);
}

enum {
    OPT_FORMAT = 256, OPT_GRACE, OPT_SUPP, OPT_FAIL_ON, OPT_BASELINE, OPT_WRITE_BASELINE, OPT_FORCE, OPT_COLOR,
    OPT_MAX_FRAMES, OPT_MAX_INPUT, OPT_HELP, OPT_VERSION, OPT_TREE, OPT_PPROF_STACK, OPT_NO_DEFAULT_SUPP,
};

#define LW_MAX_GRACE_MS (86400000LL * 365)

/* Anything other than "unknown option" from getopt_long. */
static _Noreturn void bad_option(char **argv, void (*usage)(FILE *))
{
    if (optopt && optopt < 256)
        lw_msg("unknown option -%c", optopt);
    else
        lw_msg("unknown option or missing value: %s", argv[optind - 1]);
    usage(stderr);
    exit(LW_EXIT_USAGE);
}

int lw_cmd_diff(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, 0, OPT_FORMAT},
        {"grace", required_argument, 0, OPT_GRACE},
        {"suppressions", required_argument, 0, OPT_SUPP},
        {"no-default-suppressions", no_argument, 0, OPT_NO_DEFAULT_SUPP},
        {"fail-on", required_argument, 0, OPT_FAIL_ON},
        {"baseline", required_argument, 0, OPT_BASELINE},
        {"write-baseline", required_argument, 0, OPT_WRITE_BASELINE},
        {"force", no_argument, 0, OPT_FORCE},
        {"output", required_argument, 0, 'o'},
        {"color", required_argument, 0, OPT_COLOR},
        {"colour", required_argument, 0, OPT_COLOR},
        {"max-frames", required_argument, 0, OPT_MAX_FRAMES},
        {"max-input-mb", required_argument, 0, OPT_MAX_INPUT},
        {"pprof-stack", required_argument, 0, OPT_PPROF_STACK},
        {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0},
    };
    enum lw_stack_choice pprof_stack = LW_STACK_CREATION;
    const char *format = "text", *supp_path = NULL, *base_path = NULL, *write_base = NULL, *out_path = NULL;
    const char *color = "auto";
    long long grace = 1000, max_frames = 0, max_mb = LW_CLI_MAX_INPUT_MB;
    unsigned fail_on = LW_FAIL_ALL;
    bool force = false, default_supp = true;
    char err[1024];
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: format = optarg; break;
        case OPT_GRACE: grace = lw_num("--grace", optarg, LW_MAX_GRACE_MS); break;
        case OPT_SUPP: supp_path = optarg; break;
        case OPT_NO_DEFAULT_SUPP: default_supp = false; break;
        case OPT_FAIL_ON:
            if (lw_fail_on_parse(optarg, &fail_on, err, sizeof err) < 0)
                lw_die(LW_EXIT_USAGE, "--fail-on: %s", err);
            break;
        case OPT_BASELINE: base_path = optarg; break;
        case OPT_WRITE_BASELINE: write_base = optarg; break;
        case OPT_FORCE: force = true; break;
        case 'o': out_path = optarg; break;
        case OPT_COLOR: lw_color_check(color = optarg); break;
        case OPT_MAX_FRAMES: max_frames = lw_num("--max-frames", optarg, 1000000); break;
        case OPT_MAX_INPUT:
            if ((max_mb = lw_num("--max-input-mb", optarg, 1 << 20)) == 0)
                lw_die(LW_EXIT_USAGE, "--max-input-mb: must be at least 1");
            break;
        case OPT_PPROF_STACK:
            if (strcmp(optarg, "creation") != 0 && strcmp(optarg, "blocked") != 0)
                lw_die(LW_EXIT_USAGE, "--pprof-stack: expected creation or blocked, got \"%s\"", optarg);
            pprof_stack = optarg[0] == 'b' ? LW_STACK_BLOCKED : LW_STACK_CREATION;
            break;
        case 'h':
        case OPT_HELP: diff_usage(stdout); return LW_EXIT_CLEAN;
        case OPT_VERSION: printf("leakwatch-diff %s\n", LW_VERSION); return LW_EXIT_CLEAN;
        default: bad_option(argv, diff_usage);
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) {
        lw_msg("expected one or two snapshot files, got %d", nargs);
        diff_usage(stderr);
        return LW_EXIT_USAGE;
    }
    const char *inputs[2] = {nargs == 2 ? argv[optind] : NULL, argv[optind + nargs - 1]};
    if (nargs == 2 && strcmp(inputs[0], "-") == 0 && strcmp(inputs[1], "-") == 0)
        lw_die(LW_EXIT_USAGE, "only one of BEFORE and AFTER can be - (standard input)");
    const struct lw_format_info *fmt = lw_format_by_name(format);
    if (!fmt)
        lw_die(LW_EXIT_USAGE, "--format: unknown format \"%s\" (%s)", format, lw_format_names());

    int rc = LW_EXIT_USAGE;
    struct lw_suppressions supp = {0};
    struct lw_baseline base = {0};
    struct lw_snapshot *before = NULL, *after = NULL;
    struct lw_symbolizer *z = NULL;
    struct lw_report *r = NULL;
    struct lw_out out;
    char today[11];
    lw_today(today);

    if (supp_path && lw_supp_load(&supp, supp_path, err, sizeof err) < 0)
        lw_die(LW_EXIT_USAGE, "%s", err);
    if (default_supp && lw_supp_load_default(&supp, err, sizeof err) < 0)
        lw_die(LW_EXIT_USAGE, "%s", err);
    if (base_path && lw_baseline_load(&base, base_path, today, err, sizeof err) < 0)
        lw_die(LW_EXIT_USAGE, "%s", err);
    /* The output is opened before the work: an unwritable -o, or -o naming
     * an input, fails at once. */
    lw_out_open(&out, out_path, inputs, 2);
    size_t cap = (size_t)max_mb << 20;
    if (inputs[0] && !(before = lw_snapshot_load(inputs[0], cap, err, sizeof err)))
        goto fail;
    if (!(after = lw_snapshot_load(inputs[1], cap, err, sizeof err)))
        goto fail;

    z = lw_symbolizer_new();
    struct lw_diff_opts o = {
        .grace_ms = grace,
        .fail_on = fail_on,
        .supp = supp.n ? &supp : NULL,
        .baseline = base_path ? &base : NULL,
    };
    r = lw_diff(z, before, after, &o);
    if (write_base) {
        if (lw_baseline_write(write_base, r, force, err, sizeof err) < 0)
            goto fail;
        lw_msg("wrote %zu site%s to %s; they are accepted from now on", r->n_new, r->n_new == 1 ? "" : "s",
               write_base);
        lw_report_decide(r, 0); /* accepted from now on: nothing fails, in any format */
    }
    struct lw_render_opts ro = {.color = lw_color_wanted(color, out.f), .max_frames = (int)max_frames,
                                .pprof_stack = pprof_stack};
    int rr = fmt->render(out.f, r, &ro);
    int wr = lw_out_commit(&out);
    if (rr < 0 || wr < 0) {
        snprintf(err, sizeof err, "%s: cannot write the report: %s", out_path ? out_path : "<stdout>",
                 strerror(rr < 0 ? -rr : -wr));
        goto fail;
    }
    rc = r->fails ? LW_EXIT_FINDINGS : LW_EXIT_CLEAN;
    goto done;
fail:
    lw_out_abort(&out);
    lw_msg("%s", err);
    rc = LW_EXIT_USAGE;
done:
    lw_report_free(r);
    lw_symbolizer_free(z);
    lw_snapshot_free(before);
    lw_snapshot_free(after);
    lw_supp_free(&supp);
    lw_baseline_free(&base);
    return rc;
}

static void show_usage(FILE *f)
{
    fprintf(f,
            "usage: leakwatch-show [options] SNAPSHOT.json\n"
            "Prints one snapshot as a thread dump (every thread, grouped by identical stacks,\n"
            "with its state and verdict), or with --tree the context tree. - reads standard input.\n\n"
            "  --tree                the context tree instead of the thread dump\n"
            "  --format=text|html    html: one self-contained page, the context tree drawn\n"
            "                        and every thread group as a card (--tree implied)\n"
            "  --grace=MS            as leakwatch-diff (default 1000)\n"
            "  -o, --output=FILE     write to FILE instead of standard output\n"
            "  --color=WHEN          auto (default), always, never\n"
            "  --max-frames=N        frames per stack (0 = all)\n"
            "  --max-input-mb=N      refuse snapshots larger than N MB (default %d)\n"
            "  --help, --version\n\n"
            "Exit status: 0, or 2 on a usage or input error.\n",
            LW_CLI_MAX_INPUT_MB);
}

int lw_cmd_show(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tree", no_argument, 0, OPT_TREE},
        {"format", required_argument, 0, OPT_FORMAT},
        {"grace", required_argument, 0, OPT_GRACE},
        {"color", required_argument, 0, OPT_COLOR},
        {"colour", required_argument, 0, OPT_COLOR},
        {"max-frames", required_argument, 0, OPT_MAX_FRAMES},
        {"max-input-mb", required_argument, 0, OPT_MAX_INPUT},
        {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0},
    };
    bool tree = false, html = false;
    const char *color = "auto", *out_path = NULL;
    long long grace = 1000, max_frames = 0, max_mb = LW_CLI_MAX_INPUT_MB;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TREE: tree = true; break;
        case OPT_FORMAT: {
            const struct lw_format_info *f = lw_format_by_name(optarg);
            if (!f || (f->render != lw_render_text && f->render != lw_render_html))
                lw_die(LW_EXIT_USAGE, "--format: %s \"%s\" (a thread dump is text or html)",
                       f ? "not for a dump:" : "unknown format", optarg);
            html = f && f->render == lw_render_html;
            break;
        }
        case OPT_GRACE: grace = lw_num("--grace", optarg, LW_MAX_GRACE_MS); break;
        case OPT_COLOR: lw_color_check(color = optarg); break;
        case OPT_MAX_FRAMES: max_frames = lw_num("--max-frames", optarg, 1000000); break;
        case OPT_MAX_INPUT:
            if ((max_mb = lw_num("--max-input-mb", optarg, 1 << 20)) == 0)
                lw_die(LW_EXIT_USAGE, "--max-input-mb: must be at least 1");
            break;
        case 'o': out_path = optarg; break;
        case 'h':
        case OPT_HELP: show_usage(stdout); return LW_EXIT_CLEAN;
        case OPT_VERSION: printf("leakwatch-show %s\n", LW_VERSION); return LW_EXIT_CLEAN;
        default: bad_option(argv, show_usage);
        }
    }
    if (argc - optind != 1) {
        lw_msg("expected one snapshot file, got %d", argc - optind);
        show_usage(stderr);
        return LW_EXIT_USAGE;
    }
    const char *input = argv[optind];
    char err[1024];
    struct lw_out out;
    lw_out_open(&out, out_path, &input, 1);
    struct lw_snapshot *s = lw_snapshot_load(input, (size_t)max_mb << 20, err, sizeof err);
    if (!s) {
        lw_out_abort(&out);
        lw_die(LW_EXIT_USAGE, "%s", err);
    }
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_dump *d = lw_dump_build(z, s, grace);
    struct lw_render_opts ro = {.color = lw_color_wanted(color, out.f), .max_frames = (int)max_frames};
    int rr = html ? lw_render_dump_html(out.f, d, &ro) : lw_render_dump(out.f, d, tree, &ro);
    const char *const *w;
    size_t nw = lw_symbolizer_warnings(z, &w);
    for (size_t i = 0; i < nw; i++)
        lw_msg("warning: %s", w[i]);
    int wr = lw_out_commit(&out);
    int rc = LW_EXIT_CLEAN;
    if (rr < 0 || wr < 0) {
        lw_msg("%s: cannot write: %s", out_path ? out_path : "<stdout>", strerror(rr < 0 ? -rr : -wr));
        rc = LW_EXIT_USAGE;
    }
    lw_dump_free(d);
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
    return rc;
}
