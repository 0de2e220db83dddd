/* lw_registry.c — thread records: slabs, free list, pthread_t hash, exit,
 * join/detach bookkeeping, and the blocked state (lw_wait_begin/end).
 *
 * Owns: fixed-size records in mmap'd chunks (size depends on stack_depth),
 * a free list and a pthread_t hash under one lock that only thread
 * create/exit/join/detach and the snapshot take. The blocked state of a
 * record is written only by its own thread and read through a seqlock.
 * Must never: take the registry lock or allocate on a wait path; free a
 * record whose thread may still be running hooks (exit clears lw_self
 * first).
 */
#include "lw_core.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define LW_REG_CHUNK 1024u
#define LW_REG_CHUNKS 1024u /* up to 1M records */
#define LW_HASH_SIZE 16384u

static inline void lw_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ volatile("" ::: "memory");
#endif
}

static char *lw_reg_chunks[LW_REG_CHUNKS];
static uint32_t lw_reg_nchunks;
static uint32_t lw_reg_next; /* records ever handed out: [0, lw_reg_next) */
static size_t lw_reg_size;
static struct lw_thread *lw_reg_free_head;
static struct lw_thread **lw_reg_hash;
static lw_lock_t lw_reg_lk = LW_LOCK_INIT;
static int lw_reg_full_once;
static uint64_t lw_reg_serial; /* under the lock */
_Atomic uint64_t lw_stat_created, lw_stat_live, lw_stat_dropped, lw_stat_state_changes;

size_t lw_reg_record_size(void)
{
    return lw_reg_size;
}

int lw_registry_init(void)
{
    size_t sz =
        sizeof(struct lw_thread) + (1 + LW_BSITES) * (size_t)lw_stack_depth() * sizeof(uintptr_t);
    lw_reg_size = (sz + 63) & ~(size_t)63;
    lw_reg_hash = lw_mmap(LW_HASH_SIZE * sizeof *lw_reg_hash);
    return lw_reg_hash ? 0 : -1;
}

void lw_reg_lock(void)
{
    lw_lock(&lw_reg_lk);
}

void lw_reg_unlock(void)
{
    lw_unlock(&lw_reg_lk);
}

static inline struct lw_thread *lw_reg_at(uint32_t i)
{
    return (struct lw_thread *)(lw_reg_chunks[i / LW_REG_CHUNK] + (i % LW_REG_CHUNK) * lw_reg_size);
}

struct lw_thread *lw_reg_alloc(void)
{
    lw_reg_lock();
    struct lw_thread *t = lw_reg_free_head;
    if (t) {
        lw_reg_free_head = t->next_free;
    } else {
        /* Never-used records are handed out in index order, straight from
         * the chunk: threading a new chunk's 1,024 records onto the free
         * list wrote every one of them, ~1.5 MiB of page faults (about
         * 10 ms of CPU) in every process at its first record, the main
         * thread's, whether or not it ever started a thread. */
        if (lw_reg_next == lw_reg_nchunks * LW_REG_CHUNK && lw_reg_nchunks < LW_REG_CHUNKS &&
            (lw_reg_chunks[lw_reg_nchunks] = lw_mmap(LW_REG_CHUNK * lw_reg_size)) != NULL)
            lw_reg_nchunks++;
        if (lw_reg_next < lw_reg_nchunks * LW_REG_CHUNK) {
            t = lw_reg_at(lw_reg_next);
            t->index = lw_reg_next++;
        }
    }
    if (!t) {
        lw_reg_unlock();
        atomic_fetch_add(&lw_stat_dropped, 1);
        lw_log_once(&lw_reg_full_once, "thread table full; new threads are not recorded");
        return NULL;
    }
    uint32_t idx = t->index;
    /* the stack arrays are read only up to cstack_n / b.nstack, which
     * start at 0: clearing them too wrote ~500 more bytes per thread */
    memset(t, 0, offsetof(struct lw_thread, stacks));
    t->index = idx;
    t->in_use = 1;
    /* invisible to snapshots until the creator has filled it in (a
     * half-filled record showed as a tracked thread with tid 0; TSan) */
    t->filling = 1;
    t->serial = ++lw_reg_serial;
    atomic_fetch_add(&lw_stat_live, 1);
    lw_reg_unlock();
    return t;
}

static inline uint32_t lw_hash_pt(pthread_t pt)
{
    uint64_t x = (uint64_t)pt;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint32_t)x & (LW_HASH_SIZE - 1);
}

static void lw_hash_remove_locked(struct lw_thread *t)
{
    if (!t->hashed)
        return;
    struct lw_thread **pp = &lw_reg_hash[lw_hash_pt(t->pt)];
    while (*pp && *pp != t)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = t->hash_next;
    t->hashed = 0;
    t->hash_next = NULL;
}

struct lw_thread *lw_reg_lookup(pthread_t pt)
{
    for (struct lw_thread *t = lw_reg_hash[lw_hash_pt(pt)]; t; t = t->hash_next)
        if (t->pt == pt)
            return t;
    return NULL;
}

static void lw_reg_free_locked(struct lw_thread *t);

static void lw_reg_hash_insert_locked(struct lw_thread *t)
{
    if (!t->hashed && t->in_use) {
        /* A stale entry for the same pthread_t (its thread ended without us
         * seeing join/detach, and glibc reused the descriptor) loses the
         * mapping; it stays listed until it can be freed. */
        struct lw_thread *old = lw_reg_lookup(t->pt);
        if (old)
            lw_hash_remove_locked(old);
        uint32_t h = lw_hash_pt(t->pt);
        t->hash_next = lw_reg_hash[h];
        lw_reg_hash[h] = t;
        __atomic_store_n(&t->hashed, 1, __ATOMIC_RELEASE);
    }
}

void lw_reg_hash_insert(struct lw_thread *t)
{
    lw_reg_lock();
    lw_reg_hash_insert_locked(t);
    lw_reg_unlock();
}

void lw_thread_created(struct lw_thread *t, pthread_t pt, bool ok)
{
    lw_reg_lock();
    t->pinned = 0;
    if (!ok) {
        lw_reg_free_locked(t);
    } else {
        t->pt = pt;
        /* a detached (or already joined) thread that finished before
         * pthread_create returned: its pthread_t may already name another
         * thread, so it is not hashed again */
        if (t->exited && (t->detached || t->joined))
            lw_reg_free_locked(t);
        else
            lw_reg_hash_insert_locked(t);
    }
    lw_reg_unlock();
}

static void lw_reg_free_locked(struct lw_thread *t)
{
    lw_hash_remove_locked(t);
    lw_ctx_id ctx = t->ctx;
    t->in_use = 0;
    t->next_free = lw_reg_free_head;
    lw_reg_free_head = t;
    atomic_fetch_sub(&lw_stat_live, 1);
    atomic_fetch_add(&lw_stat_state_changes, 1);
    if (ctx)
        lw_ctx_unref(ctx);
}

void lw_reg_free(struct lw_thread *t)
{
    lw_reg_lock();
    lw_reg_free_locked(t);
    lw_reg_unlock();
}

void lw_reg_publish(struct lw_thread *t)
{
    __atomic_store_n(&t->filling, 0, __ATOMIC_RELEASE);
}

void lw_reg_foreach(void (*fn)(struct lw_thread *t, void *arg), void *arg)
{
    for (uint32_t i = 0; i < lw_reg_next; i++) {
        struct lw_thread *t = lw_reg_at(i);
        if (t->in_use && !__atomic_load_n(&t->filling, __ATOMIC_ACQUIRE))
            fn(t, arg);
    }
}

/* Single writer (the thread itself): plain increments, no locked
 * instructions on the wait path. x86-TSO and the release fence keep the odd
 * sequence number ahead of the data it guards. */
static inline void lw_seq_begin(struct lw_thread *t)
{
    uint32_t s = atomic_load_explicit(&t->seq, memory_order_relaxed);
    atomic_store_explicit(&t->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static inline void lw_seq_end(struct lw_thread *t)
{
    uint32_t s = atomic_load_explicit(&t->seq, memory_order_relaxed);
    atomic_store_explicit(&t->seq, s + 1, memory_order_release);
}

static inline void lw_bump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

void lw_thread_exited(struct lw_thread *t, int kind)
{
    if (!t)
        return;
    if (lw_self == t)
        lw_self = NULL; /* hooks from later TLS destructors just forward */
    /* One critical section: once the lock is dropped a detached record may
     * be freed and reused by another thread, so nothing here may touch t
     * after unlocking (a second free would corrupt the free list). */
    lw_reg_lock();
    if (t->exited || !t->in_use) {
        lw_reg_unlock();
        return;
    }
    t->exited = 1;
    t->exit_kind = kind;
    t->exited_ns = lw_now_ns();
    lw_seq_begin(t);
    LW_SEQ_WR(t->blocked, 0);
    lw_seq_end(t);
    atomic_fetch_add(&lw_stat_state_changes, 1);
    /* the root is the process's scope: main calling pthread_exit does not
     * end it (the process lives on until exit). Cause pthread_cancel wins
     * when it was set earlier (cancel is a no-op on a cancelled context).
     * Lock order: registry, then contexts. */
    if (t->ctx && t->ctx != LW_CTX_ROOT)
        lw_ctx_cancel(t->ctx, LW_CAUSE_EXITED);
    /* A detached thread's pthread_t may be reused as soon as it is gone:
     * drop the mapping now even when the record must wait for its creator. */
    if (t->detached)
        lw_hash_remove_locked(t);
    if (t->detached && !t->pinned)
        lw_reg_free_locked(t);
    lw_reg_unlock();
}

struct lw_thread *lw_reg_find(pthread_t pt, uint64_t *serial, int *tid)
{
    lw_reg_lock();
    struct lw_thread *t = lw_reg_lookup(pt);
    if (t) {
        *serial = t->serial;
        if (tid)
            *tid = lw_thread_tid(t);
    }
    lw_reg_unlock();
    return t;
}

/* Join and detach name their record before the real call: once it returns
 * the pthread_t may already belong to a new thread (glibc reuses
 * descriptors at once), so a lookup afterwards could hit the wrong record. */
void lw_thread_joined(struct lw_thread *t, uint64_t serial)
{
    if (!t)
        return;
    lw_reg_lock();
    if (t->in_use && t->serial == serial) {
        /* the kernel thread is gone after a successful join */
        t->joined = 1;
        if (!t->exited) {
            t->exited = 1;
            t->exited_ns = lw_now_ns();
            t->exit_kind = t->cancel_req_ns ? LW_EXIT_CANCELLED : LW_EXIT_PTHREAD_EXIT;
        }
        lw_hash_remove_locked(t);
        if (!t->pinned)
            lw_reg_free_locked(t);
    }
    lw_reg_unlock();
}

void lw_thread_detached(struct lw_thread *t, uint64_t serial)
{
    if (!t)
        return;
    lw_reg_lock();
    if (t->in_use && t->serial == serial) {
        t->detached = 1;
        if (t->exited) {
            lw_hash_remove_locked(t);
            if (!t->pinned)
                lw_reg_free_locked(t);
        }
    }
    lw_reg_unlock();
}

/* ---- blocked state ---- */

/* Blocked stacks are captured lazily, per call site (return address of the
 * hook + this frame's address, so the same line reached through a
 * different call chain counts as another site):
 * - a site seen for the first time records only the program's caller
 *   frame (1 frame, no unwind);
 * - the second wait at the same site walks the whole stack with libunwind,
 *   and later waits there reuse it.
 * LW_BSITES sites are kept (a new site replaces the one waited at longest
 * ago, never the active one), so a loop over up to four waits (poll, recv,
 * send; a cond wait then a sleep) unwinds once per site in all, not on
 * every wait as a one-site cache would.
 * Why: a thread's first unwind cost ~16,000 instructions, ~27
 * rt_sigprocmask calls (libunwind's global cache lock masks signals) and a
 * 2 KiB frame that touched a fresh page of the thread's stack; threads
 * that block once (a pool parked until shutdown, 2,000 threads released by
 * one broadcast) paid it for a stack nobody had asked for yet. Trade-off:
 * a thread blocked in its very first wait at a site shows only the caller
 * frame (the function that made the call) until it waits there again.
 * Runs with the recursion guard held and errno saved (libunwind may call
 * hooked names and set errno). */
/* The kept site (ip, sp) with a full stack, or -1: a loop over several
 * sites that all have their stack (out of line: the active site, checked
 * inline, is the common case). */
static __attribute__((noinline)) int lw_wait_site_find(struct lw_thread *t, uintptr_t ip,
                                                       uintptr_t sp)
{
    for (int k = 0; k < LW_BSITES; k++) {
        struct lw_bsite *s = &t->bsite[k];
        if (s->full && s->ip == ip && s->sp == sp) {
            s->used = ++t->bclock;
            return k;
        }
    }
    return -1;
}

/* a slot index read by a snapshot under the seqlock may be torn */
static inline int lw_bslot_ok(int slot)
{
    return slot >= 0 && slot < LW_BSITES ? slot : 0;
}

static __attribute__((noinline)) void lw_wait_site(struct lw_thread *t, uintptr_t ip,
                                                   uintptr_t sp, int skip)
{
    int i = -1, old = t->bslot == 0 ? 1 : 0;
    for (int k = 0; k < LW_BSITES && i < 0; k++) {
        if (t->bsite[k].ip == ip && t->bsite[k].sp == sp)
            i = k;
        else if (k != t->bslot && t->bsite[k].used < t->bsite[old].used)
            old = k;
    }
    struct lw_bsite *s;
    if (i < 0) { /* first wait here: the caller frame only, in the slot
                  * waited at longest ago (never the active one) */
        i = old;
        s = &t->bsite[i];
        s->ip = ip;
        s->sp = sp;
        s->n = 1;
        s->full = 0;
        LW_SEQ_WR(lw_thread_bstack(t, i)[0], ip);
    } else if (!(s = &t->bsite[i])->full) { /* second wait here: unwind */
        int saved = errno;
        lw_tls_guard = 1;
        int n = lw_stack_capture_walk(lw_thread_bstack(t, i), lw_stack_depth(), skip + 1); /* + us */
        lw_tls_guard = 0;
        errno = saved;
        t->bunwinds++;
        if (n <= 0) { /* fork gate closed, or no unwind info: keep the caller */
            LW_SEQ_WR(lw_thread_bstack(t, i)[0], ip);
            n = 1;
        }
        s->n = n;
        s->full = 1;
    }
    s->used = ++t->bclock;
    t->bsite[t->bslot].next = i;
    LW_SEQ_WR(t->bslot, i);
    LW_SEQ_WR(t->b.nstack, s->n);
}

/* A wait whose own timeout ends within LW_STACK_AFTER_NS can never be
 * blocked long enough to need its complete stack for that reason, but a
 * loop of them (a ticker, a heartbeat) is a thread whose name and "blocked
 * at" a report needs. So such a wait at a site without a stack goes
 * through the site slots (and unwinds as a second wait there) at most once
 * per LW_STACK_AFTER_NS per thread, and otherwise records its caller frame
 * alone, with no slot taken (docs/design.md §3.6): CPython's GIL waits 5 ms
 * at a time at a different stack depth after each kind of blocking call,
 * and as "second waits at a site" those depths cost ~40 unwinds per thread
 * and evicted the sites that had a stack. Only called when the site has no
 * stack yet; the coarse clocks (vDSO, no syscall) lag by at most a tick,
 * which errs towards "not short". True: record the caller frame only. */
static __attribute__((noinline)) bool lw_wait_short(struct lw_thread *t,
                                                    const struct lw_wait_info *wi)
{
    if (wi->timeout_ns < 0)
        return false;
    struct timespec now;
    if (wi->deadline_clk) {
        clockid_t clk = wi->deadline_clk - 1;
        if (clk == CLOCK_REALTIME)
            clk = CLOCK_REALTIME_COARSE;
        else if (clk == CLOCK_MONOTONIC)
            clk = CLOCK_MONOTONIC_COARSE;
        if (clock_gettime(clk, &now) != 0 ||
            wi->timeout_ns - (int64_t)lw_ts_ns(&now) > LW_STACK_AFTER_NS)
            return false;
    } else if (wi->timeout_ns > LW_STACK_AFTER_NS) {
        return false;
    }
    uint64_t mono = lw_now_coarse_ns();
    if (mono < t->bshort_next_ns)
        return true;
    t->bshort_next_ns = mono + LW_STACK_AFTER_NS;
    return false;
}

static inline void lw_unbump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - 1, memory_order_relaxed);
}

/* A wait after a split condition wait returned as a spurious wake-up: at
 * the same site and object it continues that wait. Returns its start time
 * (0: another wait) and takes back the counts the caller is about to add.
 * A contended mutex on the way back (std::condition_variable_any relocks
 * the caller's lock after its own) is recorded but not counted as a wait
 * or a wake-up, and keeps the resume pending. */
static __attribute__((noinline, cold)) uint64_t lw_wait_resumed(struct lw_thread *t, uintptr_t ip,
                                                               const struct lw_wait_info *wi,
                                                               lw_ctx_id cur)
{
    bool same = t->bresume_ip == ip && t->bresume_obj == wi->object;
    bool relock = !same && wi->family && strcmp(wi->family, "mutex") == 0;
    if (!same && !relock) {
        t->bresume = 0;
        return 0;
    }
    if (same)
        t->bresume = 0;
    lw_unbump(&t->waits);
    if (cur && lw_ctx_cancelled(cur))
        lw_unbump(&t->wakes_since_cancel);
    if (relock)
        return 0; /* a wait of its own, but not a wake-up */
    return t->bresume_since ? t->bresume_since : 1;
}

/* Both entry points inline the body so the stack always holds exactly one
 * leakwatch frame plus the hook above the program's caller. Only the
 * thread itself writes its record here: plain stores, no locked
 * instruction, no errno traffic (nothing here sets errno; lw_wait_site
 * saves it around the unwind). */
static inline __attribute__((always_inline)) uintptr_t
lw_wait_begin_impl(const struct lw_wait_info *wi, int holder_tid, int join_tid)
{
    if (!lw_running() || lw_tls_guard)
        return 0;
    struct lw_thread *t = lw_self;
    if (LW_UNLIKELY(!t) && !(t = lw_self_get()))
        return 0; /* a thread leakwatch did not see start */
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    /* Still blocked: a wait inside a signal handler that interrupted a wait
     * (deeper on the stack: keep the outer one), or an outer wait left by
     * siglongjmp (this frame is not deeper: the old state is stale). */
    if (t->blocked && sp < t->b_sp)
        return 0;
    uintptr_t ip = (uintptr_t)wi->caller;
    lw_ctx_id cur = lw_thread_current_ctx(t, NULL);
    lw_bump(&t->waits);
    if (cur && lw_ctx_cancelled(cur))
        lw_bump(&t->wakes_since_cancel);
    /* the program's wait again after a split condition wait returned to it
     * (docs/design.md §3.6): the same wait (start time kept), not a
     * wake-up (the counts just added are taken back). Rare: one test. */
    uint64_t since = 0;
    if (LW_UNLIKELY(t->bresume))
        since = lw_wait_resumed(t, ip, wi, cur);
    lw_seq_begin(t);
    /* the usual cases inline: the same site again, or the other cached
     * site of a two-wait loop (poll then recv) */
    int slot = t->bslot;
    const struct lw_bsite *bs = &t->bsite[slot];
    uintptr_t lazy = 0; /* the token says whether the site's stack is partial */
    LW_SEQ_WR(t->bshort, 0);
    if (LW_UNLIKELY(!bs->full || bs->ip != ip || bs->sp != sp)) {
        /* a loop over kept sites: the one that followed this one last
         * time, inline; else any kept site, out of line */
        int k = bs->next;
        struct lw_bsite *ns = &t->bsite[k];
        if (LW_LIKELY(ns->full && ns->ip == ip && ns->sp == sp))
            ns->used = ++t->bclock;
        else if ((k = lw_wait_site_find(t, ip, sp)) >= 0)
            t->bsite[slot].next = k;
        if (LW_LIKELY(k >= 0)) {
            LW_SEQ_WR(t->bslot, k);
            LW_SEQ_WR(t->b.nstack, t->bsite[k].n);
        } else if (lw_wait_short(t, wi)) {
            LW_SEQ_WR(t->bshort, 1); /* caller frame only, no slot taken */
            LW_SEQ_WR(t->b.nstack, 1);
        } else {
            lw_wait_site(t, ip, sp, 2); /* skip lw_wait_begin2 (or lw_wait_begin) + the hook */
            lazy = t->bsite[t->bslot].full ? 0 : LW_TOK_LAZY;
        }
    }
    LW_SEQ_WR(t->b.call, wi->call);
    LW_SEQ_WR(t->b.family, wi->family);
    LW_SEQ_WR(t->b.object, wi->object);
    LW_SEQ_WR(t->b.caller, ip);
    LW_SEQ_WR(t->b.fd, wi->fd);
    int n = 0;
    if (LW_UNLIKELY(wi->fds != NULL)) {
        n = wi->nfds < LW_WAIT_FDS ? wi->nfds : LW_WAIT_FDS;
        for (int i = 0; i < n; i++)
            LW_SEQ_WR(t->b.fds[i], wi->fds[i]);
    }
    LW_SEQ_WR(t->b.nfds, n);
    LW_SEQ_WR(t->b.owner, wi->owner);
    LW_SEQ_WR(t->b.holder_tid, holder_tid);
    LW_SEQ_WR(t->b.join_tid, join_tid);
    LW_SEQ_WR(t->b.since_ns, LW_LIKELY(!since) ? lw_now_coarse_ns() : since);
    LW_SEQ_WR(t->b.timeout_ns, wi->timeout_ns);
    LW_SEQ_WR(t->b.deadline_clk, wi->deadline_clk);
    t->b_sp = sp;
    LW_SEQ_WR(t->blocked, 1);
    lw_seq_end(t);
    return (uintptr_t)t | lazy;
}

__attribute__((noinline)) uintptr_t lw_wait_begin2(const struct lw_wait_info *wi, int holder_tid,
                                                   int join_tid)
{
    return lw_wait_begin_impl(wi, holder_tid, join_tid);
}

__attribute__((noinline)) uintptr_t lw_wait_begin(const struct lw_wait_info *wi)
{
    return lw_wait_begin_impl(wi, 0, 0);
}

bool lw_wait_split(clockid_t clk, const struct timespec *abs, struct timespec *lim)
{
    if (abs && (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000))
        return false; /* the real call reports EINVAL */
    if (clock_gettime(clk, lim) != 0)
        return false;
    lim->tv_sec += LW_STACK_AFTER_NS / 1000000000;
    lim->tv_nsec += LW_STACK_AFTER_NS % 1000000000;
    if (lim->tv_nsec >= 1000000000) {
        lim->tv_sec++;
        lim->tv_nsec -= 1000000000;
    }
    return !abs || abs->tv_sec > lim->tv_sec ||
           (abs->tv_sec == lim->tv_sec && abs->tv_nsec > lim->tv_nsec);
}

/* The split wait's first part expired: the thread has been blocked at this
 * site for LW_STACK_AFTER_NS, so the stack nobody had paid for at the
 * first wait is worth one unwind now. Walked on the shared unwind stack
 * (lw_stack_capture_alt: a parked thread's own stack grows by no page),
 * then copied into the active slot under the record's seqlock (a snapshot
 * never waits on the walk). The walk starts in the hook; frames above the
 * program's caller (the hook's helpers) are dropped by finding the
 * caller's address. Runs on the blocked thread, inside its wait, with the
 * recursion guard held and errno saved (libunwind may call hooked names
 * and set errno). */
/* lw_wait_complete's copy of the walked frames into the active slot (runs
 * under the shared unwind stack's lock, on the thread's own stack) */
static void lw_wait_complete_copy(const uintptr_t *frames, int n, void *arg)
{
    struct lw_thread *t = arg;
    struct lw_bsite *s = &t->bsite[t->bslot];
    int depth = lw_stack_depth();
    int k = 0;
    while (k < n && frames[k] != s->ip)
        k++;
    if (k == n) /* the caller is not where it was expected: keep all */
        k = 0;
    n -= k;
    if (n > depth)
        n = depth;
    if (n > 1) { /* else: fork gate closed or no unwind info; keep the caller */
        uintptr_t *dst = lw_thread_bstack(t, t->bslot);
        lw_seq_begin(t);
        for (int i = 0; i < n; i++)
            LW_SEQ_WR(dst[i], frames[k + i]);
        s->n = n;
        s->full = 1;
        LW_SEQ_WR(t->b.nstack, n);
        lw_seq_end(t);
    }
}

__attribute__((noinline)) void lw_wait_complete(uintptr_t token, bool resumed)
{
    struct lw_thread *t = (struct lw_thread *)(token & ~(uintptr_t)LW_TOK_LAZY);
    if (!t || t != lw_self || !t->blocked || t->bshort)
        return;
    struct lw_bsite *s = &t->bsite[t->bslot];
    if (!s->full) {
        int saved = errno;
        lw_tls_guard = 1;
        lw_stack_capture_alt(lw_wait_complete_copy, t, lw_stack_depth() + 8, 1); /* + us */
        lw_tls_guard = 0;
        errno = saved;
        t->bunwinds++;
    }
    if (resumed) {
        t->bresume = 1;
        t->bresume_ip = s->ip;
        t->bresume_obj = t->b.object;
        t->bresume_since = t->b.since_ns;
    }
}

void lw_wait_end(uintptr_t token)
{
    if (!token)
        return;
    struct lw_thread *t = (struct lw_thread *)(token & ~(uintptr_t)LW_TOK_LAZY);
    if (t != lw_self)
        return; /* the record went away (exit inside the wait) */
    lw_seq_begin(t);
    LW_SEQ_WR(t->blocked, 0);
    lw_seq_end(t);
}

/* Field by field with relaxed loads (LW_SEQ_RD); a torn copy is thrown
 * away by the caller's sequence check, but a count read mid-update is
 * bounded here before it is used. */
static void lw_blocked_copy(struct lw_blocked *out, struct lw_blocked *b, uintptr_t *stack,
                            uintptr_t *from)
{
    out->call = LW_SEQ_RD(b->call);
    out->family = LW_SEQ_RD(b->family);
    out->object = LW_SEQ_RD(b->object);
    out->caller = LW_SEQ_RD(b->caller);
    out->fd = LW_SEQ_RD(b->fd);
    out->nfds = LW_SEQ_RD(b->nfds);
    if (out->nfds < 0 || out->nfds > LW_WAIT_FDS)
        out->nfds = 0;
    for (int i = 0; i < out->nfds; i++)
        out->fds[i] = LW_SEQ_RD(b->fds[i]);
    out->owner = LW_SEQ_RD(b->owner);
    out->holder_tid = LW_SEQ_RD(b->holder_tid);
    out->join_tid = LW_SEQ_RD(b->join_tid);
    out->since_ns = LW_SEQ_RD(b->since_ns);
    out->timeout_ns = LW_SEQ_RD(b->timeout_ns);
    out->deadline_clk = LW_SEQ_RD(b->deadline_clk);
    out->nstack = LW_SEQ_RD(b->nstack);
    if (out->nstack < 0 || out->nstack > lw_stack_depth())
        out->nstack = 0;
    if (!from) /* a short wait: the caller frame alone */
        out->nstack = out->nstack > 0 ? 1 : 0;
    if (stack && from)
        for (int i = 0; i < out->nstack; i++)
            stack[i] = LW_SEQ_RD(from[i]);
    else if (stack && out->nstack)
        stack[0] = out->caller;
}

bool lw_thread_read_blocked(struct lw_thread *t, struct lw_blocked *out, uintptr_t *stack)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = atomic_load_explicit(&t->seq, memory_order_acquire);
        if (s1 & 1) {
            lw_cpu_relax();
            continue;
        }
        bool b = LW_SEQ_RD(t->blocked);
        if (b)
            lw_blocked_copy(out, &t->b, stack,
                            LW_SEQ_RD(t->bshort)
                                ? NULL
                                : lw_thread_bstack(t, lw_bslot_ok(LW_SEQ_RD(t->bslot))));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&t->seq, memory_order_relaxed) == s1)
            return b;
    }
    return false;
}

void lw_registry_after_fork_child(struct lw_thread *keep)
{
    lw_lock_reset(&lw_reg_lk);
    for (uint32_t i = 0; i < lw_reg_next; i++) {
        struct lw_thread *t = lw_reg_at(i);
        if (t->in_use && t != keep)
            lw_reg_free_locked(t);
    }
    atomic_store(&lw_stat_live, keep ? 1 : 0);
}

void lw_thread_ctx_push(struct lw_thread *t, lw_ctx_id id, bool background)
{
    if (t->ctx_depth >= LW_CTX_STACK || t->ctx_overflow) {
        /* deeper than we track: remember how many leaves to ignore */
        t->ctx_overflow++;
        return;
    }
    lw_ctx_ref(id);
    t->ctx_stack[t->ctx_depth] = id;
    if (background)
        t->ctx_bgmask |= 1u << t->ctx_depth;
    else
        t->ctx_bgmask &= ~(1u << t->ctx_depth);
    t->ctx_depth++;
}

int lw_thread_ctx_pop(struct lw_thread *t)
{
    if (t->ctx_overflow) {
        t->ctx_overflow--;
        return 0;
    }
    if (t->ctx_depth == 0)
        return -1;
    t->ctx_depth--;
    lw_ctx_unref(t->ctx_stack[t->ctx_depth]);
    return 0;
}
