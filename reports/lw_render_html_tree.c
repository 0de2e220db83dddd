/* lw_render_html_tree.c — the pictures of the HTML format: the diff
 * report's lineage tree (from the creator chains of its findings) and the
 * snapshot page of `leakwatch show --format=html` (its context tree, every
 * thread group as a card, parked ones apart).
 *
 * A snapshot of a server can hold 10,000 request scopes. Sibling scopes of
 * the same shape (same owner function, kind, ended or not, same resources
 * hanging under them, children of the same shapes) are drawn once with
 * "×N" and their counts summed, so the picture has as many boxes as the
 * program has kinds of scope, not threads. Context parents come from the
 * input: bad indexes and cycles are never followed (each node is reached
 * once, unreachable ones are drawn as extra roots).
 */
#include "lw_render_html.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)
#define MAX_DEPTH 200
#define MAX_RUNS 200 /* distinct child shapes drawn under one box */
#define MAX_CHIPS 60 /* resources drawn in one box; the rest are counted */

struct chip {
    size_t ref;   /* card (diff) or group (snapshot) index */
    size_t count;
};

struct tnode {
    const char *fn, *label, *kind;
    int tid;
    bool root, dead;
    const char *cause;       /* diff: the model's cause; may be NULL */
    int64_t ago_ms;          /* diff: -1 unknown */
    const char *cancel;      /* snapshot: "cancelled 2.1 s ago (exited)" */
    size_t ntimers, nsockets;
    struct chip *chips;
    size_t nchips, capchips;
    size_t parent, first, next, last;
    uint64_t sig;
    bool vis;
};

struct tree {
    struct tnode *n;
    size_t len, cap;
    int err;
};

static size_t tree_add(struct tree *t, size_t parent)
{
    if (t->len == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        struct tnode *nn = realloc(t->n, nc * sizeof *nn);
        if (!nn) {
            t->err = -ENOMEM;
            return NONE;
        }
        t->n = nn, t->cap = nc;
    }
    struct tnode *x = &t->n[t->len];
    memset(x, 0, sizeof *x);
    x->parent = parent, x->first = x->next = x->last = NONE;
    x->ago_ms = -1;
    if (parent != NONE) {
        struct tnode *p = &t->n[parent];
        if (p->last == NONE)
            p->first = t->len;
        else
            t->n[p->last].next = t->len;
        p->last = t->len;
    }
    return t->len++;
}

static void add_chip(struct tree *t, size_t node, size_t ref, size_t count)
{
    struct tnode *x = &t->n[node];
    for (size_t i = 0; i < x->nchips; i++)
        if (x->chips[i].ref == ref) {
            x->chips[i].count += count;
            return;
        }
    if (x->nchips == x->capchips) {
        size_t nc = x->capchips ? x->capchips * 2 : 4;
        struct chip *c = realloc(x->chips, nc * sizeof *c);
        if (!c) {
            t->err = -ENOMEM;
            return;
        }
        x->chips = c, x->capchips = nc;
    }
    x->chips[x->nchips++] = (struct chip){ref, count};
}

static void tree_free(struct tree *t)
{
    for (size_t i = 0; i < t->len; i++)
        free(t->n[i].chips);
    free(t->n);
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* ---------------- drawing ---------------- */

typedef void (*chip_fn)(FILE *out, const void *ctx, size_t ref, size_t count, bool parked_row);
typedef bool (*parked_fn)(const void *ctx, size_t ref);

struct draw {
    FILE *out;
    struct tree *t;
    const void *ctx;
    chip_fn chip;
    parked_fn parked;
};

static int cmp_sig(const void *a, const void *b, void *arg)
{
    const struct tnode *n = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (n[x].sig != n[y].sig)
        return n[x].sig < n[y].sig ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void draw_box(struct draw *d, const size_t *v, size_t nv, bool under)
{
    FILE *out = d->out;
    const struct tnode *x = &d->t->n[v[0]];
    fprintf(out, "<div class=\"scope%s%s%s\">", x->root ? " root" : "", x->dead ? " dead" : "",
            under && !x->dead ? " under" : "");
    fputs("<span class=\"fn\">", out);
    lw_put_html(out, x->fn ? x->fn : "??");
    fputs("</span>", out);
    if (nv > 1)
        fprintf(out, " <span class=\"mult\">&times;%zu</span>", nv);
    if (x->kind && strcmp(x->kind, "thread") != 0 && strcmp(x->kind, "root") != 0) {
        fputs(" <span class=\"tid\">", out);
        lw_put_html(out, x->kind);
        fputs(" scope</span>", out);
    }
    if (nv == 1 && x->tid > 0)
        fprintf(out, " <span class=\"tid\">thread %d</span>", x->tid);
    size_t other_labels = 0;
    for (size_t i = 1; x->label && i < nv; i++)
        other_labels += !same(d->t->n[v[i]].label, x->label);
    if (x->label) {
        fputs(" <span class=\"label\">&ldquo;", out);
        lw_put_html(out, x->label);
        fputs("&rdquo;</span>", out);
        if (other_labels)
            fprintf(out, " <span class=\"tid\">(+%zu other label%s)</span>", other_labels,
                    other_labels == 1 ? "" : "s");
    }
    if (x->dead) {
        fputs(" <span class=\"ended\">", out);
        if (x->cancel) {
            lw_put_html(out, x->cancel);
        } else {
            fputs("ended", out);
            if (x->ago_ms >= 0) {
                fputs(" ", out);
                lw_html_dur(out, x->ago_ms);
                fputs(" ago", out);
            }
            if (x->cause) {
                fputs(" (", out);
                lw_put_html(out, x->cause);
                fputs(")", out);
            }
        }
        fputs("</span>", out);
    }
    size_t timers = 0, sockets = 0;
    for (size_t i = 0; i < nv; i++)
        timers += d->t->n[v[i]].ntimers, sockets += d->t->n[v[i]].nsockets;
    if (timers || sockets)
        fprintf(out, " <span class=\"cnt\">%zu timer%s, %zu socket%s/fd%s</span>", timers, timers == 1 ? "" : "s",
                sockets, sockets == 1 ? "" : "s", sockets == 1 ? "" : "s");

    /* Resources of every merged scope, summed per card/group. */
    struct tree acc = {0};
    size_t sum = tree_add(&acc, NONE);
    for (size_t i = 0; sum != NONE && i < nv; i++)
        for (size_t c = 0; c < d->t->n[v[i]].nchips; c++)
            add_chip(&acc, sum, d->t->n[v[i]].chips[c].ref, d->t->n[v[i]].chips[c].count);
    if (acc.err)
        d->t->err = acc.err;
    if (sum != NONE) {
        const struct tnode *s = &acc.n[sum];
        for (int row = 0; row < 2; row++) {
            size_t shown = 0, more = 0, more_count = 0;
            for (size_t c = 0; c < s->nchips; c++) {
                bool p = d->parked && d->parked(d->ctx, s->chips[c].ref);
                if (p != (row == 1))
                    continue;
                if (shown == MAX_CHIPS) {
                    more++, more_count += s->chips[c].count;
                    continue;
                }
                if (!shown)
                    fputs(row ? "<span class=\"parked-row\"><span>parked, not leaked:</span>" : "<span class=\"res\">",
                          out);
                shown++;
                d->chip(out, d->ctx, s->chips[c].ref, s->chips[c].count, row == 1);
            }
            if (more)
                fprintf(out, " <span class=\"more\" data-count=\"%zu\">&hellip; and %zu more (%zu instance%s): see "
                             "the cards</span>",
                        more_count, more, more_count, more_count == 1 ? "" : "s");
            if (shown)
                fputs("</span>", out);
        }
    }
    tree_free(&acc);
    fputs("</div>\n", out);
}

/* Draws the scopes v[0..nv) (all of one shape) as one box, then their
 * children, merged by shape. */
static void draw(struct draw *d, const size_t *v, size_t nv, bool under, int depth)
{
    FILE *out = d->out;
    const struct tnode *x = &d->t->n[v[0]];
    fputs("<li>", out);
    draw_box(d, v, nv, under);
    under = under || x->dead;
    size_t nk = 0;
    for (size_t i = 0; i < nv; i++)
        for (size_t c = d->t->n[v[i]].first; c != NONE; c = d->t->n[c].next)
            nk += d->t->n[c].vis;
    if (!nk) {
        fputs("</li>\n", out);
        return;
    }
    if (depth >= MAX_DEPTH) {
        fprintf(out, "<ul><li><span class=\"empty\">%zu deeper scope%s not drawn</span></li></ul></li>\n", nk,
                nk == 1 ? "" : "s");
        return;
    }
    size_t *k = malloc(nk * sizeof *k);
    if (!k) {
        d->t->err = -ENOMEM;
        fputs("</li>\n", out);
        return;
    }
    nk = 0;
    for (size_t i = 0; i < nv; i++)
        for (size_t c = d->t->n[v[i]].first; c != NONE; c = d->t->n[c].next)
            if (d->t->n[c].vis)
                k[nk++] = c;
    qsort_r(k, nk, sizeof *k, cmp_sig, d->t->n);
    fputs("<ul>\n", out);
    size_t runs = 0, skipped = 0;
    for (size_t i = 0; i < nk;) {
        size_t j = i + 1;
        while (j < nk && d->t->n[k[j]].sig == d->t->n[k[i]].sig)
            j++;
        if (runs++ < MAX_RUNS)
            draw(d, k + i, j - i, under, depth + 1);
        else
            skipped += j - i;
        i = j;
    }
    if (skipped)
        fprintf(out, "<li><span class=\"empty\">&hellip; %zu more scope%s of other shapes not drawn</span></li>\n",
                skipped, skipped == 1 ? "" : "s");
    fputs("</ul></li>\n", out);
    free(k);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static uint64_t str_hash(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull;
}

/* Shape of a node and visibility, children before parents (order is a
 * list of every node in which each comes after its parent). The shape
 * ignores tids and labels, so per-request scopes merge; it sums its
 * children's shapes, so it does not depend on their order. */
static void shapes(struct tree *t, const size_t *order, bool (*own_vis)(const struct tnode *))
{
    for (size_t i = t->len; i-- > 0;) {
        struct tnode *x = &t->n[order[i]];
        uint64_t h = str_hash(0xcbf29ce484222325ull, x->fn);
        h = str_hash(h, x->kind);
        const char *cause = x->cancel ? strrchr(x->cancel, '(') : x->cause;
        h = str_hash(h, x->dead ? (cause ? cause : "dead") : "live");
        h += mix(x->ntimers * 1000003u + x->nsockets + 17);
        for (size_t c = 0; c < x->nchips; c++)
            h += mix(x->chips[c].ref * 0x9e3779b97f4a7c15ull + x->chips[c].count);
        bool vis = own_vis(x);
        for (size_t c = x->first; c != NONE; c = t->n[c].next)
            if (t->n[c].vis) {
                h += mix(t->n[c].sig);
                vis = true;
            }
        x->sig = mix(h);
        x->vis = vis;
    }
}

static void draw_roots(struct draw *d, const size_t *order)
{
    size_t nr = 0;
    for (size_t i = 0; i < d->t->len; i++)
        nr += d->t->n[i].parent == NONE && d->t->n[i].vis;
    fputs("<div class=\"tree-box\">\n<ul class=\"tree\">\n", d->out);
    size_t *r = nr ? malloc(nr * sizeof *r) : NULL;
    if (nr && !r) {
        d->t->err = -ENOMEM;
        return;
    }
    nr = 0;
    for (size_t i = 0; i < d->t->len; i++)
        if (d->t->n[order[i]].parent == NONE && d->t->n[order[i]].vis)
            r[nr++] = order[i];
    qsort_r(r, nr, sizeof *r, cmp_sig, d->t->n);
    for (size_t i = 0; i < nr;) {
        size_t j = i + 1;
        while (j < nr && d->t->n[r[j]].sig == d->t->n[r[i]].sig)
            j++;
        draw(d, r + i, j - i, false, 0);
        i = j;
    }
    if (!nr)
        fputs("<li><span class=\"empty\">nothing to draw</span></li>\n", d->out);
    fputs("</ul>\n</div>\n", d->out);
    free(r);
}

/* ---------------- the diff report's lineage ---------------- */

static size_t child_of(struct tree *t, size_t parent, int tid, const char *fn, const char *label)
{
    size_t c = NONE;
    if (parent == NONE) {
        for (size_t i = 0; i < t->len; i++)
            if (t->n[i].parent == NONE && t->n[i].tid == tid && same(t->n[i].fn, fn)) {
                c = i;
                break;
            }
    } else {
        for (c = t->n[parent].first; c != NONE; c = t->n[c].next)
            if (t->n[c].tid == tid && same(t->n[c].fn, fn))
                break;
    }
    if (c != NONE)
        return c;
    c = tree_add(t, parent);
    if (c != NONE) {
        t->n[c].tid = tid;
        t->n[c].fn = fn;
        t->n[c].label = label;
        t->n[c].root = parent == NONE;
        t->n[c].kind = "thread";
    }
    return c;
}

static void report_chip(FILE *out, const void *ctx, size_t ref, size_t count, bool parked_row)
{
    (void)parked_row;
    const struct lw_html_card *c = &((const struct lw_html_card *)ctx)[ref];
    const struct lw_finding *f = c->f;
    fprintf(out, "<a class=\"chip v-%s st-%s\" href=\"#card-%zu-%s-%zu\" data-kind=\"%s\" data-verdict=\"%s\" "
                 "data-section=\"%s\" data-count=\"%zu\"><b>%zu</b> &times; ",
            lw_verdict_name(f->verdict), c->section, c->proc, c->section, c->idx, lw_kind_name(f->kind),
            lw_verdict_name(f->verdict), c->section, count, count);
    lw_put_html(out, f->title);
    fputs("</a>", out);
}

static bool always(const struct tnode *x)
{
    return x->nchips > 0;
}

int lw_html_report_tree(FILE *out, const struct lw_html_card *cards, size_t n)
{
    struct tree t = {0};
    for (size_t i = 0; i < n && !t.err; i++) {
        const struct lw_finding *f = cards[i].f;
        size_t cur = NONE;
        for (size_t h = f->ncreators; f->creators && h-- > 0 && !t.err;)
            cur = child_of(&t, cur, f->creators[h].tid, f->creators[h].function, f->creators[h].label);
        if (!f->ncreators || !f->creators)
            cur = child_of(&t, NONE, 0, "(creator unknown)", NULL);
        if (cur == NONE)
            break;
        /* The scope whose end made this a finding. */
        size_t dead = NONE;
        for (size_t a = cur; f->ctx_origin_tid && a != NONE; a = t.n[a].parent)
            if (t.n[a].tid == f->ctx_origin_tid) {
                dead = a;
                break;
            }
        if (dead == NONE && f->ctx_cause == LW_CAUSE_PROCESS_EXIT)
            for (dead = cur; t.n[dead].parent != NONE;)
                dead = t.n[dead].parent;
        if (dead != NONE && !t.n[dead].dead) {
            t.n[dead].dead = true;
            t.n[dead].cause = lw_cause_name(f->ctx_cause);
            t.n[dead].ago_ms = f->ctx_cancelled_ago_ms;
        }
        add_chip(&t, cur, i, f->count);
    }
    int rc = t.err;
    size_t *order = t.len ? malloc(t.len * sizeof *order) : NULL;
    if (!rc && t.len && !order)
        rc = -ENOMEM;
    if (!rc) {
        /* Nodes are only ever added under an existing one: index order
         * puts every parent first. */
        for (size_t i = 0; i < t.len; i++)
            order[i] = i;
        shapes(&t, order, always);
        /* Distinct creators must stay apart in the lineage: no merging
         * here (sites are already grouped), so make every shape unique. */
        for (size_t i = 0; i < t.len; i++)
            t.n[i].sig = i;
        if (!n)
            fputs("<p class=\"empty\">no threads, timers or sockets left behind</p>\n", out);
        else {
            struct draw d = {out, &t, cards, report_chip, NULL};
            draw_roots(&d, order);
        }
        rc = t.err;
    }
    free(order);
    tree_free(&t);
    return rc;
}

/* ---------------- the snapshot page (`leakwatch show`) ---------------- */

static const char *group_verdict(const struct lw_dump_group *g)
{
    const char *v = lw_status_name(g->verdict); /* NULL: no verdict */
    return v ? v : "live";
}

static bool group_parked(const void *ctx, size_t ref)
{
    const struct lw_dump *d = ctx;
    return strcmp(group_verdict(&d->groups[ref]), "parked") == 0;
}

static void dump_chip(FILE *out, const void *ctx, size_t ref, size_t count, bool parked_row)
{
    (void)parked_row;
    const struct lw_dump_group *g = &((const struct lw_dump *)ctx)->groups[ref];
    const char *v = group_verdict(g);
    fputs("<a class=\"chip v-", out);
    lw_put_html(out, v);
    fprintf(out, "\" href=\"#grp-%zu\" data-kind=\"thread\" data-verdict=\"", ref);
    lw_put_html(out, v);
    fprintf(out, "\" data-count=\"%zu\"><b>%zu</b> &times; ", count, count);
    lw_put_html(out, g->start_routine ? g->start_routine : g->name ? g->name : "thread");
    fputs(" ", out);
    lw_put_html(out, v);
    fputs("</a>", out);
}

static bool scope_own_vis(const struct tnode *x)
{
    return x->root || (x->kind && strcmp(x->kind, "explicit") == 0) || x->ntimers || x->nsockets || x->nchips;
}

static void put_group_card(FILE *out, const struct lw_dump_group *g, size_t i, bool open)
{
    const char *v = group_verdict(g);
    fputs("<details class=\"card v-", out);
    lw_put_html(out, v);
    fprintf(out, "\" id=\"grp-%zu\" data-kind=\"thread\" data-verdict=\"", i);
    lw_put_html(out, v);
    fprintf(out, "\" data-count=\"%zu\"%s>\n<summary><span class=\"badge\">", g->count, open ? " open" : "");
    lw_put_html(out, v);
    fprintf(out, "</span> <span class=\"count\">%zu</span> &times; <span class=\"title\">", g->count);
    lw_put_html(out, g->start_routine ? g->start_routine : g->name ? g->name : "thread");
    fputs("</span> &mdash; ", out);
    lw_put_html(out, g->state ? g->state : "?");
    fputs("</summary>\n<dl>\n", out);
    if (g->name) {
        fputs("<dt>name</dt><dd><span class=\"name\">", out);
        lw_put_html(out, g->name);
        fputs("</span></dd>\n", out);
    }
    fputs("<dt>kind</dt><dd>", out);
    lw_put_html(out, lw_thread_kind_name(g->kind));
    fputs("</dd>\n", out);
    if (g->ctx_label) {
        fputs("<dt>context</dt><dd><span class=\"label\">&ldquo;", out);
        lw_put_html(out, g->ctx_label);
        fputs("&rdquo;</span></dd>\n", out);
    }
    if (g->ncreators) {
        fputs("<dt>creators</dt><dd>", out);
        lw_html_creators(out, g->creators, g->ncreators);
        fputs("</dd>\n", out);
    }
    fputs("<dt>tids</dt><dd>", out);
    lw_html_ids(out, g->tids, g->count);
    fputs("</dd>\n</dl>\n", out);
    if (g->stack.n)
        lw_html_stack(out, "blocked stack", &g->stack, true);
    lw_html_stack(out, "creation stack", &g->creation_stack, !g->stack.n);
    fputs("</details>\n", out);
}

/* Breadth-first from the roots, then from anything not reached (bad
 * parent or a cycle): every context once, each after its tree parent. */
static int dump_tree(struct tree *t, const struct lw_dump *d, size_t *order)
{
    size_t n = d->nctxs, head = 0, tail = 0;
    size_t *kid_cnt = calloc(n + 1, sizeof *kid_cnt), *kids = calloc(n + 1, sizeof *kids);
    bool *seen = calloc(n + 1, sizeof *seen);
    size_t *tp = calloc(n + 1, sizeof *tp);
    if (!kid_cnt || !kids || !seen || !tp) {
        free(kid_cnt), free(kids), free(seen), free(tp);
        return -ENOMEM;
    }
    /* children in CSR form, by parent index */
    for (size_t c = 0; c < n; c++)
        if (d->ctxs[c].parent >= 0 && (size_t)d->ctxs[c].parent < n)
            kid_cnt[d->ctxs[c].parent + 1]++;
    for (size_t c = 0; c < n; c++)
        kid_cnt[c + 1] += kid_cnt[c];
    size_t *fill = calloc(n + 1, sizeof *fill);
    if (!fill) {
        free(kid_cnt), free(kids), free(seen), free(tp);
        return -ENOMEM;
    }
    for (size_t c = 0; c < n; c++)
        if (d->ctxs[c].parent >= 0 && (size_t)d->ctxs[c].parent < n) {
            size_t p = (size_t)d->ctxs[c].parent;
            kids[kid_cnt[p] + fill[p]++] = c;
        }
    free(fill);
    for (int pass = 0; pass < 2; pass++)
        for (size_t r = 0; r < n; r++) {
            if (seen[r] || (pass == 0 && d->ctxs[r].parent != -1))
                continue;
            seen[r] = true;
            tp[r] = NONE;
            order[tail++] = r;
            while (head < tail) {
                size_t c = order[head++];
                for (size_t k = kid_cnt[c]; k < kid_cnt[c + 1]; k++)
                    if (!seen[kids[k]]) {
                        seen[kids[k]] = true;
                        tp[kids[k]] = c;
                        order[tail++] = kids[k];
                    }
            }
        }
    /* Tree nodes in BFS order: node i of t is context order[i]. */
    size_t *pos = kid_cnt; /* reuse: context index -> node index */
    for (size_t i = 0; i < n; i++)
        pos[order[i]] = i;
    for (size_t i = 0; i < n && !t->err; i++) {
        const struct lw_ctx_node *c = &d->ctxs[order[i]];
        size_t x = tree_add(t, tp[order[i]] == NONE ? NONE : pos[tp[order[i]]]);
        if (x == NONE)
            break;
        struct tnode *nd = &t->n[x];
        nd->fn = c->owner_function ? c->owner_function : c->parent < 0 ? "main" : "??";
        nd->label = c->label;
        nd->kind = lw_ctx_kind_name(c->kind);
        nd->tid = c->owner_tid;
        nd->root = tp[order[i]] == NONE;
        nd->dead = c->cancel != NULL;
        nd->cancel = c->cancel;
        nd->ntimers = c->ntimers;
        nd->nsockets = c->nsockets;
    }
    /* Hang each thread under the scope that owns it: a thread's own
     * context's parent (it was started there), or its context when the
     * context is not its own (an explicit scope it runs under). */
    for (size_t g = 0; g < d->ngroups && !t->err; g++) {
        const struct lw_dump_group *G = &d->groups[g];
        for (size_t k = 0; G->tids && G->ctx_of && k < G->count; k++) {
            int c = G->ctx_of[k];
            if (c < 0 || (size_t)c >= n)
                continue;
            size_t s = (size_t)c;
            if (d->ctxs[c].owner_tid == G->tids[k] && tp[s] != NONE && d->ctxs[c].kind == LW_CK_THREAD)
                s = tp[s];
            add_chip(t, pos[s], g, 1);
        }
    }
    for (size_t i = 0; i < t->len; i++)
        order[i] = i;
    free(kid_cnt), free(kids), free(seen), free(tp);
    return t->err;
}

int lw_render_dump_html(FILE *out, const struct lw_dump *d, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !d)
        return -EINVAL;
    const char *prog = d->exe ? lw_html_base(d->exe) : "snapshot";
    /* Every status of the model's list (lw_vocab.h), then "live" (none):
     * a new status gets its filter and its count here. */
    enum { NSTATUS = LW_VOCAB_COUNT(LW_STATUS_LIST) };
    const char *verdicts[NSTATUS + 1];
    size_t nv = 0, by[NSTATUS + 1] = {0}, other = 0, bad = 0;
    for (int st = 1; st <= NSTATUS; st++)
        verdicts[nv++] = lw_status_name((enum lw_status)st);
    verdicts[nv++] = "live";
    for (size_t g = 0; g < d->ngroups; g++) {
        size_t k = 0;
        while (k < nv && strcmp(verdicts[k], group_verdict(&d->groups[g])) != 0)
            k++;
        if (k < nv)
            by[k] += d->groups[g].count;
        else
            other += d->groups[g].count;
        if (d->groups[g].verdict != LW_ST_NONE && d->groups[g].verdict != LW_ST_PARKED)
            bad += d->groups[g].count;
    }
    lw_html_head(out, prog, d->pid);
    fputs("<header>\n<h1>leakwatch snapshot &mdash; <span class=\"prog\">", out);
    lw_put_html(out, prog);
    fprintf(out, "</span></h1>\n<p id=\"summary\" class=\"summary %s\">leakwatch: %zu thread%s (",
            bad ? "fail" : "pass", d->nthreads, d->nthreads == 1 ? "" : "s");
    bool first = true;
    for (size_t k = 0; k < nv; k++)
        if (by[k]) {
            fprintf(out, "%s%zu %s", first ? "" : ", ", by[k], verdicts[k]);
            first = false;
        }
    if (other)
        fprintf(out, "%s%zu other", first ? "" : ", ", other);
    fprintf(out, "), %zu timer%s, %zu socket%s</p>\n<p class=\"meta\"><code>", d->ntimers,
            d->ntimers == 1 ? "" : "s", d->nsockets, d->nsockets == 1 ? "" : "s");
    lw_put_html(out, d->path ? d->path : "?");
    fprintf(out, "</code> (pid %d", d->pid);
    fputs(", ", out);
    lw_put_html(out, lw_trigger_name(d->trigger));
    fputs(" snapshot", out);
    fputs(")", out);
    if (d->exe) {
        fputs(" &middot; <code>", out);
        lw_put_html(out, d->exe);
        fputs("</code>", out);
    }
    fputs("</p>\n</header>\n<nav id=\"filters\" data-unit=\"thread groups\">\n<fieldset><legend>verdict</legend>\n", out);
    for (size_t k = 0; k < nv; k++)
        lw_html_checkbox(out, "verdict", verdicts[k], by[k]);
    fputs("</fieldset>\n", out);
    lw_html_nav_end(out);

    fputs("<main>\n<section id=\"lineage\">\n<h2>Context tree</h2>\n<p class=\"hint\">Each box is a scope (the "
          "process, a thread's, or a labelled context) under the scope that started it; red boxes ended. Threads "
          "hang under the scope that started them; sibling scopes of the same shape are drawn once "
          "(&times;N). Parked threads wait on something a live scope owns: not leaked.</p>\n",
          out);
    struct tree t = {0};
    size_t *order = calloc(d->nctxs + 1, sizeof *order);
    int rc = order ? dump_tree(&t, d, order) : -ENOMEM;
    if (!rc) {
        shapes(&t, order, scope_own_vis);
        struct draw dr = {out, &t, d, dump_chip, group_parked};
        draw_roots(&dr, order);
        rc = t.err;
    }
    free(order);
    tree_free(&t);
    fputs("</section>\n", out);

    static const struct {
        const char *id, *title;
        int which; /* 0 findings, 1 parked, 2 live */
    } secs[] = {{"findings", "Leaked, stuck and unjoined", 0}, {"parked", "Parked (not leaked)", 1},
                {"live", "Other threads", 2}};
    size_t opened = 0;
    for (size_t s = 0; s < 3; s++) {
        fprintf(out, "<section id=\"sec-%s\">\n<h2>%s</h2>\n", secs[s].id, secs[s].title);
        size_t shown = 0;
        for (size_t g = 0; g < d->ngroups; g++) {
            enum lw_status st = d->groups[g].verdict;
            int which = st == LW_ST_PARKED ? 1 : st == LW_ST_NONE ? 2 : 0;
            if (which != secs[s].which)
                continue;
            bool open = which == 0 && opened < 12;
            opened += open;
            put_group_card(out, &d->groups[g], g, open);
            shown++;
        }
        if (!shown)
            fputs("<p class=\"empty\">none</p>\n", out);
        fputs("</section>\n", out);
    }
    fputs("</main>\n", out);
    lw_html_tail(out);
    if (!rc && ferror(out))
        rc = -EIO;
    return rc;
}
