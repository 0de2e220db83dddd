/* lw_fd.c — the fd/socket table (see lw_resources.h): slots per fd number, records
 * per open file description, dup aliases, ownership by common ancestor, epoll
 * registrations, counts for leakwatch_verify_ctx.
 *
 * Runs on arbitrary host threads inside interposed calls: no malloc, no stdio,
 * no interposed libc calls (platform calls only); the only lock is the
 * table's lw_lock_t, held for a few stores on create/close/dup/epoll_ctl.
 */
#include "lw_resources.h"

#include <string.h>

_Atomic(_Atomic uint32_t *) lw_fd_slots;
struct lw_fd_rec *lw_fd_recs;

static lw_lock_t fd_lock = LW_LOCK_INIT;
static uint32_t rec_free;  /* free list head (index), linked through ep_n */
static uint32_t rec_next = 1; /* never-used records start here (0 = none) */
static _Atomic int fd_high;
static int table_failed;
/* leakwatch's own descriptors (libunwind's pipe, ...) as fd + 1, 0 = free:
 * the close hooks leave them open (lw_fd_own_list) */
#define LW_FD_OWN_MAX 8
static _Atomic int own_fds[LW_FD_OWN_MAX];
static void own_set_locked(int fd, bool own);
static int full_once;

/* Map the slot array and the record pool once; MAP_NORESERVE so only the
 * pages actually touched cost memory. Caller holds fd_lock. */
static _Atomic uint32_t *table_init_locked(void)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_relaxed);
    if (slots || table_failed)
        return slots;
    void *s = lw_mmap_sparse((size_t)LW_FD_SLOTS * sizeof(uint32_t));
    void *r = lw_mmap_sparse((size_t)LW_FD_RECS * sizeof(struct lw_fd_rec));
    if (!s || !r) {
        lw_munmap(s, (size_t)LW_FD_SLOTS * sizeof(uint32_t));
        lw_munmap(r, (size_t)LW_FD_RECS * sizeof(struct lw_fd_rec));
        table_failed = 1;
        lw_log("fd table: mmap failed, sockets are not tracked");
        return NULL;
    }
    lw_fd_recs = r;
    atomic_store_explicit(&lw_fd_slots, (_Atomic uint32_t *)s, memory_order_release);
    return s;
}

static uint32_t rec_alloc_locked(void)
{
    uint32_t i = rec_free;
    if (i) {
        rec_free = (uint32_t)atomic_load_explicit(&lw_fd_recs[i].ep_n, memory_order_relaxed);
        return i;
    }
    if (rec_next < LW_FD_RECS)
        return rec_next++;
    return 0;
}

/* What a released record leaves to do once the lock is dropped. */
struct rel {
    lw_ctx_id un1, un2;
    uint32_t timer;
};

/* Drop one alias of record `v`; the last alias frees it. Caller holds lock.
 * Context unrefs and the timerfd's timer record end outside the lock. */
static void rec_release_locked(uint32_t v, struct rel *out)
{
    struct lw_fd_rec *r = &lw_fd_recs[v];
    if (atomic_fetch_sub_explicit(&r->aliases, 1, memory_order_acq_rel) != 1)
        return;
    out->un1 = atomic_exchange_explicit(&r->owner, LW_CTX_NONE, memory_order_relaxed);
    out->un2 = r->creator;
    out->timer = atomic_exchange_explicit(&r->timer, 0, memory_order_relaxed);
    r->creator = LW_CTX_NONE;
    /* unlink the other end first, so a reused record is never its pair */
    uint32_t p = atomic_exchange_explicit(&r->pair, 0, memory_order_relaxed);
    if (p && atomic_load_explicit(&lw_fd_recs[p].pair, memory_order_relaxed) == v)
        atomic_store_explicit(&lw_fd_recs[p].pair, 0, memory_order_relaxed);
    atomic_store_explicit(&r->ep_n, (int32_t)rec_free, memory_order_relaxed);
    rec_free = v;
}

static void rel_finish(const struct rel *o)
{
    if (o->un1 != LW_CTX_NONE)
        lw_ctx_unref(o->un1);
    if (o->un2 != LW_CTX_NONE)
        lw_ctx_unref(o->un2);
    if (o->timer)
        lw_timer_delete(o->timer);
}

static void unref2(lw_ctx_id a, lw_ctx_id b)
{
    if (a != LW_CTX_NONE)
        lw_ctx_unref(a);
    if (b != LW_CTX_NONE)
        lw_ctx_unref(b);
}

static void note_high(int fd)
{
    int h = atomic_load_explicit(&fd_high, memory_order_relaxed);
    while (fd + 1 > h &&
           !atomic_compare_exchange_weak_explicit(&fd_high, &h, fd + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

__attribute__((noinline)) struct lw_fd_rec *lw_fd_open(int fd, enum lw_fd_kind kind,
                                                      uint32_t flags, int skip)
{
    if (fd < 0 || (unsigned)fd >= LW_FD_SLOTS || lw_process_changed())
        return NULL; /* out of range, or a vfork child's (see lw_fd_close) */
    /* Everything that may be slow (unwinding, context lookups) happens
     * before the lock. */
    uintptr_t frames[LW_FD_STACK];
    int depth = lw_stack_depth();
    if (depth > LW_FD_STACK)
        depth = LW_FD_STACK;
    int n = depth > 0 ? lw_stack_capture(frames, depth, skip + 1) : 0;
    if (n < 0)
        n = 0;
    lw_ctx_id ctx = lw_ctx_current();
    lw_ctx_ref(ctx); /* creator */
    lw_ctx_ref(ctx); /* owner */

    struct rel rl = {0};
    lw_ctx_id stale = LW_CTX_NONE;
    lw_lock(&fd_lock);
    _Atomic uint32_t *slots = table_init_locked();
    uint32_t v = slots ? rec_alloc_locked() : 0;
    if (!v) {
        lw_unlock(&fd_lock);
        if (slots)
            lw_log_once(&full_once, "fd table full (%u open files): new fds are not tracked",
                        LW_FD_RECS - 1);
        unref2(ctx, ctx);
        return NULL;
    }
    struct lw_fd_rec *r = &lw_fd_recs[v];
    r->snap_mark = 0;
    r->kind = (uint8_t)kind;
    atomic_store_explicit(&r->flags, flags, memory_order_relaxed);
    /* exchange, not store: a racing late I/O on the record's previous fd
     * may have put a reference there after it was freed. */
    stale = atomic_exchange_explicit(&r->owner, ctx, memory_order_relaxed);
    r->creator = ctx;
    r->creator_tid = lw_gettid();
    __atomic_store_n(&r->created_ns, lw_now_ns(), __ATOMIC_RELAXED); /* lw_fd_use's memo reads it */
    atomic_store_explicit(&r->last_io_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&r->bytes_in, 0, memory_order_relaxed);
    atomic_store_explicit(&r->bytes_out, 0, memory_order_relaxed);
    atomic_store_explicit(&r->timer, 0, memory_order_relaxed);
    atomic_store_explicit(&r->epoll, -1, memory_order_relaxed);
    atomic_store_explicit(&r->ep_n, 0, memory_order_relaxed);
    atomic_store_explicit(&r->rcvtimeo_ns, -1, memory_order_relaxed);
    atomic_store_explicit(&r->sndtimeo_ns, -1, memory_order_relaxed);
    atomic_store_explicit(&r->pair, 0, memory_order_relaxed);
    atomic_store_explicit(&r->pair_fd, -1, memory_order_relaxed);
    memcpy(r->frames, frames, (size_t)n * sizeof(uintptr_t));
    r->nframes = (uint32_t)n;
    atomic_store_explicit(&r->aliases, 1, memory_order_relaxed);
    /* The fd number may still point at a record whose close we did not see
     * (fclose, raw close): that record loses an alias. */
    uint32_t old = atomic_exchange_explicit(&slots[fd], v, memory_order_release);
    if (old && old != LW_FD_SLOT_INTERNAL)
        rec_release_locked(old, &rl);
    lw_unlock(&fd_lock);
    note_high(fd);
    rel_finish(&rl);
    if (stale != LW_CTX_NONE)
        lw_ctx_unref(stale);
    return r;
}

void lw_fd_dup(int oldfd, int newfd)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    if (!slots || (unsigned)newfd >= LW_FD_SLOTS || oldfd == newfd)
        return;
    if (atomic_load_explicit(&slots[newfd], memory_order_relaxed) == 0 &&
        ((unsigned)oldfd >= LW_FD_SLOTS || atomic_load_explicit(&slots[oldfd], memory_order_relaxed) == 0))
        return; /* neither number tracked: nothing changes */
    if (lw_process_changed())
        return; /* a vfork child's dup2 (see lw_fd_close) */
    struct rel rl = {0};
    lw_lock(&fd_lock);
    uint32_t v = (unsigned)oldfd < LW_FD_SLOTS ? atomic_load(&slots[oldfd]) : 0;
    if (v == LW_FD_SLOT_INTERNAL)
        v = 0;
    if (v)
        atomic_fetch_add_explicit(&lw_fd_recs[v].aliases, 1, memory_order_relaxed);
    uint32_t old = atomic_exchange_explicit(&slots[newfd], v, memory_order_release);
    if (old == LW_FD_SLOT_INTERNAL)
        own_set_locked(newfd, false); /* the program dup2'd onto our number */
    else if (old)
        rec_release_locked(old, &rl);
    lw_unlock(&fd_lock);
    if (v)
        note_high(newfd);
    rel_finish(&rl);
}

/* Caller holds fd_lock. */
static void own_set_locked(int fd, bool own)
{
    int free_i = -1;
    for (int i = 0; i < LW_FD_OWN_MAX; i++) {
        int v = atomic_load_explicit(&own_fds[i], memory_order_relaxed);
        if (v == fd + 1) {
            if (!own)
                atomic_store_explicit(&own_fds[i], 0, memory_order_relaxed);
            return;
        }
        if (v == 0 && free_i < 0)
            free_i = i;
    }
    if (own && free_i >= 0)
        atomic_store_explicit(&own_fds[free_i], fd + 1, memory_order_relaxed);
}

int lw_fd_own_list(int *out, int max)
{
    int n = 0;
    for (int i = 0; i < LW_FD_OWN_MAX && n < max; i++) {
        int v = atomic_load_explicit(&own_fds[i], memory_order_relaxed);
        if (v > 0)
            out[n++] = v - 1;
    }
    for (int i = 1; i < n; i++) /* ascending: the close hooks walk ranges */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

void lw_fd_close(int fd)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    if (!slots || (unsigned)fd >= LW_FD_SLOTS)
        return;
    if (atomic_load_explicit(&slots[fd], memory_order_relaxed) == 0)
        return; /* the common untracked case: no lock */
    /* A vfork child (CPython's subprocess, posix_spawn-like code) closes
     * and dups in the parent's memory before it execs: its descriptor
     * table is its own, our table is the parent's. Its close erased the
     * parent's record of a socket the parent still had open. */
    if (lw_process_changed())
        return;
    struct rel rl = {0};
    lw_lock(&fd_lock);
    uint32_t old = atomic_exchange_explicit(&slots[fd], 0, memory_order_release);
    if (old == LW_FD_SLOT_INTERNAL)
        own_set_locked(fd, false);
    else if (old)
        rec_release_locked(old, &rl);
    lw_unlock(&fd_lock);
    rel_finish(&rl);
}

void lw_fd_forget(int fd)
{
    lw_fd_close(fd);
}

void lw_fd_link_pair(int fd0, int fd1)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    if (!slots || (unsigned)fd0 >= LW_FD_SLOTS || (unsigned)fd1 >= LW_FD_SLOTS ||
        lw_process_changed())
        return;
    lw_lock(&fd_lock);
    /* read under the lock: either end may have been closed meanwhile */
    uint32_t a = atomic_load_explicit(&slots[fd0], memory_order_relaxed);
    uint32_t b = atomic_load_explicit(&slots[fd1], memory_order_relaxed);
    if (a && b && a != b && a != LW_FD_SLOT_INTERNAL && b != LW_FD_SLOT_INTERNAL) {
        atomic_store_explicit(&lw_fd_recs[a].pair_fd, fd1, memory_order_relaxed);
        atomic_store_explicit(&lw_fd_recs[a].pair, b, memory_order_relaxed);
        atomic_store_explicit(&lw_fd_recs[b].pair_fd, fd0, memory_order_relaxed);
        atomic_store_explicit(&lw_fd_recs[b].pair, a, memory_order_relaxed);
    }
    lw_unlock(&fd_lock);
}

int lw_fd_pair_fd(const struct lw_fd_rec *r)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    uint32_t p = atomic_load_explicit(&r->pair, memory_order_relaxed);
    int fd = atomic_load_explicit(&r->pair_fd, memory_order_relaxed);
    /* that fd may since have been closed (the other end living on through
     * a dup) or reused: only an fd still pointing at the pair counts */
    if (!slots || !p || fd < 0 || (unsigned)fd >= LW_FD_SLOTS ||
        atomic_load_explicit(&slots[fd], memory_order_relaxed) != p)
        return -1;
    return fd;
}

void lw_fd_mark_internal(int fd, bool internal)
{
    if ((unsigned)fd >= LW_FD_SLOTS || lw_process_changed())
        return;
    struct rel rl = {0};
    lw_lock(&fd_lock);
    _Atomic uint32_t *slots = table_init_locked();
    if (slots) {
        uint32_t old = atomic_exchange_explicit(&slots[fd], internal ? LW_FD_SLOT_INTERNAL : 0,
                                                memory_order_release);
        if (old && old != LW_FD_SLOT_INTERNAL)
            rec_release_locked(old, &rl);
        own_set_locked(fd, internal);
    }
    lw_unlock(&fd_lock);
    rel_finish(&rl);
}

bool lw_fd_is_internal(int fd)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    return slots && (unsigned)fd < LW_FD_SLOTS &&
           atomic_load_explicit(&slots[fd], memory_order_relaxed) == LW_FD_SLOT_INTERNAL;
}

void lw_fd_set_owner(struct lw_fd_rec *r, lw_ctx_id ctx)
{
    lw_ctx_ref(ctx);
    lw_ctx_id old = atomic_exchange_explicit(&r->owner, ctx, memory_order_relaxed);
    if (old != LW_CTX_NONE)
        lw_ctx_unref(old);
}

__thread __attribute__((tls_model("initial-exec"))) struct lw_fd_rec *lw_fu_rec[2];
__thread __attribute__((tls_model("initial-exec"))) uint64_t lw_fu_born[2];

void lw_fd_use_forget(void)
{
    lw_fu_rec[0] = lw_fu_rec[1] = NULL;
}

static void lw_fd_use_join(struct lw_fd_rec *r, lw_ctx_id cur);

__attribute__((noinline)) void lw_fd_use_slow(struct lw_fd_rec *r)
{
    uint64_t born = __atomic_load_n(&r->created_ns, __ATOMIC_RELAXED);
    lw_fd_use_join(r, lw_ctx_current());
    lw_fu_rec[1] = lw_fu_rec[0];
    lw_fu_born[1] = lw_fu_born[0];
    lw_fu_rec[0] = r;
    lw_fu_born[0] = born;
}

static void lw_fd_use_join(struct lw_fd_rec *r, lw_ctx_id cur)
{
    /* a plain load first: a descendant of the owner comes here on every
     * call and must not pay a locked instruction */
    if (!(atomic_load_explicit(&r->flags, memory_order_relaxed) & LW_FDF_USED) &&
        !(atomic_fetch_or_explicit(&r->flags, LW_FDF_USED, memory_order_relaxed) & LW_FDF_USED)) {
        /* first use: creating or accepting counted only until now */
        if (atomic_load_explicit(&r->owner, memory_order_relaxed) != cur)
            lw_fd_set_owner(r, cur);
        return;
    }
    lw_ctx_id own = atomic_load_explicit(&r->owner, memory_order_relaxed);
    for (int tries = 0; tries < 8; tries++) {
        if (lw_ctx_covers(own, cur))
            return;
        /* the record's reference keeps `own` and so its ancestors live */
        lw_ctx_id l = own == LW_CTX_NONE ? cur : lw_ctx_lca(own, cur);
        if (l == LW_CTX_NONE)
            l = cur;
        lw_ctx_ref(l);
        if (atomic_compare_exchange_strong_explicit(&r->owner, &own, l, memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            if (own != LW_CTX_NONE)
                lw_ctx_unref(own);
            return;
        }
        lw_ctx_unref(l);
    }
}

void lw_fd_epoll_add(int epfd, int fd)
{
    struct lw_fd_rec *ep = lw_fd_get(epfd), *t = lw_fd_get(fd);
    if ((ep || t) && lw_process_changed())
        return;
    /* registering is using both: the set and the fd it will wait on */
    if (ep)
        lw_fd_use(ep);
    if (t) {
        lw_fd_use(t);
        atomic_store_explicit(&t->epoll, epfd, memory_order_relaxed);
    }
    if (!ep || ep->kind != LW_FD_EPOLL)
        return;
    lw_lock(&fd_lock);
    int n = atomic_load_explicit(&ep->ep_n, memory_order_relaxed);
    int i;
    for (i = 0; i < n; i++)
        if (atomic_load_explicit(&ep->ep_fds[i], memory_order_relaxed) == fd)
            break;
    if (i == n && n < LW_FD_EPOLL_MAX) {
        atomic_store_explicit(&ep->ep_fds[n], fd, memory_order_relaxed);
        atomic_store_explicit(&ep->ep_n, n + 1, memory_order_release);
    }
    lw_unlock(&fd_lock);
}

void lw_fd_epoll_del(int epfd, int fd)
{
    struct lw_fd_rec *ep = lw_fd_get(epfd), *t = lw_fd_get(fd);
    if ((ep || t) && lw_process_changed())
        return;
    if (t && atomic_load_explicit(&t->epoll, memory_order_relaxed) == epfd)
        atomic_store_explicit(&t->epoll, -1, memory_order_relaxed);
    if (!ep || ep->kind != LW_FD_EPOLL)
        return;
    lw_lock(&fd_lock);
    int n = atomic_load_explicit(&ep->ep_n, memory_order_relaxed);
    for (int i = 0; i < n; i++) {
        if (atomic_load_explicit(&ep->ep_fds[i], memory_order_relaxed) != fd)
            continue;
        int last = atomic_load_explicit(&ep->ep_fds[n - 1], memory_order_relaxed);
        atomic_store_explicit(&ep->ep_fds[i], last, memory_order_relaxed);
        atomic_store_explicit(&ep->ep_n, n - 1, memory_order_release);
        break;
    }
    lw_unlock(&fd_lock);
}

int lw_fd_epoll_fds(int epfd, int *out, int max)
{
    if (max <= 0)
        return 0;
    out[0] = epfd;
    struct lw_fd_rec *ep = lw_fd_get(epfd);
    if (!ep || ep->kind != LW_FD_EPOLL)
        return 1;
    int n = atomic_load_explicit(&ep->ep_n, memory_order_acquire);
    if (n > LW_FD_EPOLL_MAX)
        n = LW_FD_EPOLL_MAX;
    int k = 1;
    for (int i = 0; i < n && k < max; i++)
        out[k++] = atomic_load_explicit(&ep->ep_fds[i], memory_order_relaxed);
    return k;
}

int lw_fd_high(void)
{
    return atomic_load_explicit(&fd_high, memory_order_relaxed);
}

int lw_fd_count_under(lw_ctx_id ctx)
{
    if (!atomic_load_explicit(&lw_fd_slots, memory_order_acquire))
        return 0;
    int count = 0;
    lw_lock(&fd_lock);
    uint32_t hi = rec_next;
    lw_unlock(&fd_lock);
    for (uint32_t i = 1; i < hi; i++) {
        struct lw_fd_rec *r = &lw_fd_recs[i];
        if (atomic_load_explicit(&r->aliases, memory_order_acquire) == 0)
            continue;
        if (lw_ctx_is_under(atomic_load_explicit(&r->owner, memory_order_relaxed), ctx))
            count++;
    }
    return count;
}

void lw_fd_lock_for_fork(bool lock)
{
    lw_lock_hold(&fd_lock, lock);
}

void lw_fd_after_fork_child(void)
{
    /* own descriptors stay: they were inherited (close-on-exec) */
    lw_lock_reset(&fd_lock);
}
