/* lw_show_main.c — `leakwatch-show [--tree] [--format=text] SNAPSHOT`: one
 * snapshot as a full thread dump (every thread, grouped, with verdicts
 * including "parked"), or its context tree. Exit 0, or 2 on usage/input
 * errors. Must never: exit 1 (show judges nothing for CI; use diff).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lw_analyze.h"

static void usage(FILE *f)
{
    fputs("usage: leakwatch-show [--tree] [--format=text] [--grace=MS] [--color=WHEN] [--max-frames=N] SNAPSHOT.json\n"
          "Prints one snapshot as a thread dump (every thread, grouped by identical stacks,\n"
          "with its state and verdict), or with --tree the context tree. - reads standard input.\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tree", no_argument, 0, 't'},         {"format", required_argument, 0, 'f'},
        {"grace", required_argument, 0, 'g'},  {"color", required_argument, 0, 'c'},
        {"max-frames", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    bool tree = false;
    const char *color = "auto", *out_path = NULL;
    long grace = 1000, max_frames = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't': tree = true; break;
        case 'f':
            if (strcmp(optarg, "text") != 0) {
                fprintf(stderr, "leakwatch-show: --format: only text is supported, got \"%s\"\n", optarg);
                return LW_EXIT_ERROR;
            }
            break;
        case 'g':
        case 'm': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0) {
                fprintf(stderr, "leakwatch-show: expected a non-negative number, got \"%s\"\n", optarg);
                return LW_EXIT_ERROR;
            }
            *(c == 'g' ? &grace : &max_frames) = v;
            break;
        }
        case 'c':
            color = optarg;
            if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) {
                fprintf(stderr, "leakwatch-show: --color: expected auto, always or never\n");
                return LW_EXIT_ERROR;
            }
            break;
        case 'o': out_path = optarg; break;
        case 'h': usage(stdout); return LW_EXIT_CLEAN;
        case 'V': printf("leakwatch-show %s\n", LW_VERSION); return LW_EXIT_CLEAN;
        default:
            fprintf(stderr, "leakwatch-show: unknown option or missing value: %s\n", argv[optind - 1]);
            usage(stderr);
            return LW_EXIT_ERROR;
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return LW_EXIT_ERROR;
    }
    char err[1024];
    struct lw_snapshot *s = lw_snapshot_load(argv[optind], 0, err, sizeof err);
    if (!s) {
        fprintf(stderr, "leakwatch-show: %s\n", err);
        return LW_EXIT_ERROR;
    }
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        perror(out_path);
        lw_snapshot_free(s);
        return LW_EXIT_ERROR;
    }
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_dump *d = lw_dump_build(z, s, grace);
    struct lw_render_opts ro = {
        .color = strcmp(color, "always") == 0 || (strcmp(color, "auto") == 0 && isatty(fileno(out)) && !getenv("NO_COLOR")),
        .max_frames = (int)max_frames,
    };
    int rr = lw_render_dump(out, d, tree, &ro);
    const char *const *w;
    size_t nw = lw_symbolizer_warnings(z, &w);
    for (size_t i = 0; i < nw; i++)
        fprintf(stderr, "leakwatch-show: warning: %s\n", w[i]);
    int rc = (fflush(out) != 0 || rr < 0) ? LW_EXIT_ERROR : LW_EXIT_CLEAN;
    if (out != stdout)
        fclose(out);
    lw_dump_free(d);
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
    return rc;
}
