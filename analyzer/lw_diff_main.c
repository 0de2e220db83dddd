/* lw_diff_main.c — `leakwatch-diff [options] BEFORE.json AFTER.json`.
 *
 * Owns the command line and the mapping of results to exit codes (enum
 * lw_exit: 0 no new findings of the --fail-on kinds, 1 new findings, 2 usage
 * or input error). Must never: print a partial report after an input error,
 * or exit 1 for a problem that is the user's input (that is 2).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lw_analyze.h"

static void usage(FILE *f)
{
    fputs("usage: leakwatch-diff [options] BEFORE.json AFTER.json\n"
          "       leakwatch-diff [options] SNAPSHOT.json      (against an empty baseline)\n"
          "Lists threads, timers and sockets that leaked between two leakwatch snapshots.\n"
          "A file name of - reads standard input.\n\n"
          "  --format=FMT          text (default), json, junit, sarif, markdown\n"
          "  --grace=MS            a scope must have ended at least MS ago (default 1000)\n"
          "  --suppressions=FILE   thread:GLOB, timer:GLOB, socket:GLOB, top:GLOB lines\n"
          "  --fail-on=KINDS       comma list of thread,timer,socket,unjoined,stuck (default all)\n"
          "  --baseline=FILE       accepted sites: KIND:SITE [owner=NAME] [expires=YYYY-MM-DD] [# why]\n"
          "  --write-baseline=FILE write the new findings as a baseline (with --force to overwrite)\n"
          "  -o, --output=FILE     write the report to FILE instead of standard output\n"
          "  --color=WHEN          auto (default), always, never\n"
          "  --max-frames=N        frames per stack in text/markdown reports (0 = all)\n"
          "  --max-input-mb=N      refuse snapshots larger than N MB (default 256)\n"
          "  --help, --version\n\n"
          "Exit status: 0 no new findings, 1 new findings, 2 usage or input error.\n",
          f);
}

static int parse_num(const char *opt, const char *arg, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > max) {
        fprintf(stderr, "leakwatch-diff: %s: expected a number from 0 to %lld, got \"%s\"\n", opt, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    OPT_FORMAT = 256, OPT_GRACE, OPT_SUPP, OPT_FAIL_ON, OPT_BASELINE, OPT_WRITE_BASELINE, OPT_FORCE, OPT_COLOR,
    OPT_MAX_FRAMES, OPT_MAX_INPUT, OPT_HELP, OPT_VERSION,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, 0, OPT_FORMAT},
        {"grace", required_argument, 0, OPT_GRACE},
        {"suppressions", required_argument, 0, OPT_SUPP},
        {"fail-on", required_argument, 0, OPT_FAIL_ON},
        {"baseline", required_argument, 0, OPT_BASELINE},
        {"write-baseline", required_argument, 0, OPT_WRITE_BASELINE},
        {"force", no_argument, 0, OPT_FORCE},
        {"output", required_argument, 0, 'o'},
        {"color", required_argument, 0, OPT_COLOR},
        {"colour", required_argument, 0, OPT_COLOR},
        {"max-frames", required_argument, 0, OPT_MAX_FRAMES},
        {"max-input-mb", required_argument, 0, OPT_MAX_INPUT},
        {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0},
    };
    const char *format = "text", *supp_path = NULL, *base_path = NULL, *write_base = NULL, *out_path = NULL;
    const char *color = "auto";
    long long grace = 1000, max_frames = 0, max_mb = (long long)(LW_MAX_INPUT_DEFAULT >> 20);
    unsigned fail_on = LW_FAIL_ALL;
    bool force = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: format = optarg; break;
        case OPT_GRACE:
            if (parse_num("--grace", optarg, 86400000LL * 365, &grace) < 0)
                return LW_EXIT_ERROR;
            break;
        case OPT_SUPP: supp_path = optarg; break;
        case OPT_FAIL_ON: {
            char ferr[256];
            if (lw_fail_on_parse(optarg, &fail_on, ferr, sizeof ferr) < 0) {
                fprintf(stderr, "leakwatch-diff: --fail-on: %s\n", ferr);
                return LW_EXIT_ERROR;
            }
            break;
        }
        case OPT_BASELINE: base_path = optarg; break;
        case OPT_WRITE_BASELINE: write_base = optarg; break;
        case OPT_FORCE: force = true; break;
        case 'o': out_path = optarg; break;
        case OPT_COLOR:
            color = optarg;
            if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) {
                fprintf(stderr, "leakwatch-diff: --color: expected auto, always or never, got \"%s\"\n", color);
                return LW_EXIT_ERROR;
            }
            break;
        case OPT_MAX_FRAMES:
            if (parse_num("--max-frames", optarg, 1000000, &max_frames) < 0)
                return LW_EXIT_ERROR;
            break;
        case OPT_MAX_INPUT:
            if (parse_num("--max-input-mb", optarg, 1 << 20, &max_mb) < 0 || max_mb == 0) {
                if (max_mb == 0)
                    fputs("leakwatch-diff: --max-input-mb: must be at least 1\n", stderr);
                return LW_EXIT_ERROR;
            }
            break;
        case 'h':
        case OPT_HELP: usage(stdout); return LW_EXIT_CLEAN;
        case OPT_VERSION: printf("leakwatch-diff %s\n", LW_VERSION); return LW_EXIT_CLEAN;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "leakwatch-diff: unknown option -%c\n", optopt);
            else
                fprintf(stderr, "leakwatch-diff: unknown option or missing value: %s\n", argv[optind - 1]);
            usage(stderr);
            return LW_EXIT_ERROR;
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) {
        fprintf(stderr, "leakwatch-diff: expected one or two snapshot files, got %d\n", nargs);
        usage(stderr);
        return LW_EXIT_ERROR;
    }
    if (nargs == 2 && strcmp(argv[optind], "-") == 0 && strcmp(argv[optind + 1], "-") == 0) {
        fputs("leakwatch-diff: only one of BEFORE and AFTER can be - (standard input)\n", stderr);
        return LW_EXIT_ERROR;
    }
    lw_renderer_fn render = lw_renderer_by_name(format);
    if (!render) {
        fprintf(stderr, "leakwatch-diff: --format: unknown format \"%s\" (text, json, junit, sarif, markdown)\n",
                format);
        return LW_EXIT_ERROR;
    }

    char err[1024];
    int rc = LW_EXIT_ERROR;
    struct lw_suppressions supp = {0};
    struct lw_baseline base = {0};
    struct lw_snapshot *before = NULL, *after = NULL;
    struct lw_symbolizer *z = NULL;
    struct lw_report *r = NULL;
    FILE *out = stdout;
    char today[11];
    lw_today(today);

    if (supp_path && lw_supp_load(&supp, supp_path, err, sizeof err) < 0)
        goto fail;
    if (base_path && lw_baseline_load(&base, base_path, today, err, sizeof err) < 0)
        goto fail;
    size_t cap = (size_t)max_mb << 20;
    if (nargs == 2 && !(before = lw_snapshot_load(argv[optind], cap, err, sizeof err)))
        goto fail;
    if (!(after = lw_snapshot_load(argv[optind + nargs - 1], cap, err, sizeof err)))
        goto fail;

    z = lw_symbolizer_new();
    struct lw_diff_opts o = {
        .grace_ms = grace,
        .fail_on = fail_on,
        .supp = supp_path ? &supp : NULL,
        .baseline = base_path ? &base : NULL,
    };
    r = lw_diff(z, before, after, &o);
    if (write_base) {
        if (lw_baseline_write(write_base, r, force, err, sizeof err) < 0)
            goto fail;
        fprintf(stderr, "leakwatch-diff: wrote %zu site%s to %s; they are accepted from now on\n", r->n_new,
                r->n_new == 1 ? "" : "s", write_base);
        lw_report_decide(r, 0); /* accepted from now on: nothing fails, in any format */
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        snprintf(err, sizeof err, "%s: cannot write: %s", out_path, strerror(errno));
        goto fail;
    }
    struct lw_render_opts ro = {
        .color = strcmp(color, "always") == 0 ||
                 (strcmp(color, "auto") == 0 && isatty(fileno(out)) && !getenv("NO_COLOR") &&
                  !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0)),
        .max_frames = (int)max_frames,
    };
    int rr = render(out, r, &ro);
    if (fflush(out) != 0 || ferror(out) || rr < 0) {
        snprintf(err, sizeof err, "%s: cannot write the report: %s", out_path ? out_path : "<stdout>",
                 strerror(rr < 0 ? -rr : errno ? errno : EIO));
        goto fail;
    }
    rc = r->fails ? LW_EXIT_FINDINGS : LW_EXIT_CLEAN;
    goto done;
fail:
    fprintf(stderr, "leakwatch-diff: %s\n", err);
    rc = LW_EXIT_ERROR;
done:
    if (out && out != stdout)
        fclose(out);
    lw_report_free(r);
    lw_symbolizer_free(z);
    lw_snapshot_free(before);
    lw_snapshot_free(after);
    lw_supp_free(&supp);
    lw_baseline_free(&base);
    return rc;
}
