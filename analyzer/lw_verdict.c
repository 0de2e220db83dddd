/* lw_verdict.c — verdicts for one snapshot (docs/design.md §2).
 *
 * Owns the rules of docs/design.md §2: leaked (thread, timer, socket, fd),
 * unjoined, stuck, the parked exception with its limits (never for the
 * target of pthread_cancel, never for a stuck thread), fds in use by a live
 * thread, and the exit snapshot's split of live threads into leaked (their
 * own scope ended before exit) and alive_at_exit (owned by the process
 * scope), with no grace (the shim already waited exit_grace_ms). The main
 * thread and foreign threads are never findings.
 * Must never: symbolize (verdicts depend only on recorded facts, so they are
 * the same with or without debug info), or loop without a bound on
 * hostile wait-for graphs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"

bool lw_is_exit_snapshot(const struct lw_snapshot *s)
{
    return s->trigger == LW_TRIGGER_EXIT;
}

static bool is_alive(const struct lw_snap_thread *t)
{
    return t->state != LW_TS_EXITED;
}

static bool waits_on_mutex(const struct lw_snap_thread *t)
{
    return t->is_blocked && t->blocked.holder_tid >= 0 &&
           (t->blocked.family == LW_FAMILY_MUTEX || t->blocked.family == LW_FAMILY_RWLOCK);
}

/* Stuck: blocked (>= grace) on a mutex that can never be released: its
 * holder is not a live thread, or the holders' chain loops (deadlock), or
 * the chain ends at a thread that is itself stuck that way. */
static char *stuck_detail(const struct lw_snapshot *s, size_t i, int64_t g, bool exit_snap)
{
    const struct lw_snap_thread *t = &s->threads[i];
    if (!is_alive(t) || !waits_on_mutex(t))
        return NULL;
    int64_t now = s->taken_mono_ns;
    if (!exit_snap && (t->blocked.since_ns < 0 || now - t->blocked.since_ns < g))
        return NULL;
    int64_t holder = t->blocked.holder_tid;
    unsigned long long obj = (unsigned long long)(t->blocked.object < 0 ? 0 : t->blocked.object);
    if (holder == t->tid)
        return lw_xasprintf("waits for mutex 0x%llx that it already holds itself (self-deadlock)", obj);
    int hi = lw_snapshot_live_thread(s, holder);
    if (hi < 0)
        return lw_xasprintf("waits for mutex 0x%llx held by thread %lld, which exited without unlocking it", obj,
                            (long long)holder);
    /* Follow the wait-for chain, bounded by the number of threads. */
    char chain[512];
    int len = snprintf(chain, sizeof chain, "%lld -> %lld", (long long)t->tid, (long long)holder);
    size_t steps = 0;
    while (steps++ <= s->nthreads) {
        const struct lw_snap_thread *h = &s->threads[hi];
        if (!waits_on_mutex(h))
            return NULL;
        int64_t next = h->blocked.holder_tid;
        if (len > 0 && (size_t)len < sizeof chain)
            len += snprintf(chain + len, sizeof chain - (size_t)len, " -> %lld", (long long)next);
        if (next == t->tid)
            return lw_xasprintf("wait-for cycle between threads blocked on mutexes held by each other: %s", chain);
        hi = lw_snapshot_live_thread(s, next);
        if (hi < 0)
            return lw_xasprintf("waits for mutex 0x%llx held by thread %lld, which waits (%s) on a mutex whose holder "
                                "%lld exited without unlocking it",
                                obj, (long long)holder, chain, (long long)next);
    }
    return lw_xasprintf("waits for mutex 0x%llx held by thread %lld, which is part of a wait-for cycle", obj,
                        (long long)holder);
}

/* Index of the snapshot's socket record for fd, or -1 (sorted lookup). */
struct fd_ix {
    int64_t fd;
    size_t i;
};
static int cmp_fd_ix(const void *a, const void *b)
{
    const struct fd_ix *x = a, *y = b;
    return x->fd < y->fd ? -1 : x->fd > y->fd;
}
static struct fd_ix *fd_index(const struct lw_snapshot *s)
{
    struct fd_ix *ix = lw_xcalloc(s->nsockets ? s->nsockets : 1, sizeof(*ix));
    for (size_t k = 0; k < s->nsockets; k++)
        ix[k] = (struct fd_ix){s->sockets[k].fd, k};
    qsort(ix, s->nsockets, sizeof(*ix), cmp_fd_ix);
    return ix;
}
static int socket_of(const struct lw_snapshot *s, const struct fd_ix *ix, int64_t fd)
{
    struct fd_ix key = {fd, 0};
    const struct fd_ix *hit = bsearch(&key, ix, s->nsockets, sizeof(*ix), cmp_fd_ix);
    return hit ? (int)hit->i : -1;
}

/* Owner context of what a blocked thread waits on (docs/design.md §2.1):
 * an fd's current owner (the lowest common ancestor of its users, read at
 * snapshot time; for a poll or epoll set, its first tracked fd: the epoll
 * instance itself), else the wait object's owner. */
static int object_owner_idx(const struct lw_snapshot *s, const struct fd_ix *ix, const struct lw_snap_thread *t)
{
    int k = t->blocked.fd >= 0 ? socket_of(s, ix, t->blocked.fd) : -1;
    for (size_t i = 0; k < 0 && i < t->blocked.nfds; i++)
        k = socket_of(s, ix, t->blocked.fds[i]);
    if (k >= 0 && !s->sockets[k].foreign && s->sockets[k].ctx_idx >= 0)
        return s->sockets[k].ctx_idx;
    if (t->blocked.object_owner >= 0)
        return lw_snapshot_ctx_index(s, t->blocked.object_owner);
    return -1;
}

static bool was_cancel_target(const struct lw_snapshot *s, const struct lw_snap_thread *t)
{
    if (t->cancel_requested_ns >= 0)
        return true;
    if (t->ctx_idx < 0)
        return false;
    const struct lw_snap_ctx *c = &s->ctxs[t->ctx_idx];
    return c->cause == LW_CAUSE_PTHREAD_CANCEL && c->cancel_origin == c->id;
}

/* A scope the process still has: not cancelled, or (at the exit snapshot)
 * cancelled only because the process is exiting — the root and whatever
 * lives under it without a scope of its own that ended earlier. */
static bool ctx_live(const struct lw_snapshot *s, int ci, bool exit_snap)
{
    if (ci < 0)
        return false;
    const struct lw_snap_ctx *c = &s->ctxs[ci];
    if (c->cancelled_ns < 0)
        return true;
    return exit_snap && c->cause == LW_CAUSE_PROCESS_EXIT;
}

/* Owner context cancelled at least g ago. At the exit snapshot a resource
 * whose owner scope ended before the process began to exit is leaked at once
 * (nothing will close it now); one owned by a scope that ends only with the
 * process (cause process_exit: the root, its background children) is not:
 * the exit rule for threads (alive_at_exit) has no counterpart for
 * process-lifetime sockets such as libuv's signal pipe. */
static bool ctx_expired(const struct lw_snapshot *s, int ci, int64_t g, bool exit_snap)
{
    if (ci < 0)
        return false;
    const struct lw_snap_ctx *c = &s->ctxs[ci];
    if (c->cancelled_ns < 0)
        return false;
    if (exit_snap)
        return !ctx_live(s, ci, true);
    return s->taken_mono_ns - c->cancelled_ns >= g;
}

/* Parked (docs/design.md §2.1): blocked on an object whose owner scope is
 * live. Only a thread whose cancellation it inherited: the target of
 * pthread_cancel is never excused (stuck threads never get here). */
static bool parked(const struct lw_snapshot *s, const struct fd_ix *ix, const struct lw_snap_thread *t, bool exit_snap,
                   char **detail)
{
    if (!t->is_blocked || was_cancel_target(s, t))
        return false;
    int oi = object_owner_idx(s, ix, t);
    if (!ctx_live(s, oi, exit_snap))
        return false;
    const struct lw_snap_ctx *o = &s->ctxs[oi];
    *detail = lw_xasprintf("parked: waits on an object owned by live context %lld%s%s%s (thread %lld)",
                           (long long)o->id, o->label ? " \"" : "", o->label ? o->label : "", o->label ? "\"" : "",
                           (long long)(o->parent_idx < 0 ? s->pid : o->owner_tid));
    return true;
}

static enum lw_status judge_thread(const struct lw_snapshot *s, const struct fd_ix *ix, size_t i, int64_t g,
                                   bool exit_snap, char **detail)
{
    const struct lw_snap_thread *t = &s->threads[i];
    if (t->kind != LW_TK_TRACKED)
        return LW_ST_NONE;  /* main: never a finding; foreign: never on its own */
    if (!is_alive(t)) {
        /* at exit nothing can join it any more: no grace */
        if (t->exited_ns >= 0 && !t->joined && !t->detached && (exit_snap || s->taken_mono_ns - t->exited_ns >= g))
            return LW_ST_UNJOINED;
        return LW_ST_NONE;
    }
    char *st = stuck_detail(s, i, g, exit_snap);
    if (st) {
        *detail = st;
        return LW_ST_STUCK;
    }
    if (exit_snap) {
        /* owned by the process scope itself, or parked on something it
         * owns: nothing stopped it, but no scope of its own ended */
        if (t->ctx_idx < 0 || ctx_live(s, t->ctx_idx, true) || parked(s, ix, t, true, detail))
            return LW_ST_ALIVE_AT_EXIT;
        return LW_ST_LEAKED;
    }
    if (!ctx_expired(s, t->ctx_idx, g, false))
        return LW_ST_NONE;
    if (parked(s, ix, t, false, detail))
        return LW_ST_PARKED;
    return LW_ST_LEAKED;
}

static void mark_fd(const struct lw_snapshot *s, const struct fd_ix *ix, int64_t fd, bool *in_use, int depth)
{
    int k = socket_of(s, ix, fd);
    if (k < 0 || in_use[k])
        return;
    in_use[k] = true;
    /* an epoll set waited on: every fd registered in it is waited on */
    for (size_t r = 0; depth < 2 && r < s->sockets[k].nregistered; r++)
        mark_fd(s, ix, s->sockets[k].registered[r], in_use, depth + 1);
}

/* Sockets and fds that a live thread which is not itself a finding is
 * blocked on, directly or through a poll/epoll set: in use, whoever owns
 * them (docs/design.md §2.1). The only exception there is: a listening
 * socket nobody live waits on is judged like any other. */
static bool *fds_in_use(const struct lw_snapshot *s, const struct fd_ix *ix, const struct lw_judgement *j)
{
    bool *in_use = lw_xcalloc(s->nsockets ? s->nsockets : 1, sizeof(bool));
    for (size_t i = 0; i < s->nthreads; i++) {
        const struct lw_snap_thread *t = &s->threads[i];
        if (!t->is_blocked || j->threads[i] == LW_ST_LEAKED || j->threads[i] == LW_ST_STUCK)
            continue;
        if (t->blocked.fd >= 0)
            mark_fd(s, ix, t->blocked.fd, in_use, 0);
        for (size_t k = 0; k < t->blocked.nfds; k++)
            mark_fd(s, ix, t->blocked.fds[k], in_use, 0);
    }
    return in_use;
}

void lw_judge(const struct lw_snapshot *s, int64_t grace_ms, struct lw_judgement *j)
{
    int64_t g = grace_ms < 0 ? 0 : grace_ms * 1000000;
    bool exit_snap = lw_is_exit_snapshot(s);
    j->threads = lw_xcalloc(s->nthreads, sizeof(*j->threads));
    j->thread_detail = lw_xcalloc(s->nthreads, sizeof(*j->thread_detail));
    j->timers = lw_xcalloc(s->ntimers, sizeof(*j->timers));
    j->sockets = lw_xcalloc(s->nsockets, sizeof(*j->sockets));
    struct fd_ix *ix = fd_index(s);
    for (size_t i = 0; i < s->nthreads; i++)
        j->threads[i] = judge_thread(s, ix, i, g, exit_snap, &j->thread_detail[i]);
    for (size_t i = 0; i < s->ntimers; i++)
        j->timers[i] = ctx_expired(s, s->timers[i].ctx_idx, g, exit_snap) ? LW_ST_LEAKED : LW_ST_NONE;
    bool *in_use = fds_in_use(s, ix, j);
    for (size_t i = 0; i < s->nsockets; i++) {
        const struct lw_snap_socket *k = &s->sockets[i];
        /* a timerfd is one resource, its timer (judged above) */
        if (k->foreign || k->timer >= 0 || in_use[i])
            continue;
        j->sockets[i] = ctx_expired(s, k->ctx_idx, g, exit_snap) ? LW_ST_LEAKED : LW_ST_NONE;
    }
    free(in_use);
    free(ix);
}

void lw_judgement_free(const struct lw_snapshot *s, struct lw_judgement *j)
{
    if (j->thread_detail)
        for (size_t i = 0; i < s->nthreads; i++)
            free(j->thread_detail[i]);
    free(j->thread_detail);
    free(j->threads);
    free(j->timers);
    free(j->sockets);
    memset(j, 0, sizeof(*j));
}
