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

const char *lw_base_name(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b ? b + 1 : path;
}

const char *lw_proc_status_name(enum lw_proc_status st)
{
#define LW_PROC_NAME_(n, w) case LW_PROC_##n: return w;
    switch (st) { LW_PROC_STATUS_LIST(LW_PROC_NAME_) default: break; }
#undef LW_PROC_NAME_
    return "unknown";
}

static const struct lw_format_info formats[] = {
#define LW_FORMAT_INFO_(id, name, alias, fn, gate_fn) {name, alias, fn, gate_fn},
    LW_FORMAT_LIST(LW_FORMAT_INFO_)
#undef LW_FORMAT_INFO_
};

const struct lw_format_info *lw_format_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(name, formats[i].name) == 0 || (formats[i].alias && strcmp(name, formats[i].alias) == 0))
            return &formats[i];
    return NULL;
}

const char *lw_format_names(void)
{
    static char names[256];
    if (!names[0]) {
        size_t l = 0;
        for (size_t i = 0; i < sizeof formats / sizeof formats[0] && l < sizeof names; i++)
            l += (size_t)snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", formats[i].name);
    }
    return names;
}

lw_renderer_fn lw_renderer_by_name(const char *name)
{
    const struct lw_format_info *f = lw_format_by_name(name);
    return f ? f->render : NULL;
}

/* Lower is worse: a stuck thread can never recover, a leaked one keeps
 * running after its scope ended, one alive at exit was never stopped by a
 * scope that still existed, an unjoined one only holds its stack. */
static int verdict_rank(enum lw_verdict v)
{
    switch (v) {
    case LW_VERDICT_STUCK: return 0;
    case LW_VERDICT_LEAKED: return 1;
    case LW_VERDICT_ALIVE_AT_EXIT: return 2;
    case LW_VERDICT_UNJOINED: return 3;
    default: break;
    }
    return 4;
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

void lw_tally_findings(struct lw_tally *t, const struct lw_finding *f, size_t n)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; f && i < n; i++) {
        if ((unsigned)f[i].verdict < LW_VERDICT_COUNT && (unsigned)f[i].kind < LW_KIND_COUNT)
            t->by[f[i].verdict][f[i].kind] += f[i].count;
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
    /* Same order as the report: stuck, leaked, unjoined (verdict_rank). */
    bool first = true;
    for (int rank = 0; rank <= LW_VERDICT_COUNT; rank++)
        for (unsigned v = 0; v < LW_VERDICT_COUNT; v++) {
            if (verdict_rank((enum lw_verdict)v) != rank)
                continue;
            for (unsigned k = 0; k < LW_KIND_COUNT; k++) {
                size_t c = t->by[v][k];
                if (!c)
                    continue;
                fprintf(out, "%s%zu ", first ? "" : ", ", c);
                put_what_vk(out, (enum lw_verdict)v, (enum lw_kind)k, c);
                first = false;
            }
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
            lw_put_text(out, lw_base_name(fr->module));
            fprintf(out, "+0x%" PRIx64 ")", fr->offset);
        }
    } else if (fr->module) {
        lw_put_text(out, lw_base_name(fr->module));
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

void lw_put_py_stack(FILE *out, const struct lw_sym_stack *st, int max_frames, const char *indent)
{
    size_t shown = st->n;
    if (max_frames > 0 && (size_t)max_frames < shown)
        shown = (size_t)max_frames;
    for (size_t i = 0; i < shown; i++) {
        const struct lw_sym_frame *fr = &st->frames[i];
        fprintf(out, "%s#%zu in ", indent, i);
        lw_put_text(out, fr->function ? fr->function : "??");
        if (fr->file) {
            putc(' ', out);
            lw_put_text(out, fr->file);
            if (fr->line > 0)
                fprintf(out, ":%d", fr->line);
        }
        putc('\n', out);
    }
    if (shown < st->n)
        fprintf(out, "%s... %zu more frame%s\n", indent, st->n - shown, st->n - shown == 1 ? "" : "s");
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
    lw_put_ids_k(out, LW_KIND_THREAD, ids, n, first, cap);
}

/* POSIX timer ids are unsigned (glibc's SIGEV_THREAD ids have the top bit
 * set): never print them as negative numbers. */
const char *lw_id_fmt(enum lw_kind k)
{
    return k == LW_KIND_TIMER ? "%u" : "%d";
}

void lw_put_ids_k(FILE *out, enum lw_kind k, const int *ids, size_t n, size_t first, size_t cap)
{
    size_t i;
    for (i = first; ids && i < n && i - first < cap; i++) {
        fputs(i == first ? "" : ", ", out);
        fprintf(out, lw_id_fmt(k), ids[i]);
    }
    if (ids && i < n)
        fprintf(out, ", ... (+%zu more)", n - i);
}

/* Frames from leakwatch itself and from the C runtime never locate a bug. */
static bool runtime_module(const char *module)
{
    const char *b = lw_base_name(module);
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
    if (!f->blocked || f->blocked_family == LW_FAMILY_OTHER)
        return false;
    const char *fam = lw_family_name(f->blocked_family);
    /* The object starts with its kind ("cond 0x..", "fd 7 (..)", "thread
     * 12"), and most calls name their family ("nanosleep", "epoll_wait"). */
    if (f->blocked_object)
        return false;
    return !f->blocked_call || !strstr(f->blocked_call, fam);
}

void lw_put_gate_heading(FILE *out, const char *prefix, const struct lw_gate_proc *p)
{
    fprintf(out, "%s process %d (", prefix, p->pid);
    lw_put_text(out, p->exe ? p->exe : "?");
    fprintf(out, "): %s \xe2\x80\x94 ", lw_proc_status_name(p->status));
    lw_put_text(out, p->note ? p->note : "");
    fputs("\n\n", out);
}
