/* lw_api.c — the exported table behind include/leakwatch.h, and
 * leakwatch_verify_none/verify_ctx.
 *
 * Owns: explicit contexts (new/enter/leave/cancel/background), the verify
 * baseline and the verify report. The table only ever grows at its end.
 * Must never: be called from a signal handler (verify waits and logs;
 * snapshot writes a file).
 */
#include "lw_runtime.h"
#include "leakwatch.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* leakwatch_verify_none counts threads created since: set by
 * leakwatch_baseline, else the library's start (lw_init_ns) */
static uint64_t lw_baseline_ns;


static int lw_api_active(void)
{
    return lw_running();
}

static int lw_api_snapshot(const char *path)
{
    if (atomic_load(&lw_state) == LW_ST_OFF)
        lw_init();
    if (!lw_fork_adopt())
        return -EPERM;
    return lw_snapshot_write(LW_TRIG_API, path);
}

static leakwatch_ctx_t lw_api_ctx_new(const char *label)
{
    if (!lw_running())
        return 0;
    struct lw_thread *t = lw_self_get();
    lw_ctx_id parent = lw_thread_current_ctx(t, NULL);
    bool g = lw_guard_enter();
    lw_ctx_id id = lw_ctx_new(parent, LW_CK_EXPLICIT, label, lw_gettid(), t ? t->start : 0, false);
    if (g)
        lw_guard_leave();
    return id;
}

static int lw_api_ctx_enter(leakwatch_ctx_t ctx)
{
    struct lw_thread *t = lw_self_get();
    if (!lw_running() || !t)
        return -1;
    bool bg = ctx == LEAKWATCH_BACKGROUND;
    lw_ctx_id id = bg ? LW_CTX_ROOT : (lw_ctx_id)ctx;
    if (!bg && (ctx > UINT32_MAX || !lw_ctx_get(id, NULL)))
        return -1;
    lw_thread_ctx_push(t, id, bg);
    lw_obj_cache_reset(); /* touches now come from another context */
    lw_fd_use_forget();
    return 0;
}

static int lw_api_ctx_leave(void)
{
    struct lw_thread *t = lw_self_get();
    if (!lw_running() || !t)
        return -1;
    if (lw_thread_ctx_pop(t) < 0)
        return -1;
    lw_obj_cache_reset();
    lw_fd_use_forget();
    return 0;
}

static int lw_api_ctx_cancel(leakwatch_ctx_t ctx)
{
    if (!lw_running() || ctx == 0 || ctx > UINT32_MAX || ctx == LW_CTX_ROOT)
        return -1;
    struct lw_ctx_info ci;
    if (!lw_ctx_get((lw_ctx_id)ctx, &ci) || ci.kind != LW_CK_EXPLICIT || ci.cancelled_ns)
        return -1;
    lw_ctx_cancel((lw_ctx_id)ctx, LW_CAUSE_EXPLICIT);
    lw_ctx_unref((lw_ctx_id)ctx); /* the handle's reference */
    return 0;
}

static leakwatch_ctx_t lw_api_ctx_current(void)
{
    if (!lw_running())
        return 0;
    return lw_ctx_current();
}

static void lw_api_baseline(void)
{
    lw_baseline_ns = lw_now_ns();
}

/* ---- verify ---- */

struct lw_vfilter {
    int self_tid;
    lw_ctx_id under; /* LW_CTX_NONE: everything since the baseline */
};

static bool lw_verify_match(struct lw_thread *t, void *arg)
{
    struct lw_vfilter *f = arg;
    if (t->kind == LW_TK_MAIN || t->exited || t->tid == f->self_tid)
        return false;
    if (f->under == LW_CTX_NONE)
        return t->created_ns >= (lw_baseline_ns ? lw_baseline_ns : lw_init_ns);
    return t->ctx && lw_ctx_is_under(t->ctx, f->under);
}

static const char *lw_sym_name(uintptr_t ip, char *buf, size_t n)
{
    Dl_info di;
    if (ip && dladdr((void *)ip, &di) && di.dli_sname) {
        snprintf(buf, n, "%s+0x%lx", di.dli_sname, (unsigned long)(ip - (uintptr_t)di.dli_saddr));
        return buf;
    }
    if (ip && dladdr((void *)ip, &di) && di.dli_fname) {
        snprintf(buf, n, "%s+0x%lx", di.dli_fname, (unsigned long)(ip - (uintptr_t)di.dli_fbase));
        return buf;
    }
    snprintf(buf, n, "0x%lx", (unsigned long)ip);
    return buf;
}

/* Label of the nearest labelled context at or above id. */
static const char *lw_ctx_label(lw_ctx_id id, char *buf, size_t n)
{
    struct lw_ctx_info ci;
    for (int hops = 0; hops < 1000 && id && lw_ctx_get(id, &ci); hops++) {
        if (ci.label[0]) {
            snprintf(buf, n, "%s", ci.label);
            return buf;
        }
        if (id == LW_CTX_ROOT)
            break;
        id = ci.parent;
    }
    return NULL;
}

struct lw_vreport {
    struct lw_vfilter *f;
    int n;
};

static void lw_verify_report_one(struct lw_thread *t, void *arg)
{
    struct lw_vreport *r = arg;
    if (!lw_verify_match(t, r->f))
        return;
    r->n++;
    char a[256], lbl[LW_LABEL_MAX];
    struct lw_blocked b;
    uintptr_t *bs = NULL;
    bool blocked = lw_thread_read_blocked(t, &b, bs);
    const char *label = lw_ctx_label(t->ctx, lbl, sizeof lbl);
    lw_log("verify: thread %d%s%s%s still alive, started at %s%s%s%s", t->tid,
           t->name[0] ? " \"" : "", t->name, t->name[0] ? "\"" : "",
           lw_sym_name(t->start, a, sizeof a), label ? " [context " : "", label ? label : "",
           label ? "]" : "");
    if (blocked)
        lw_log("verify:   blocked in %s (%s) on 0x%lx", b.call ? b.call : "?",
               b.family ? b.family : "?", (unsigned long)b.object);
    else
        lw_log("verify:   running");
    uintptr_t *cs = lw_thread_cstack(t);
    for (int i = 0; i < t->cstack_n && i < 8; i++)
        lw_log("verify:   #%d %s", i, lw_sym_name(cs[i], a, sizeof a));
}

static int lw_verify(lw_ctx_id under, int timeout_ms, const char *what)
{
    if (!lw_running())
        return 0;
    struct lw_vfilter f = {lw_gettid(), under};
    bool g = lw_guard_enter();
    int n = lw_wait_quiet(timeout_ms < 0 ? 0 : timeout_ms, 100, lw_verify_match, &f);
    int extra = 0;
    if (under != LW_CTX_NONE) {
        extra += lw_fd_count_under(under);
        extra += lw_timer_count_under(under);
    }
    if (n > 0) {
        struct lw_vreport r = {&f, 0};
        lw_reg_lock();
        lw_reg_foreach(lw_verify_report_one, &r);
        lw_reg_unlock();
    }
    if (n + extra > 0)
        lw_log("verify: SUMMARY: %d thread(s)%s%d socket/timer(s) still alive %s", n,
               extra ? " and " : ", ", extra, what);
    if (g)
        lw_guard_leave();
    return n + extra;
}

static int lw_api_verify_none(int timeout_ms)
{
    return lw_verify(LW_CTX_NONE, timeout_ms, "since the baseline");
}

static int lw_api_verify_ctx(leakwatch_ctx_t ctx, int timeout_ms)
{
    if (ctx == 0 || ctx > UINT32_MAX)
        return 0;
    char lbl[LW_LABEL_MAX], what[LW_LABEL_MAX + 32];
    const char *l = lw_ctx_label((lw_ctx_id)ctx, lbl, sizeof lbl);
    snprintf(what, sizeof what, "under context %lu%s%s%s", ctx, l ? " (" : "", l ? l : "",
             l ? ")" : "");
    return lw_verify((lw_ctx_id)ctx, timeout_ms, what);
}

LW_EXPORT const struct leakwatch_api_v1 leakwatch_api_v1 = {
    .size = sizeof(struct leakwatch_api_v1),
    .active = lw_api_active,
    .snapshot = lw_api_snapshot,
    .ctx_new = lw_api_ctx_new,
    .ctx_enter = lw_api_ctx_enter,
    .ctx_leave = lw_api_ctx_leave,
    .ctx_cancel = lw_api_ctx_cancel,
    .verify_none = lw_api_verify_none,
    .verify_ctx = lw_api_verify_ctx,
    .baseline = lw_api_baseline,
    .ctx_current = lw_api_ctx_current,
};
