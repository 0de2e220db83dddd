/* lw_render_openmetrics.c — `--format=openmetrics`: the findings as gauges in
 * the Prometheus text exposition format (the subset OpenMetrics shares, and
 * that node_exporter's textfile collector reads), ending in "# EOF".
 *
 * One leakwatch_findings series per site and state (new, persisting) with
 * the instance count as value, then per-report totals. Every series has
 * program and pid labels: two processes of one program on a host write two
 * textfiles, and a series in both would fail node_exporter's scrape. Every label value
 * comes from the host or the symbolizer and is escaped (lw_put_prom_label).
 * No timestamps: the textfile collector refuses them. Must never decide
 * what fails: the `fails` label and leakwatch_failing_findings print the
 * model's decision (docs/design.md §4.1).
 */
#include "lw_render_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One series: the findings of one (kind, verdict, site) in one state,
 * summed (the analyzer groups by site already; this only guards against a
 * duplicate series, which a scraper would reject). */
struct om_series {
    const struct lw_finding *f;  /* representative */
    const char *state;
    size_t count;
    bool fails;
};

static const char *program_of(const struct lw_report *r)
{
    const char *e = r->exe;
    if (!e || !*e)
        return "unknown";
    const char *b = strrchr(e, '/');
    return b && b[1] ? b + 1 : e;
}

static size_t add_series(struct om_series *v, size_t n, const struct lw_finding *f,
                         const char *state)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].state == state && v[i].f->kind == f->kind && v[i].f->verdict == f->verdict &&
            strcmp(v[i].f->site ? v[i].f->site : "", f->site ? f->site : "") == 0) {
            v[i].count += f->count;
            v[i].fails = v[i].fails || f->fails;
            return n;
        }
    v[n] = (struct om_series){f, state, f->count, f->fails};
    return n + 1;
}

static void put_gauge_head(FILE *out, const char *name, const char *help)
{
    fprintf(out, "# HELP %s ", name);
    lw_put_prom_help(out, help);
    fprintf(out, "\n# TYPE %s gauge\n", name);
}

static size_t instances(const struct lw_finding *f, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; f && i < n; i++)
        c += f[i].count;
    return c;
}

/* Totals of one report, in the order of the families below. */
enum { T_NEW, T_SITES, T_PERSISTING, T_FIXED, T_FAILING, T_COUNT };

int lw_om_render_reports(FILE *out, const struct lw_report *const *rs, size_t nr)
{
    if (!out || (nr && !rs))
        return -EINVAL;
    size_t (*tot)[T_COUNT] = calloc(nr + 1, sizeof *tot);
    if (!tot)
        return -ENOMEM;
    put_gauge_head(out, "leakwatch_findings",
                   "Leaked, unjoined or stuck threads, timers, sockets and fds present in the snapshot, per site "
                   "(state: new since the baseline snapshot, or persisting).");
    for (size_t k = 0; k < nr; k++) {
        const struct lw_report *r = rs[k];
        if (!r)
            continue;
        const char *program = program_of(r);
        size_t cap = r->n_new + r->n_persisting, n = 0;
        struct om_series *v = cap ? calloc(cap, sizeof *v) : NULL;
        if (cap && !v) {
            free(tot);
            return -ENOMEM;
        }
        for (size_t i = 0; r->new_findings && i < r->n_new; i++)
            n = add_series(v, n, &r->new_findings[i], "new");
        for (size_t i = 0; r->persisting && i < r->n_persisting; i++)
            n = add_series(v, n, &r->persisting[i], "persisting");
        for (size_t i = 0; i < n; i++) {
            const struct lw_finding *f = v[i].f;
            fprintf(out, "leakwatch_findings{kind=\"%s\",verdict=\"%s\",site=\"", lw_kind_name(f->kind),
                    lw_verdict_name(f->verdict));
            lw_put_prom_label(out, f->site);
            fputs("\",start_routine=\"", out);
            lw_put_prom_label(out, f->start_routine);
            fputs("\",program=\"", out);
            lw_put_prom_label(out, program);
            fprintf(out, "\",pid=\"%d\",state=\"%s\",fails=\"%s\"} %zu\n", r->after_pid, v[i].state,
                    v[i].fails ? "true" : "false", v[i].count);
            if (v[i].state[0] == 'n')
                tot[k][T_SITES]++;
        }
        free(v);
        tot[k][T_FAILING] = r->failing; /* the model's decision */
        tot[k][T_NEW] = instances(r->new_findings, r->n_new);
        tot[k][T_PERSISTING] = instances(r->persisting, r->n_persisting);
        tot[k][T_FIXED] = instances(r->fixed, r->n_fixed);
    }
    static const struct {
        const char *name, *help;
    } fam[T_COUNT] = {
        {"leakwatch_new_findings", "Instances found since the baseline snapshot (all sites)."},
        {"leakwatch_new_sites", "Sites with instances found since the baseline snapshot."},
        {"leakwatch_persisting_findings", "Instances already present in the baseline snapshot."},
        {"leakwatch_fixed_findings", "Instances of the baseline snapshot that are gone."},
        {"leakwatch_failing_findings", "New instances that fail the check (--fail-on, not accepted by a baseline); "
                                       "the exit status is 1 when this is above 0."},
    };
    for (int t = 0; t < T_COUNT; t++) {
        put_gauge_head(out, fam[t].name, fam[t].help);
        for (size_t k = 0; k < nr; k++) {
            if (!rs[k])
                continue;
            fprintf(out, "%s{program=\"", fam[t].name);
            lw_put_prom_label(out, program_of(rs[k]));
            fprintf(out, "\",pid=\"%d\"} %zu\n", rs[k]->after_pid, tot[k][t]);
        }
    }
    free(tot);
    fputs("# EOF\n", out);
    return ferror(out) ? -EIO : 0;
}

int lw_render_openmetrics(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !r)
        return -EINVAL;
    return lw_om_render_reports(out, &r, 1);
}

/* A gate run: every checked process's series, labelled by program and pid. */
int lw_render_gate_openmetrics(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !g)
        return -EINVAL;
    const struct lw_report **rs = calloc(g->nprocs + 1, sizeof *rs);
    if (!rs)
        return -ENOMEM;
    for (size_t i = 0; i < g->nprocs; i++)
        rs[i] = g->procs[i].report;
    int rc = lw_om_render_reports(out, rs, g->nprocs);
    free(rs);
    return rc;
}
