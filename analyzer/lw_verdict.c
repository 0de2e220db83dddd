/* lw_verdict.c — DESIGN.md §2 verdicts for one snapshot.
 *
 * Owns the rules: leaked (thread, timer, socket), unjoined, stuck, and the
 * parked exception with its limits (never for the target of pthread_cancel,
 * never for a stuck thread). The main thread and foreign threads are never
 * findings. At the exit snapshot every live non-main thread is leaked with
 * no grace and no parking (the shim already waited exit_grace_ms).
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

/* Owner context of the object a blocked thread waits on: the recorded
 * object_owner, else the owner of the fd it waits on. */
static int object_owner_idx(const struct lw_snapshot *s, const struct lw_snap_thread *t)
{
    if (t->blocked.object_owner >= 0)
        return lw_snapshot_ctx_index(s, t->blocked.object_owner);
    if (t->blocked.fd >= 0)
        for (size_t k = 0; k < s->nsockets; k++)
            if (s->sockets[k].fd == t->blocked.fd)
                return s->sockets[k].ctx_idx;
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

/* Owner context cancelled at least g ago. At the exit snapshot a resource
 * whose owner scope ended before the process began to exit is leaked at once
 * (nothing will close it now); one owned by a scope that ends only with the
 * process (cause process_exit: the root, its background children) is not:
 * DESIGN.md's no-grace exit rule is for threads, and process-lifetime
 * sockets such as libuv's signal pipe in ctest are not leaks. */
static bool ctx_expired(const struct lw_snapshot *s, int ci, int64_t g, bool exit_snap)
{
    if (ci < 0)
        return false;
    const struct lw_snap_ctx *c = &s->ctxs[ci];
    if (c->cancelled_ns < 0)
        return false;
    if (exit_snap)
        return c->cause != LW_CAUSE_PROCESS_EXIT;
    return s->taken_mono_ns - c->cancelled_ns >= g;
}

static enum lw_status judge_thread(const struct lw_snapshot *s, size_t i, int64_t g, bool exit_snap, char **detail)
{
    const struct lw_snap_thread *t = &s->threads[i];
    if (t->kind != LW_TK_TRACKED)
        return LW_ST_NONE;  /* main: never a finding; foreign: never on its own */
    if (!is_alive(t)) {
        if (t->exited_ns >= 0 && !t->joined && !t->detached && s->taken_mono_ns - t->exited_ns >= g)
            return LW_ST_UNJOINED;
        return LW_ST_NONE;
    }
    char *st = stuck_detail(s, i, g, exit_snap);
    if (st) {
        *detail = st;
        return LW_ST_STUCK;
    }
    if (exit_snap)
        return LW_ST_LEAKED;
    if (!ctx_expired(s, t->ctx_idx, g, false))
        return LW_ST_NONE;
    if (t->is_blocked && !was_cancel_target(s, t)) {
        int oi = object_owner_idx(s, t);
        if (oi >= 0 && s->ctxs[oi].cancelled_ns < 0) {
            const struct lw_snap_ctx *o = &s->ctxs[oi];
            *detail = lw_xasprintf("parked: waits on an object owned by live context %lld%s%s%s (thread %lld)",
                                   (long long)o->id, o->label ? " \"" : "", o->label ? o->label : "",
                                   o->label ? "\"" : "", (long long)o->owner_tid);
            return LW_ST_PARKED;
        }
    }
    return LW_ST_LEAKED;
}

void lw_judge(const struct lw_snapshot *s, int64_t grace_ms, struct lw_judgement *j)
{
    int64_t g = grace_ms < 0 ? 0 : grace_ms * 1000000;
    bool exit_snap = lw_is_exit_snapshot(s);
    j->threads = lw_xcalloc(s->nthreads, sizeof(*j->threads));
    j->thread_detail = lw_xcalloc(s->nthreads, sizeof(*j->thread_detail));
    j->timers = lw_xcalloc(s->ntimers, sizeof(*j->timers));
    j->sockets = lw_xcalloc(s->nsockets, sizeof(*j->sockets));
    for (size_t i = 0; i < s->nthreads; i++)
        j->threads[i] = judge_thread(s, i, g, exit_snap, &j->thread_detail[i]);
    for (size_t i = 0; i < s->ntimers; i++)
        j->timers[i] = ctx_expired(s, s->timers[i].ctx_idx, g, exit_snap) ? LW_ST_LEAKED : LW_ST_NONE;
    for (size_t i = 0; i < s->nsockets; i++) {
        const struct lw_snap_socket *k = &s->sockets[i];
        /* A listening socket is a service's front door; while the process
         * runs it is never a leak, whoever opened it. */
        if (k->foreign || (k->listening && !exit_snap))
            continue;
        j->sockets[i] = ctx_expired(s, k->ctx_idx, g, exit_snap) ? LW_ST_LEAKED : LW_ST_NONE;
    }
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
