/* lw_render_common.c — what every format shares: names, the renderer table,
 * ordering (worst first), tallies and the summary line, durations, frames,
 * stacks and creator chains in their text form.
 *
 * Reads the finished model only; never changes it, never symbolizes.
 */
#include "lw_render_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *lw_kind_name(enum lw_kind k)
{
    switch (k) {
    case LW_KIND_THREAD: return "thread";
    case LW_KIND_TIMER: return "timer";
    case LW_KIND_SOCKET: return "socket";
    }
    return "unknown";
}

const char *lw_verdict_name(enum lw_verdict v)
{
    switch (v) {
    case LW_VERDICT_LEAKED: return "leaked";
    case LW_VERDICT_UNJOINED: return "unjoined";
    case LW_VERDICT_STUCK: return "stuck";
    }
    return "unknown";
}

lw_renderer_fn lw_renderer_by_name(const char *name)
{
    static const struct {
        const char *name;
        lw_renderer_fn fn;
    } table[] = {
        {"text", lw_render_text},   {"json", lw_render_json},         {"junit", lw_render_junit},
        {"sarif", lw_render_sarif}, {"markdown", lw_render_markdown}, {"md", lw_render_markdown},
    };
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].fn;
    return NULL;
}

/* Lower is worse: a stuck thread can never recover, a leaked one keeps
 * running, an unjoined one only holds its stack. */
static int verdict_rank(enum lw_verdict v)
{
    switch (v) {
    case LW_VERDICT_STUCK: return 0;
    case LW_VERDICT_LEAKED: return 1;
    case LW_VERDICT_UNJOINED: return 2;
    }
    return 3;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_findings(const void *pa, const void *pb)
{
    const struct lw_finding *a = *(const struct lw_finding *const *)pa;
    const struct lw_finding *b = *(const struct lw_finding *const *)pb;
    int ra = verdict_rank(a->verdict), rb = verdict_rank(b->verdict);
    if (ra != rb)
        return ra - rb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    int c = cmp_str(a->site, b->site);
    return c ? c : cmp_str(a->title, b->title);
}

const struct lw_finding **lw_order_findings(const struct lw_finding *f, size_t n)
{
    if (!n || !f)
        return NULL;
    const struct lw_finding **v = calloc(n, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = &f[i];
    qsort(v, n, sizeof *v, cmp_findings);
    return v;
}

static unsigned idx3(unsigned x)
{
    return x < 3 ? x : 2;
}

void lw_tally_findings(struct lw_tally *t, const struct lw_finding *f, size_t n)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; f && i < n; i++) {
        t->by[idx3(f[i].verdict)][idx3(f[i].kind)] += f[i].count;
        t->total += f[i].count;
        t->sites++;
    }
}

static void put_what_vk(FILE *out, enum lw_verdict v, enum lw_kind k, size_t count)
{
    fprintf(out, "%s %s%s", lw_verdict_name(v), lw_kind_name(k), count == 1 ? "" : "s");
}

void lw_put_what(FILE *out, const struct lw_finding *f, size_t count)
{
    put_what_vk(out, f->verdict, f->kind, count);
}

void lw_put_tally(FILE *out, const struct lw_tally *t)
{
    /* Same order as the report: stuck, leaked, unjoined. */
    static const enum lw_verdict order[] = {LW_VERDICT_STUCK, LW_VERDICT_LEAKED,
                                            LW_VERDICT_UNJOINED};
    bool first = true;
    for (size_t i = 0; i < 3; i++)
        for (unsigned k = 0; k < 3; k++) {
            size_t c = t->by[order[i]][k];
            if (!c)
                continue;
            fprintf(out, "%s%zu ", first ? "" : ", ", c);
            put_what_vk(out, order[i], (enum lw_kind)k, c);
            first = false;
        }
}

void lw_put_summary(FILE *out, const struct lw_report *r)
{
    struct lw_tally tn, tp, tf;
    lw_tally_findings(&tn, r->new_findings, r->n_new);
    lw_tally_findings(&tp, r->persisting, r->n_persisting);
    lw_tally_findings(&tf, r->fixed, r->n_fixed);
    if (!tn.total) {
        fputs("leakwatch: no new findings", out);
        if (tp.total || tf.total)
            fprintf(out, ", %zu persisting, %zu fixed", tp.total, tf.total);
        return;
    }
    fprintf(out, "leakwatch: %zu new finding%s (", tn.total, tn.total == 1 ? "" : "s");
    lw_put_tally(out, &tn);
    fprintf(out, "), %zu persisting, %zu fixed", tp.total, tf.total);
}

char *lw_summary_str(const struct lw_report *r)
{
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    if (m) {
        lw_put_summary(m, r);
        fclose(m);
    }
    return line;
}

bool lw_finding_fails(const struct lw_report *r, const struct lw_finding *f)
{
    unsigned mask = r->fail_on ? r->fail_on : LW_FAIL_ALL;
    if (f->verdict == LW_VERDICT_UNJOINED)
        return mask & LW_FAIL_UNJOINED;
    if (f->verdict == LW_VERDICT_STUCK)
        return mask & LW_FAIL_STUCK;
    switch (f->kind) {
    case LW_KIND_THREAD: return mask & LW_FAIL_THREAD;
    case LW_KIND_TIMER: return mask & LW_FAIL_TIMER;
    case LW_KIND_SOCKET: return mask & LW_FAIL_SOCKET;
    }
    return true;
}

void lw_fmt_duration(char *buf, size_t len, int64_t ms)
{
    if (ms < 0)
        snprintf(buf, len, "an unknown time");
    else if (ms < 1000)
        snprintf(buf, len, "%" PRId64 " ms", ms);
    else if (ms < 60000)
        snprintf(buf, len, "%" PRId64 ".%" PRId64 " s", ms / 1000, (ms % 1000) / 100);
    else if (ms < 3600000)
        snprintf(buf, len, "%" PRId64 " min %" PRId64 " s", ms / 60000, (ms % 60000) / 1000);
    else
        snprintf(buf, len, "%" PRId64 " h %02" PRId64 " min", ms / 3600000,
                 (ms % 3600000) / 60000);
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

void lw_put_frame(FILE *out, const struct lw_sym_frame *fr)
{
    fprintf(out, "0x%016" PRIx64 " in ", fr->ip);
    if (fr->function) {
        lw_put_text(out, fr->function);
        if (fr->file) {
            putc(' ', out);
            lw_put_text(out, fr->file);
            if (fr->line > 0)
                fprintf(out, ":%d", fr->line);
        } else if (fr->module) {
            fputs(" (", out);
            lw_put_text(out, base_name(fr->module));
            fprintf(out, "+0x%" PRIx64 ")", fr->offset);
        }
    } else if (fr->module) {
        lw_put_text(out, base_name(fr->module));
        fprintf(out, "+0x%" PRIx64, fr->offset);
        if (fr->file) {
            putc(' ', out);
            lw_put_text(out, fr->file);
            if (fr->line > 0)
                fprintf(out, ":%d", fr->line);
        }
    } else {
        fputs("??", out);
    }
    if (fr->inlined)
        fputs(" (inlined)", out);
}

void lw_put_stack(FILE *out, const struct lw_sym_stack *st, int max_frames, const char *indent)
{
    if (!st || !st->n || !st->frames) {
        fprintf(out, "%s(no stack)\n", indent);
        return;
    }
    size_t shown = st->n;
    if (max_frames > 0 && (size_t)max_frames < shown)
        shown = (size_t)max_frames;
    for (size_t i = 0; i < shown; i++) {
        fprintf(out, "%s#%zu ", indent, i);
        lw_put_frame(out, &st->frames[i]);
        putc('\n', out);
    }
    if (shown < st->n)
        fprintf(out, "%s... %zu more frame%s\n", indent, st->n - shown,
                st->n - shown == 1 ? "" : "s");
}

void lw_put_creators(FILE *out, const struct lw_creator *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        if (i)
            fputs(" <- ", out);
        const char *fn = c[i].function ? c[i].function : "??";
        /* The root ends the chain; it reads best as just "main", as in
         * Go's "created by" lines. A chain of one still says who. */
        if (i == n - 1 && n > 1) {
            lw_put_text(out, fn);
        } else {
            fputs("created by ", out);
            lw_put_text(out, fn);
            fprintf(out, " in thread %d", c[i].tid);
        }
        if (c[i].label) {
            fputs(" [\"", out);
            lw_put_text(out, c[i].label);
            fputs("\"]", out);
        }
    }
}

void lw_put_ids(FILE *out, const int *ids, size_t n, size_t first, size_t cap)
{
    size_t i;
    for (i = first; ids && i < n && i - first < cap; i++)
        fprintf(out, "%s%d", i == first ? "" : ", ", ids[i]);
    if (ids && i < n)
        fprintf(out, ", ... (+%zu more)", n - i);
}

/* Frames from leakwatch itself and from the C runtime never locate a bug. */
static bool runtime_module(const char *module)
{
    const char *b = base_name(module);
    if (!b)
        return false;
    return strncmp(b, "libleakwatch", 12) == 0 || strncmp(b, "libc.so", 7) == 0 ||
           strncmp(b, "libc-", 5) == 0 || strncmp(b, "libpthread", 10) == 0 ||
           strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "libstdc++", 9) == 0;
}

/* The shim's own internals: preload/lw_*.c or preload/LAYER/lw_*.c. */
static bool shim_source(const char *file)
{
    const char *p = strstr(file, "/preload/");
    if (!p)
        return false;
    p += strlen("/preload/");
    const char *slash = strchr(p, '/');
    if (slash && !strchr(slash + 1, '/'))
        p = slash + 1;
    return strncmp(p, "lw_", 3) == 0;
}

const struct lw_sym_frame *lw_user_frame(const struct lw_sym_stack *st)
{
    for (size_t i = 0; st && st->frames && i < st->n; i++) {
        const struct lw_sym_frame *fr = &st->frames[i];
        if (fr->file && !runtime_module(fr->module) &&
            !shim_source(fr->file) && strncmp(fr->file, "/usr/include/", 13) != 0 &&
            !(fr->function && strncmp(fr->function, "std::", 5) == 0))
            return fr;
    }
    return NULL;
}

bool lw_family_adds(const struct lw_finding *f)
{
    const char *fam = f->blocked_family;
    if (!fam || !*fam || strcmp(fam, "other") == 0)
        return false;
    /* The object starts with its kind ("cond 0x..", "fd 7 (..)", "thread
     * 12"), and most calls name their family ("nanosleep", "epoll_wait"). */
    if (f->blocked_object)
        return false;
    return !f->blocked_call || !strstr(f->blocked_call, fam);
}
