/* lw_render_junit.c — `--format=junit`: leaks shown as failed tests in any
 * CI system that reads JUnit XML.
 *
 * One <testsuite name="leakwatch">, one <testcase> per site (classname =
 * kind, name = title). New findings that count for --fail-on are
 * <failure>s whose body is the text report of that site; new findings that
 * do not count, and fixed sites, pass with the text in <system-out>;
 * persisting sites are <skipped> (known, not caused by this change — the
 * exit status ignores them too) with the text in <system-out>. An empty
 * report has one passing "no new findings" case, because some CI readers
 * treat an empty suite as an error. Never writes unescaped host strings.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <stdlib.h>

struct counts {
    size_t tests, failures, skipped;
};

static void put_case(FILE *out, const struct lw_finding *f,
                     const char *section, const struct lw_render_opts *o)
{
    struct lw_render_opts plain = {.max_frames = o ? o->max_frames : 0};
    char *body = lw_text_finding_str(f, section, &plain);
    fprintf(out, "  <testcase classname=\"leakwatch.%s\" name=\"", lw_kind_name(f->kind));
    lw_put_xml(out, f->title, true);
    fputs(" [", out);
    lw_put_xml(out, f->site, true);
    fputs("]\"", out);
    if (f->location_file) {
        fputs(" file=\"", out);
        lw_put_xml(out, f->location_file, true);
        fprintf(out, "\" line=\"%d\"", f->location_line);
    }
    fputs(">\n", out);
    bool is_new = section[0] == 'N';
    if (is_new && f->fails) {
        fprintf(out, "    <failure type=\"%s.%s\" message=\"%zu ", lw_verdict_name(f->verdict),
                lw_kind_name(f->kind), f->count);
        lw_put_what(out, f, f->count);
        fputs(": ", out);
        lw_put_xml(out, f->title, true);
        fputs("\">", out);
        lw_put_xml(out, body, false);
        fputs("</failure>\n", out);
    } else {
        if (section[0] == 'P') {
            fprintf(out, "    <skipped message=\"persisting: %zu ", f->count);
            lw_put_what(out, f, f->count);
            fputs(" already present before\"/>\n", out);
        }
        fputs("    <system-out>", out);
        lw_put_xml(out, body, false);
        fputs("</system-out>\n", out);
    }
    fputs("  </testcase>\n", out);
    free(body);
}

static int put_cases(FILE *out, const struct lw_finding *f, size_t n,
                     const char *section, const struct lw_render_opts *o)
{
    if (!n)
        return 0;
    const struct lw_finding **v = lw_order_findings(f, n);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        put_case(out, v[i], section, o);
    free(v);
    return 0;
}

static struct counts count(const struct lw_report *r)
{
    struct counts c = {r->n_new + r->n_persisting + r->n_fixed, 0, r->n_persisting};
    for (size_t i = 0; r->new_findings && i < r->n_new; i++)
        c.failures += r->new_findings[i].fails;
    if (!c.tests)
        c.tests = 1; /* the "no new findings" case */
    return c;
}

/* One <testsuite> for one diff, named name (escaped here). */
static int put_suite(FILE *out, const struct lw_report *r, const char *name, const struct lw_render_opts *o)
{
    struct counts c = count(r);
    bool empty = r->n_new + r->n_persisting + r->n_fixed == 0;
    fputs("<testsuite name=\"", out);
    lw_put_xml(out, name, true);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n", c.tests, c.failures,
            c.skipped);
    fputs("  <properties>\n    <property name=\"after\" value=\"", out);
    lw_put_xml(out, r->after_path, true);
    fputs("\"/>\n", out);
    if (r->before_path) {
        fputs("    <property name=\"before\" value=\"", out);
        lw_put_xml(out, r->before_path, true);
        fputs("\"/>\n", out);
    }
    fprintf(out, "    <property name=\"grace_ms\" value=\"%lld\"/>\n  </properties>\n",
            (long long)r->grace_ms);
    int rc = put_cases(out, r->new_findings, r->n_new, "NEW", o);
    if (!rc)
        rc = put_cases(out, r->persisting, r->n_persisting, "PERSISTING", o);
    if (!rc)
        rc = put_cases(out, r->fixed, r->n_fixed, "FIXED", o);
    if (rc)
        return rc;
    if (empty)
        fputs("  <testcase classname=\"leakwatch\" name=\"no new findings\"/>\n", out);
    /* The summary and the warnings go where a person reading the CI page
     * looks for the suite's own output. */
    fputs("  <system-out>", out);
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    if (m) {
        fputs("SUMMARY: ", m);
        lw_put_summary(m, r);
        putc('\n', m);
        for (size_t i = 0; r->warnings && i < r->n_warnings; i++)
            fprintf(m, "warning: %s\n", r->warnings[i]);
        for (size_t i = 0; r->baseline_expired && i < r->n_baseline_expired; i++)
            fprintf(m, "baseline: %s\n", r->baseline_expired[i]);
        fclose(m);
    }
    lw_put_xml(out, line, false);
    free(line);
    fputs("</system-out>\n</testsuite>\n", out);
    return 0;
}

int lw_render_junit(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    if (!out || !r)
        return -EINVAL;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"leakwatch\">\n", out);
    int rc = put_suite(out, r, "leakwatch", o);
    if (rc)
        return rc;
    fputs("</testsuites>\n", out);
    return ferror(out) ? -EIO : 0;
}

/* A gate run: one <testsuite> per process, named "leakwatch: EXE (pid N)";
 * a process that could not be checked is one case, an <error> (unreadable
 * snapshot) or <skipped> (no exit snapshot). Totals on <testsuites>. */
int lw_render_gate_junit(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    if (!out || !g)
        return -EINVAL;
    struct counts t = {0, 0, 0};
    size_t errors = 0;
    for (size_t i = 0; i < g->nprocs; i++) {
        const struct lw_gate_proc *p = &g->procs[i];
        if (p->report) {
            struct counts c = count(p->report);
            t.tests += c.tests, t.failures += c.failures, t.skipped += c.skipped;
        } else {
            t.tests++;
            errors += p->status == LW_PROC_ERROR;
            t.skipped += p->status != LW_PROC_ERROR;
        }
    }
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"leakwatch-gate\" tests=\"%zu\" "
            "failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
            t.tests, t.failures, errors, t.skipped);
    for (size_t i = 0; i < g->nprocs; i++) {
        const struct lw_gate_proc *p = &g->procs[i];
        char *name = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&name, &len);
        if (!m)
            return -ENOMEM;
        fprintf(m, "leakwatch: %s (pid %d)", p->exe ? p->exe : "?", p->pid);
        fclose(m);
        int rc = 0;
        if (p->report) {
            rc = put_suite(out, p->report, name, o);
        } else {
            bool err = p->status == LW_PROC_ERROR;
            fputs("<testsuite name=\"", out);
            lw_put_xml(out, name, true);
            fprintf(out, "\" tests=\"1\" failures=\"0\" errors=\"%d\" skipped=\"%d\">\n", err, !err);
            fprintf(out, "  <testcase classname=\"process\" name=\"exit snapshot\">\n    <%s message=\"",
                    err ? "error" : "skipped");
            lw_put_xml(out, p->note, true);
            fputs("\"/>\n  </testcase>\n</testsuite>\n", out);
        }
        free(name);
        if (rc)
            return rc;
    }
    fputs("</testsuites>\n", out);
    return ferror(out) ? -EIO : 0;
}
