/* lw_timer.c — the timer table (see lw_resources.h): records in an mmap'd pool,
 * a (kind, handle) hash with linear probing and backward-shift deletion (so
 * timer churn leaves no tombstones), the SIGEV_THREAD trampoline pool and
 * the helper-thread attribution rule.
 *
 * Runs inside interposed calls on arbitrary threads and on glibc's timer
 * threads: no malloc, no stdio, no interposed libc calls.
 */
#include "lw_resources.h"

#include <string.h>

struct lw_timer_rec *lw_timer_recs;
static lw_lock_t tm_lock = LW_LOCK_INIT;
static uint32_t *tm_hash; /* LW_TIMER_HASH slots of record index, 0 empty */
#define LW_TIMER_HASH (LW_TIMER_MAX * 2)
static uint32_t tm_free;     /* free list through `tramp` of free records */
static uint32_t tm_next = 1; /* never-used records start here */
static uint64_t tm_ids;      /* record id sequence */
static int tm_failed, tm_full_once, tramp_full_once;

struct lw_tramp {
    _Atomic uint32_t used;
    lw_sigev_fn fn;
    union sigval val;
    _Atomic uint32_t timer;
};
static struct lw_tramp tramps[LW_TRAMP_MAX];
static uint32_t tramp_cursor;

/* glibc's helper thread (the one in rt_sigtimedwait) */
static _Atomic int sys_helper_tid;
static _Atomic uint32_t sys_helper_timer;
static _Atomic int sys_helper_tried;

static uint64_t hkey(uint8_t kind, uintptr_t handle)
{
    return (uint64_t)handle ^ ((uint64_t)kind << 61);
}
static uint32_t hslot(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)(k % LW_TIMER_HASH);
}
static uint64_t rec_key(uint32_t i)
{
    return hkey(lw_timer_recs[i].kind, lw_timer_recs[i].handle);
}

static int init_locked(void)
{
    if (lw_timer_recs)
        return 0;
    if (tm_failed)
        return -1;
    void *r = lw_mmap_sparse(sizeof(struct lw_timer_rec) * LW_TIMER_MAX);
    void *h = lw_mmap(sizeof(uint32_t) * LW_TIMER_HASH);
    if (!r || !h) {
        tm_failed = 1;
        lw_log("timer table: mmap failed, timers are not tracked");
        return -1;
    }
    tm_hash = h;
    lw_timer_recs = r;
    return 0;
}

static void hash_insert_locked(uint32_t idx)
{
    uint32_t s = hslot(rec_key(idx));
    while (tm_hash[s])
        s = (s + 1) % LW_TIMER_HASH;
    tm_hash[s] = idx;
}

static uint32_t hash_find_locked(uint64_t k, uint32_t *slot)
{
    if (!tm_hash)
        return 0;
    for (uint32_t s = hslot(k);; s = (s + 1) % LW_TIMER_HASH) {
        uint32_t i = tm_hash[s];
        if (!i)
            return 0;
        if (rec_key(i) == k) {
            if (slot)
                *slot = s;
            return i;
        }
    }
}

/* Backward-shift deletion: move later entries of the probe run back. */
static void hash_remove_locked(uint32_t idx)
{
    uint32_t s;
    if (hash_find_locked(rec_key(idx), &s) != idx)
        return;
    uint32_t hole = s;
    for (uint32_t j = (s + 1) % LW_TIMER_HASH; tm_hash[j]; j = (j + 1) % LW_TIMER_HASH) {
        uint32_t home = hslot(rec_key(tm_hash[j]));
        /* entry j may fill the hole if its home is not in (hole, j] */
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            tm_hash[hole] = tm_hash[j];
            hole = j;
        }
    }
    tm_hash[hole] = 0;
}

__attribute__((noinline)) uint32_t lw_timer_new(enum lw_timer_kind kind, uintptr_t handle,
                                                int clock, enum lw_timer_notify notify,
                                                int signo, uintptr_t callback, int skip)
{
    uintptr_t frames[32];
    int depth = lw_stack_depth();
    if (depth > 32)
        depth = 32;
    int n = depth > 0 ? lw_stack_capture(frames, depth, skip + 1) : 0;
    if (n < 0)
        n = 0;
    lw_ctx_id ctx = lw_ctx_current();
    lw_ctx_ref(ctx);

    lw_lock(&tm_lock);
    uint32_t i = 0;
    if (init_locked() == 0) {
        if (tm_free) {
            i = tm_free;
            tm_free = lw_timer_recs[i].tramp;
        } else if (tm_next < LW_TIMER_MAX) {
            i = tm_next++;
        }
    }
    if (!i) {
        lw_unlock(&tm_lock);
        if (!tm_failed)
            lw_log_once(&tm_full_once, "timer table full (%d timers): new timers not tracked",
                        LW_TIMER_MAX - 1);
        lw_ctx_unref(ctx);
        return 0;
    }
    struct lw_timer_rec *t = &lw_timer_recs[i];
    t->id = ++tm_ids;
    t->kind = (uint8_t)kind;
    t->notify = (uint8_t)notify;
    t->signo = signo;
    t->clock = clock;
    t->handle = handle;
    t->callback = callback;
    t->ctx = ctx;
    t->creator_tid = lw_gettid();
    t->created_ns = lw_now_ns();
    atomic_store_explicit(&t->armed, 0, memory_order_relaxed);
    atomic_store_explicit(&t->interval_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&t->expirations, 0, memory_order_relaxed);
    atomic_store_explicit(&t->nhelpers, 0, memory_order_relaxed);
    t->tramp = 0;
    memcpy(t->frames, frames, (size_t)n * sizeof(uintptr_t));
    t->nframes = (uint32_t)n;
    atomic_store_explicit(&t->used, 1, memory_order_release);
    hash_insert_locked(i);
    lw_unlock(&tm_lock);
    return i;
}

uint32_t lw_timer_find(enum lw_timer_kind kind, uintptr_t handle)
{
    if (!lw_timer_recs)
        return 0;
    lw_lock(&tm_lock);
    uint32_t i = hash_find_locked(hkey((uint8_t)kind, handle), NULL);
    lw_unlock(&tm_lock);
    return i;
}

void lw_timer_set_handle(uint32_t idx, uintptr_t handle)
{
    if (!idx || !lw_timer_recs)
        return;
    lw_lock(&tm_lock);
    hash_remove_locked(idx);
    lw_timer_recs[idx].handle = handle;
    hash_insert_locked(idx);
    lw_unlock(&tm_lock);
}

void lw_timer_delete(uint32_t idx)
{
    if (!idx || !lw_timer_recs || idx >= LW_TIMER_MAX)
        return;
    lw_lock(&tm_lock);
    struct lw_timer_rec *t = &lw_timer_recs[idx];
    if (!atomic_load_explicit(&t->used, memory_order_relaxed)) {
        lw_unlock(&tm_lock);
        return;
    }
    hash_remove_locked(idx);
    atomic_store_explicit(&t->used, 0, memory_order_release);
    uint32_t tramp = t->tramp;
    lw_ctx_id ctx = t->ctx;
    t->ctx = LW_CTX_NONE;
    t->tramp = tm_free; /* free list link */
    tm_free = idx;
    if (atomic_load_explicit(&sys_helper_timer, memory_order_relaxed) == idx)
        atomic_store_explicit(&sys_helper_timer, 0, memory_order_relaxed);
    lw_unlock(&tm_lock);
    if (tramp)
        lw_tramp_free(tramp);
    if (ctx != LW_CTX_NONE)
        lw_ctx_unref(ctx);
}

struct lw_timer_rec *lw_timer_get(uint32_t idx)
{
    if (!idx || idx >= LW_TIMER_MAX || !lw_timer_recs)
        return NULL;
    struct lw_timer_rec *t = &lw_timer_recs[idx];
    return atomic_load_explicit(&t->used, memory_order_acquire) ? t : NULL;
}

uint32_t lw_timer_high(void)
{
    lw_lock(&tm_lock);
    uint32_t h = tm_next;
    lw_unlock(&tm_lock);
    return h;
}

void lw_timer_arm(uint32_t idx, bool armed, uint64_t interval_ns)
{
    struct lw_timer_rec *t = lw_timer_get(idx);
    if (!t)
        return;
    atomic_store_explicit(&t->armed, armed, memory_order_relaxed);
    atomic_store_explicit(&t->interval_ns, interval_ns, memory_order_relaxed);
}

void lw_timer_expired(uint32_t idx, uint64_t n)
{
    struct lw_timer_rec *t = lw_timer_get(idx);
    if (t)
        atomic_fetch_add_explicit(&t->expirations, n, memory_order_relaxed);
}

void lw_timer_helper_ran(uint32_t idx, int tid)
{
    struct lw_timer_rec *t = lw_timer_get(idx);
    if (!t)
        return;
    atomic_fetch_add_explicit(&t->expirations, 1, memory_order_relaxed);
    /* glibc may reuse one thread for many runs: skip a tid already there */
    for (int k = 0; k < LW_TIMER_HELPERS; k++)
        if (atomic_load_explicit(&t->helpers[k], memory_order_relaxed) == tid)
            return;
    uint32_t slot = atomic_fetch_add_explicit(&t->nhelpers, 1, memory_order_relaxed);
    atomic_store_explicit(&t->helpers[slot % LW_TIMER_HELPERS], tid, memory_order_relaxed);
}

/* ---- SIGEV_THREAD trampolines ---- */

/* Runs on glibc's notification thread for each expiration: record the tid
 * as the timer's, then run the program's function with its own value. */
static void lw_timer_tramp(union sigval v)
{
    struct lw_tramp *tr = v.sival_ptr;
    lw_timer_helper_ran(atomic_load_explicit(&tr->timer, memory_order_acquire), lw_gettid());
    tr->fn(tr->val);
}

uint32_t lw_tramp_alloc(lw_sigev_fn prog_fn, union sigval prog_val, lw_sigev_fn *fn,
                        union sigval *val)
{
    /* Round-robin, not LIFO: a notification already queued for a deleted
     * timer still finds its old function in a slot that is reused last. */
    lw_lock(&tm_lock);
    uint32_t found = 0;
    for (uint32_t n = 0; n < LW_TRAMP_MAX; n++) {
        uint32_t k = (tramp_cursor + n) % LW_TRAMP_MAX;
        if (!atomic_load_explicit(&tramps[k].used, memory_order_relaxed)) {
            found = k + 1;
            tramp_cursor = (k + 1) % LW_TRAMP_MAX;
            break;
        }
    }
    if (found) {
        struct lw_tramp *tr = &tramps[found - 1];
        tr->fn = prog_fn;
        tr->val = prog_val;
        atomic_store_explicit(&tr->timer, 0, memory_order_relaxed);
        atomic_store_explicit(&tr->used, 1, memory_order_release);
    }
    lw_unlock(&tm_lock);
    if (!found) {
        lw_log_once(&tramp_full_once,
                    "SIGEV_THREAD trampoline pool full (%d): helper threads not attributed",
                    LW_TRAMP_MAX);
        return 0;
    }
    *fn = lw_timer_tramp;
    val->sival_ptr = &tramps[found - 1];
    return found;
}

void lw_tramp_bind(uint32_t tramp, uint32_t timer_idx)
{
    if (!tramp)
        return;
    atomic_store_explicit(&tramps[tramp - 1].timer, timer_idx, memory_order_release);
    struct lw_timer_rec *t = lw_timer_get(timer_idx);
    if (t)
        t->tramp = tramp;
}

void lw_tramp_free(uint32_t tramp)
{
    if (!tramp || tramp > LW_TRAMP_MAX)
        return;
    /* fn/val stay: a late notification still calls the right function */
    atomic_store_explicit(&tramps[tramp - 1].timer, 0, memory_order_relaxed);
    atomic_store_explicit(&tramps[tramp - 1].used, 0, memory_order_release);
}

/* ---- glibc's helper thread ---- */

/* glibc starts its one SIGEV_THREAD helper inside the first such
 * timer_create: the thread that appears during that call is it. One scan
 * at a time (scan_lock), over the one /proc walker. */
#define LW_SYS_HELPER_SCAN 16384
static int tids_before[LW_SYS_HELPER_SCAN], tids_after[LW_SYS_HELPER_SCAN];
static int scan_nb;
static lw_lock_t scan_lock = LW_LOCK_INIT;

bool lw_timer_helper_scan_begin(void)
{
    if (!lw_timer_want_sys_helper())
        return false;
    lw_lock(&scan_lock);
    scan_nb = lw_proc_tids(tids_before, LW_SYS_HELPER_SCAN);
    return true;
}

void lw_timer_helper_scan_end(bool created, uint32_t timer_idx)
{
    int helper = 0;
    int na = created && scan_nb >= 0 ? lw_proc_tids(tids_after, LW_SYS_HELPER_SCAN) : -1;
    for (int i = 0; i < na && !helper; i++) {
        bool old = false;
        for (int j = 0; j < scan_nb && !old; j++)
            old = tids_after[i] == tids_before[j];
        if (!old)
            helper = tids_after[i];
    }
    if (created)
        lw_timer_sys_helper_found(helper, timer_idx);
    lw_unlock(&scan_lock);
}

bool lw_timer_want_sys_helper(void)
{
    return atomic_load_explicit(&sys_helper_tid, memory_order_relaxed) == 0 &&
           !atomic_load_explicit(&sys_helper_tried, memory_order_relaxed);
}

void lw_timer_sys_helper_found(int tid, uint32_t timer_idx)
{
    atomic_store_explicit(&sys_helper_tried, 1, memory_order_relaxed);
    if (tid <= 0)
        return;
    atomic_store_explicit(&sys_helper_timer, timer_idx, memory_order_relaxed);
    atomic_store_explicit(&sys_helper_tid, tid, memory_order_relaxed);
}

/* The helper serves every SIGEV_THREAD timer: it belongs to the timer whose
 * creation started it while that one lives, then to the oldest live
 * SIGEV_THREAD timer, else to nobody. */
static uint32_t sys_helper_owner(void)
{
    uint32_t i = atomic_load_explicit(&sys_helper_timer, memory_order_relaxed);
    if (lw_timer_get(i))
        return i;
    uint32_t best = 0, hi = lw_timer_recs ? lw_timer_high() : 0;
    for (uint32_t k = 1; k < hi; k++) {
        struct lw_timer_rec *t = lw_timer_get(k);
        if (t && t->notify == LW_TN_THREAD && (!best || t->id < lw_timer_recs[best].id))
            best = k;
    }
    return best;
}

int lw_timer_sys_helper_of(uint32_t idx)
{
    int tid = atomic_load_explicit(&sys_helper_tid, memory_order_relaxed);
    return tid > 0 && idx && sys_helper_owner() == idx ? tid : 0;
}

uint64_t lw_timers_owner_of_tid(int tid)
{
    if (!lw_timer_recs || tid <= 0)
        return 0;
    if (tid == atomic_load_explicit(&sys_helper_tid, memory_order_relaxed)) {
        uint32_t o = sys_helper_owner();
        struct lw_timer_rec *t = lw_timer_get(o);
        return t ? t->id : 0;
    }
    uint32_t hi = lw_timer_high();
    for (uint32_t k = 1; k < hi; k++) {
        struct lw_timer_rec *t = lw_timer_get(k);
        if (!t || t->notify != LW_TN_THREAD)
            continue;
        for (int h = 0; h < LW_TIMER_HELPERS; h++)
            if (atomic_load_explicit(&t->helpers[h], memory_order_relaxed) == tid)
                return t->id;
    }
    return 0;
}

int lw_timer_count_under(lw_ctx_id ctx)
{
    if (!lw_timer_recs)
        return 0;
    int n = 0;
    uint32_t hi = lw_timer_high();
    for (uint32_t k = 1; k < hi; k++) {
        struct lw_timer_rec *t = lw_timer_get(k);
        if (t && lw_ctx_is_under(t->ctx, ctx))
            n++;
    }
    return n;
}

void lw_timer_lock_for_fork(bool lock)
{
    lw_lock_hold(&tm_lock, lock);
}

void lw_timer_after_fork_child(void)
{
    lw_lock_reset(&tm_lock);
    lw_lock_reset(&scan_lock); /* a scan in flight was the parent's */
    atomic_store_explicit(&sys_helper_tid, 0, memory_order_relaxed);
    atomic_store_explicit(&sys_helper_tried, 0, memory_order_relaxed);
    atomic_store_explicit(&sys_helper_timer, 0, memory_order_relaxed);
    if (!lw_timer_recs)
        return;
    /* Context references of dropped timers are not released (a kept
     * reference only delays the reuse of one context record). */
    for (uint32_t k = 1; k < tm_next; k++) {
        struct lw_timer_rec *t = &lw_timer_recs[k];
        if (!atomic_load_explicit(&t->used, memory_order_relaxed) || t->kind == LW_TIMER_TIMERFD)
            continue;
        hash_remove_locked(k);
        atomic_store_explicit(&t->used, 0, memory_order_relaxed);
        if (t->tramp)
            lw_tramp_free(t->tramp);
        t->tramp = tm_free;
        tm_free = k;
    }
}
