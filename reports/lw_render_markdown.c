/* lw_render_markdown.c — `--format=markdown`: a pull-request comment.
 *
 * A summary line, a table of sites (section, verdict, kind, count, where
 * created, blocked in), then one collapsible <details> per site with the
 * text report of that site in a code block. Host strings in the table are
 * escaped for GitHub-flavoured markdown; code blocks use a fence longer than
 * any backtick run inside them, so nothing can close them early.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_where(FILE *out, const struct lw_finding *f)
{
    const struct lw_sym_frame *uf = lw_user_frame(&f->creation_stack);
    const char *file = f->location_file ? f->location_file : uf ? uf->file : NULL;
    int line = f->location_file ? f->location_line : uf ? uf->line : 0;
    if (uf && uf->function) {
        lw_put_md(out, uf->function);
        fputs(" at ", out);
    }
    if (file) {
        const char *b = strrchr(file, '/');
        lw_put_md(out, b ? b + 1 : file);
        if (line > 0)
            fprintf(out, ":%d", line);
    } else if (f->start_routine)
        lw_put_md(out, f->start_routine);
    else
        fputs("unknown", out);
}

static void put_row(FILE *out, const struct lw_finding *f, const char *section)
{
    fprintf(out, "| %s | %s | %s | %zu | ", section, lw_verdict_name(f->verdict),
            lw_kind_name(f->kind), f->count);
    put_where(out, f);
    fputs(" | ", out);
    if (f->blocked) {
        lw_put_md(out, f->blocked_call ? f->blocked_call : "?");
        if (f->blocked_object) {
            fputs(" on ", out);
            lw_put_md(out, f->blocked_object);
        }
    } else if (f->kind == LW_KIND_THREAD && f->verdict != LW_VERDICT_UNJOINED)
        fputs("running", out);
    else
        fputs("\xe2\x80\x94", out);
    fputs(" |\n", out);
}

static size_t longest_backtick_run(const char *s)
{
    size_t best = 0, cur = 0;
    for (; s && *s; s++) {
        cur = *s == '`' ? cur + 1 : 0;
        if (cur > best)
            best = cur;
    }
    return best;
}

static void put_details(FILE *out, const struct lw_finding *f, const char *section,
                        const struct lw_render_opts *o)
{
    struct lw_render_opts plain = {.max_frames = o ? o->max_frames : 0};
    char *body = lw_text_finding_str(f, section, &plain);
    fprintf(out, "<details><summary>%s: %zu ", section, f->count);
    lw_put_what(out, f, f->count);
    /* <summary> is HTML: GitHub does not apply markdown escapes there. */
    fputs(" \xe2\x80\x94 ", out);
    lw_put_xml(out, f->title, false);
    fputs(" (site ", out);
    lw_put_xml(out, f->site, false);
    fputs(")</summary>\n\n", out);
    size_t fence = longest_backtick_run(body) + 1;
    if (fence < 3)
        fence = 3;
    for (size_t i = 0; i < fence; i++)
        putc('`', out);
    fputs("text\n", out);
    /* Inside a code block only the fence matters; control characters were
     * already made visible by the text renderer. */
    fputs(body ? body : "(out of memory)\n", out);
    for (size_t i = 0; i < fence; i++)
        putc('`', out);
    fputs("\n\n</details>\n\n", out);
    free(body);
}

struct section {
    const char *name;
    const struct lw_finding *f;
    size_t n;
};

int lw_render_markdown(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    if (!out || !r)
        return -EINVAL;
    struct section secs[] = {{"new", r->new_findings, r->n_new},
                             {"persisting", r->persisting, r->n_persisting},
                             {"fixed", r->fixed, r->n_fixed}};
    const struct lw_finding **ord[3] = {NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 3; i++)
        if (secs[i].n && !(ord[i] = lw_order_findings(secs[i].f, secs[i].n)))
            rc = -ENOMEM;
    if (rc)
        goto done;

    fputs(r->n_new ? "### :warning: leakwatch\n\n" : "### leakwatch\n\n", out);
    fputs("**", out);
    char *line = lw_summary_str(r);
    lw_put_md(out, line ? line : "");
    free(line);
    fputs("**\n\n", out);

    if (r->n_new + r->n_persisting + r->n_fixed) {
        fputs("| | verdict | kind | count | created at | blocked in |\n"
              "|---|---|---|---:|---|---|\n",
              out);
        for (int i = 0; i < 3; i++)
            for (size_t j = 0; j < secs[i].n; j++)
                put_row(out, ord[i][j], secs[i].name);
        fputs("\n", out);
    }
    /* Full stories for what a reviewer must act on; fixed sites need none. */
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < secs[i].n; j++)
            put_details(out, ord[i][j], i == 0 ? "NEW" : "PERSISTING", o);

    if (r->n_suppressions) {
        fputs("Suppressions used: ", out);
        for (size_t i = 0; i < r->n_suppressions; i++) {
            fputs(i ? ", " : "", out);
            lw_put_md(out, r->suppressions[i].pattern);
            fprintf(out, " (%zu)", r->suppressions[i].hits);
        }
        fputs("\n\n", out);
    }
    for (size_t i = 0; r->baseline_expired && i < r->n_baseline_expired; i++) {
        fputs("> baseline: ", out);
        lw_put_md(out, r->baseline_expired[i]);
        fputs("\n\n", out);
    }
    for (size_t i = 0; r->warnings && i < r->n_warnings; i++) {
        fputs("> warning: ", out);
        lw_put_md(out, r->warnings[i]);
        fputs("\n\n", out);
    }
done:
    for (int i = 0; i < 3; i++)
        free(ord[i]);
    return rc ? rc : ferror(out) ? -EIO : 0;
}

/* A gate run: one section per process. */
int lw_render_gate_markdown(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    if (!out || !g)
        return -EINVAL;
    fputs("## leakwatch-gate\n\n", out);
    for (size_t i = 0; i < g->nprocs; i++) {
        lw_put_gate_heading(out, "###", &g->procs[i]);
        if (g->procs[i].report) {
            int rc = lw_render_markdown(out, g->procs[i].report, o);
            if (rc)
                return rc;
            putc('\n', out);
        }
    }
    return ferror(out) ? -EIO : 0;
}
