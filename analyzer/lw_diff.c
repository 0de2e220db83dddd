/* lw_diff.c — BEFORE + AFTER -> struct lw_report.
 *
 * Same process (same pid and exe, BEFORE taken earlier): findings match by
 * identity — threads (tid, created_ns), sockets (fd, created_ns), timers by
 * record id. Different processes: by site counts (new = the growth of a
 * site's count). Then suppressions drop instances, the baseline accepts new
 * ones, and instances are grouped by (site, verdict, new/persisting/fixed).
 * Must never: fail (inputs are already validated) or print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"

static int cmp_ident(const void *a, const void *b)
{
    const struct lw_inst *x = *(struct lw_inst *const *)a, *y = *(struct lw_inst *const *)b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->key1 != y->key1)
        return x->key1 < y->key1 ? -1 : 1;
    if (x->key2 != y->key2)
        return x->key2 < y->key2 ? -1 : 1;
    return 0;
}

/* Site, verdict, kind; then oldest first so "the newest N" are at the end. */
static int cmp_site(const void *a, const void *b)
{
    const struct lw_inst *x = *(struct lw_inst *const *)a, *y = *(struct lw_inst *const *)b;
    if (x->site != y->site)
        return x->site < y->site ? -1 : 1;
    if (x->verdict != y->verdict)
        return x->verdict < y->verdict ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->created_ns != y->created_ns)
        return x->created_ns < y->created_ns ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool same_group(const struct lw_inst *x, const struct lw_inst *y)
{
    return x->site == y->site && x->verdict == y->verdict && x->kind == y->kind;
}

static struct lw_inst **live_ptrs(struct lw_analysis *a, size_t *n)
{
    struct lw_inst **p = lw_xcalloc(a->ninsts, sizeof(*p));
    *n = 0;
    for (size_t i = 0; i < a->ninsts; i++)
        if (!a->insts[i].suppressed)
            p[(*n)++] = &a->insts[i];
    return p;
}

static void match_identity(struct lw_analysis *b, struct lw_analysis *a)
{
    size_t nb, na;
    struct lw_inst **pb = live_ptrs(b, &nb), **pa = live_ptrs(a, &na);
    qsort(pb, nb, sizeof(*pb), cmp_ident);
    qsort(pa, na, sizeof(*pa), cmp_ident);
    for (size_t i = 0; i < na; i++)
        pa[i]->state = bsearch(&pa[i], pb, nb, sizeof(*pb), cmp_ident) ? LW_PERSISTING : LW_NEW;
    for (size_t i = 0; i < nb; i++)
        pb[i]->state = bsearch(&pb[i], pa, na, sizeof(*pa), cmp_ident) ? LW_PERSISTING : LW_FIXED;
    free(pb);
    free(pa);
}

/* Different processes: compare per-site counts. BEFORE instances that are
 * matched are marked persisting (not shown); the surplus is fixed. */
static void match_counts(struct lw_analysis *b, struct lw_analysis *a)
{
    size_t nb, na;
    struct lw_inst **pb = live_ptrs(b, &nb), **pa = live_ptrs(a, &na);
    qsort(pb, nb, sizeof(*pb), cmp_site);
    qsort(pa, na, sizeof(*pa), cmp_site);
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        size_t ie = i, je = j;
        int c = i < na && j < nb ? (same_group(pa[i], pb[j]) ? 0 : cmp_site(&pa[i], &pb[j])) : i < na ? -1 : 1;
        if (c <= 0)
            while (ie < na && same_group(pa[ie], pa[i]))
                ie++;
        if (c >= 0)
            while (je < nb && same_group(pb[je], pb[j]))
                je++;
        size_t ca = ie - i, cb = je - j;
        /* Oldest instances persist; the newest (ca - cb) are new. */
        for (size_t k = 0; k < ca; k++)
            pa[i + k]->state = k < cb ? LW_PERSISTING : LW_NEW;
        for (size_t k = 0; k < cb; k++)
            pb[j + k]->state = k < ca ? LW_PERSISTING : LW_FIXED;
        i = ie;
        j = je;
    }
    free(pb);
    free(pa);
}

static int verdict_rank(enum lw_verdict v)
{
    return v == LW_VERDICT_STUCK ? 0 : v == LW_VERDICT_LEAKED ? 1 : 2;
}

static int cmp_finding(const void *a, const void *b)
{
    const struct lw_finding *x = a, *y = b;
    if (verdict_rank(x->verdict) != verdict_rank(y->verdict))
        return verdict_rank(x->verdict) - verdict_rank(y->verdict);
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->site, y->site);
}

/* Groups instances of one state into findings. */
static void build(struct lw_symbolizer *z, struct lw_analysis *an, enum lw_diff_state st, bool from_counts,
                  size_t prev_count_of(const struct lw_inst *, void *), void *cookie, struct lw_finding **out,
                  size_t *nout)
{
    size_t n = 0;
    struct lw_inst **p = lw_xcalloc(an->ninsts, sizeof(*p));
    for (size_t i = 0; i < an->ninsts; i++) {
        struct lw_inst *in = &an->insts[i];
        if (!in->suppressed && !in->accepted && in->state == st)
            p[n++] = in;
    }
    qsort(p, n, sizeof(*p), cmp_site);
    size_t ng = 0;
    struct lw_finding *f = NULL;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && same_group(p[e], p[i]))
            e++;
        f = lw_xrealloc(f, (ng + 1) * sizeof(*f));
        /* Representative: the newest instance (last after cmp_site). */
        struct lw_inst *tmp = p[i];
        p[i] = p[e - 1];
        p[e - 1] = tmp;
        lw_finding_fill(z, &f[ng], p + i, e - i);
        size_t before = from_counts && prev_count_of ? prev_count_of(p[i], cookie) : 0;
        if (before > 0) {
            char *d = lw_xasprintf("%s%scount %zu in BEFORE, %zu more in AFTER", f[ng].detail ? f[ng].detail : "",
                                   f[ng].detail ? "; " : "", before, e - i);
            free(f[ng].detail);
            f[ng].detail = d;
        }
        ng++;
        i = e;
    }
    free(p);
    if (ng)
        qsort(f, ng, sizeof(*f), cmp_finding);
    *out = f;
    *nout = ng;
}

static size_t persisting_count(const struct lw_inst *in, void *cookie)
{
    struct lw_analysis *a = cookie;
    size_t n = 0;
    for (size_t i = 0; i < a->ninsts; i++)
        n += !a->insts[i].suppressed && a->insts[i].state == LW_PERSISTING && same_group(&a->insts[i], in);
    return n;
}

void lw_report_warn(struct lw_report *r, const char *line)
{
    r->warnings = lw_xrealloc(r->warnings, (r->n_warnings + 1) * sizeof(*r->warnings));
    r->warnings[r->n_warnings++] = lw_xstrdup(line);
}

struct lw_report *lw_diff(struct lw_symbolizer *z, const struct lw_snapshot *before, const struct lw_snapshot *after,
                          const struct lw_diff_opts *o)
{
    struct lw_report *r = lw_xcalloc(1, sizeof(*r));
    r->before_path = before ? lw_xstrdup(before->path) : NULL;
    r->after_path = lw_xstrdup(after->path);
    r->before_pid = before ? (int)before->pid : 0;
    r->after_pid = (int)after->pid;
    r->after_trigger = after->trigger;
    r->exe = lw_xstrdup(after->exe);
    r->grace_ms = o->grace_ms;
    r->fail_on = o->fail_on;
    if (after->nmodules) {
        r->modules = lw_xcalloc(after->nmodules, sizeof(*r->modules));
        r->n_modules = after->nmodules;
        for (size_t i = 0; i < after->nmodules; i++) {
            const struct lw_snap_module *m = &after->modules[i];
            r->modules[i] = (struct lw_module){lw_xstrdup(m->path), lw_xstrdup(m->build_id), m->start, m->end,
                                               m->base};
        }
    }
    r->same_process = before && before->pid == after->pid &&
                      ((!before->exe && !after->exe) ||
                       (before->exe && after->exe && strcmp(before->exe, after->exe) == 0)) &&
                      before->taken_mono_ns <= after->taken_mono_ns;
    if (before && before->exe && after->exe && strcmp(before->exe, after->exe) != 0) {
        char *w = lw_xasprintf("BEFORE and AFTER are snapshots of different programs (%s, pid %lld; %s, pid %lld): "
                               "their findings were compared by site counts, which only means something for the "
                               "same program",
                               before->exe, (long long)before->pid, after->exe, (long long)after->pid);
        lw_report_warn(r, w);
        free(w);
    }
    if (before && before->pid == after->pid && before->taken_mono_ns > after->taken_mono_ns)
        lw_report_warn(r, "BEFORE was taken after AFTER (arguments swapped?); comparing by site counts");

    struct lw_analysis A, B;
    memset(&B, 0, sizeof(B));
    lw_analyse(z, after, o->grace_ms, &A);
    if (before)
        lw_analyse(z, before, o->grace_ms, &B);
    if (o->supp) {
        for (size_t i = 0; i < A.ninsts; i++)
            A.insts[i].suppressed = lw_supp_match(o->supp, z, &A.insts[i], true) >= 0;
        for (size_t i = 0; i < B.ninsts; i++)
            B.insts[i].suppressed = lw_supp_match(o->supp, z, &B.insts[i], false) >= 0;
    }
    if (!before) {
        for (size_t i = 0; i < A.ninsts; i++)
            A.insts[i].state = LW_NEW;
    } else if (r->same_process) {
        match_identity(&B, &A);
    } else {
        match_counts(&B, &A);
    }
    if (o->baseline) {
        char site[17];
        for (size_t i = 0; i < A.ninsts; i++) {
            struct lw_inst *in = &A.insts[i];
            if (in->suppressed || in->state != LW_NEW)
                continue;
            lw_site_hex(in->site, site);
            if (lw_baseline_accepts(o->baseline, in->kind, in->verdict, site)) {
                in->accepted = true;
                r->baseline_accepted++;
            }
        }
        for (size_t i = 0; i < o->baseline->n; i++) {
            const struct lw_base_entry *e = &o->baseline->e[i];
            if (!e->expired)
                continue;
            r->baseline_expired = lw_xrealloc(r->baseline_expired, (r->n_baseline_expired + 1) * sizeof(char *));
            r->baseline_expired[r->n_baseline_expired++] =
                lw_xasprintf("%s:%d: %s:%s%s%s expired on %s and is no longer accepted", o->baseline->path, e->line,
                             e->kind, e->site, e->owner ? " owner=" : "", e->owner ? e->owner : "", e->expires);
        }
    }
    bool counts = before && !r->same_process;
    build(z, &A, LW_NEW, counts, counts ? persisting_count : NULL, &A, &r->new_findings, &r->n_new);
    build(z, &A, LW_PERSISTING, false, NULL, NULL, &r->persisting, &r->n_persisting);
    if (before)
        build(z, &B, LW_FIXED, false, NULL, NULL, &r->fixed, &r->n_fixed);

    if (o->supp) {
        /* the user's rules always (a rule that never matched is news); the
         * default list's only when they matched, named by their library */
        r->suppressions = lw_xcalloc(o->supp->n ? o->supp->n : 1, sizeof(*r->suppressions));
        for (size_t i = 0; i < o->supp->n; i++) {
            const struct lw_supp_rule *u = &o->supp->rules[i];
            if (u->is_default && !u->hits)
                continue;
            struct lw_suppression_use *x = &r->suppressions[r->n_suppressions++];
            x->pattern = u->is_default ? lw_xasprintf("%s (default: %s)", u->text, u->library ? u->library : "runtime")
                                       : lw_xstrdup(u->text);
            x->hits = u->hits;
        }
    }
    const char *const *w;
    size_t nw = lw_symbolizer_warnings(z, &w);
    for (size_t i = 0; i < nw; i++)
        lw_report_warn(r, w[i]);
    lw_analysis_free(&A);
    if (before)
        lw_analysis_free(&B);
    lw_report_decide(r, o->fail_on);
    return r;
}

/* The one place that decides what fails (docs/design.md §4.1): a new
 * finding whose kind/verdict bit is in fail_on (baseline-accepted and
 * suppressed instances never reach new_findings). */
void lw_report_decide(struct lw_report *r, unsigned fail_on)
{
    r->fail_on = fail_on;
    r->failing = 0;
    for (size_t i = 0; i < r->n_new; i++) {
        struct lw_finding *f = &r->new_findings[i];
        f->fails = (lw_fail_bit(f->kind, f->verdict) & fail_on) != 0;
        if (f->fails)
            r->failing += f->count;
    }
    for (size_t i = 0; i < r->n_persisting; i++)
        r->persisting[i].fails = false;
    for (size_t i = 0; i < r->n_fixed; i++)
        r->fixed[i].fails = false;
    r->fails = r->failing > 0;
}

size_t lw_report_failing(const struct lw_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_new; i++)
        n += r->new_findings[i].fails;
    return n;
}

static void free_findings(struct lw_finding *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lw_finding_free(&f[i]);
    free(f);
}

void lw_report_free(struct lw_report *r)
{
    if (!r)
        return;
    free(r->before_path);
    free(r->after_path);
    free(r->exe);
    free_findings(r->new_findings, r->n_new);
    free_findings(r->persisting, r->n_persisting);
    free_findings(r->fixed, r->n_fixed);
    for (size_t i = 0; i < r->n_suppressions; i++)
        free(r->suppressions[i].pattern);
    free(r->suppressions);
    for (size_t i = 0; i < r->n_baseline_expired; i++)
        free(r->baseline_expired[i]);
    free(r->baseline_expired);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->n_modules; i++) {
        free(r->modules[i].path);
        free(r->modules[i].build_id);
    }
    free(r->modules);
    free(r);
}
