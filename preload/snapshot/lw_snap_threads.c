/* lw_snap_threads.c — the "threads" array of a snapshot: a copy of the
 * registry taken under its lock, merged with a /proc/self/task scan (foreign
 * threads, names, uncaught blocking syscalls).
 * Runs only in the snapshot writer (may allocate); must never hold the
 * registry lock while reading /proc or writing.
 */
#include "lw_snapshot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

/* ---- threads ---- */

struct lw_tcopy {
    int tid, creator_tid, kind;
    int joined, detached, exited, exit_kind;
    int cstack_n;
    bool blocked;
    lw_ctx_id ctx, cur_ctx;
    uint64_t created_ns, exited_ns, cancel_req_ns, waits, wakes;
    uintptr_t start;
    char name[16];
    struct lw_blocked b;
    uintptr_t *cstack, *bstack;
    bool seen_in_proc;
    uint32_t index; /* record index and serial: the Python side table's key */
    uint64_t serial;
};

struct lw_gather {
    struct lw_tcopy *v;
    size_t n, cap;
    uintptr_t *pool;
    size_t pool_used, depth;
};

static void lw_copy_one(struct lw_thread *t, void *arg)
{
    struct lw_gather *g = arg;
    if (g->n == g->cap)
        return;
    struct lw_tcopy *c = &g->v[g->n++];
    memset(c, 0, sizeof *c);
    c->tid = lw_thread_tid(t);
    c->index = t->index;
    c->serial = t->serial;
    c->creator_tid = t->creator_tid;
    c->kind = t->kind;
    c->joined = t->joined;
    c->detached = t->detached;
    c->exited = t->exited;
    c->exit_kind = t->exit_kind;
    c->ctx = t->ctx;
    c->cur_ctx = lw_thread_current_ctx(t, NULL);
    c->created_ns = t->created_ns;
    c->exited_ns = t->exited_ns;
    c->cancel_req_ns = t->cancel_req_ns;
    c->waits = atomic_load(&t->waits);
    c->wakes = atomic_load(&t->wakes_since_cancel);
    c->start = t->start;
    memcpy(c->name, t->name, sizeof c->name);
    c->name[15] = 0;
    c->cstack = g->pool + g->pool_used;
    c->cstack_n = t->cstack_n;
    if (c->cstack_n > (int)g->depth)
        c->cstack_n = (int)g->depth;
    memcpy(c->cstack, lw_thread_cstack(t), (size_t)c->cstack_n * sizeof(uintptr_t));
    c->bstack = c->cstack + g->depth;
    g->pool_used += 2 * g->depth;
    if (!c->exited)
        c->blocked = lw_thread_read_blocked(t, &c->b, c->bstack);
}

static int lw_tcopy_cmp(const void *a, const void *b)
{
    const struct lw_tcopy *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->exited - y->exited; /* live record first on tid reuse */
}

static struct lw_tcopy *lw_find_tid(struct lw_gather *g, int tid)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->v[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->n && g->v[lo].tid == tid && !g->v[lo].exited)
        return &g->v[lo];
    return NULL;
}

/* ---- /proc ---- */

struct lw_sysname {
    long nr;
    const char *name, *family;
};
static const struct lw_sysname lw_sysnames[] = {
    {SYS_futex, "futex", "futex"},
    {SYS_nanosleep, "nanosleep", "sleep"},
    {SYS_clock_nanosleep, "clock_nanosleep", "sleep"},
    {SYS_read, "read", "read"},
    {SYS_readv, "readv", "read"},
    {SYS_pread64, "pread64", "read"},
    {SYS_recvfrom, "recvfrom", "socket"},
    {SYS_recvmsg, "recvmsg", "socket"},
    {SYS_recvmmsg, "recvmmsg", "socket"},
    {SYS_accept, "accept", "socket"},
    {SYS_accept4, "accept4", "socket"},
    {SYS_connect, "connect", "socket"},
    {SYS_sendto, "sendto", "socket"},
    {SYS_sendmsg, "sendmsg", "socket"},
    {SYS_write, "write", "other"},
    {SYS_ppoll, "ppoll", "poll"},
    {SYS_pselect6, "pselect6", "poll"},
    {SYS_epoll_pwait, "epoll_pwait", "poll"},
#ifdef SYS_poll
    {SYS_poll, "poll", "poll"},
#endif
#ifdef SYS_select
    {SYS_select, "select", "poll"},
#endif
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait", "poll"},
#endif
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2", "poll"},
#endif
#ifdef SYS_pause
    {SYS_pause, "pause", "other"},
#endif
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", "other"},
    {SYS_rt_sigsuspend, "rt_sigsuspend", "other"},
    {SYS_wait4, "wait4", "other"},
    {SYS_waitid, "waitid", "other"},
    {SYS_flock, "flock", "other"},
    {SYS_fcntl, "fcntl", "other"},
    {SYS_msgrcv, "msgrcv", "other"},
    {SYS_semop, "semop", "other"},
    {SYS_semtimedop, "semtimedop", "other"},
    {SYS_io_getevents, "io_getevents", "other"},
#ifdef SYS_io_uring_enter
    {SYS_io_uring_enter, "io_uring_enter", "other"},
#endif
};

static const struct lw_sysname *lw_sys_lookup(long nr)
{
    for (size_t i = 0; i < sizeof lw_sysnames / sizeof lw_sysnames[0]; i++)
        if (lw_sysnames[i].nr == nr)
            return &lw_sysnames[i];
    return NULL;
}

/* ---- writing ---- */

static const char *lw_exit_name(int k)
{
    switch (k) {
    case LW_EXIT_RETURN: return "return";
    case LW_EXIT_PTHREAD_EXIT: return "pthread_exit";
    case LW_EXIT_CANCELLED: return "cancelled";
    default: return NULL;
    }
}

void lw_kuint_or_null(struct lw_json *w, const char *k, uint64_t v)
{
    lw_json_key(w, k);
    if (v)
        lw_json_uint(w, v);
    else
        lw_json_null(w);
}

static void lw_kstack(struct lw_snap *s, struct lw_json *w, const char *k, const uintptr_t *f,
                      int n)
{
    int idx = lw_snap_stack(s, f, n);
    lw_json_key(w, k);
    if (idx >= 0)
        lw_json_int(w, idx);
    else
        lw_json_null(w);
}

static void lw_write_proc(struct lw_json *w, const struct lw_proc *p)
{
    lw_json_key(w, "proc");
    if (!p || !p->state) {
        lw_json_null(w);
        return;
    }
    char st[2] = {p->state, 0};
    lw_json_obj_begin(w);
    lw_json_kstr(w, "state", st);
    lw_json_key(w, "syscall");
    if (p->syscall >= 0)
        lw_json_int(w, p->syscall);
    else
        lw_json_null(w);
    lw_json_knull(w, "wchan");
    lw_json_obj_end(w);
}

/* blocked state seen only through /proc: in a syscall while sleeping */
static const struct lw_sysname *lw_proc_blocked(const struct lw_proc *p)
{
    if (!p || (p->state != 'S' && p->state != 'D') || p->syscall < 0)
        return NULL;
    const struct lw_sysname *sn = lw_sys_lookup(p->syscall);
    static const struct lw_sysname other = {-1, "syscall", "other"};
    return sn ? sn : &other;
}

/* A wait given a deadline (timedwait, clockwait, clock_nanosleep
 * TIMER_ABSTIME, futex FUTEX_WAIT_BITSET) recorded the deadline, not a
 * clock reading: the hook reads no clock but the coarse one of since_ns.
 * The timeout is worked out here as deadline - since_ns (since moved onto
 * the deadline's clock by the two clocks' offset now), so that since_ns +
 * timeout_ns is the deadline; 0 at least. since_ns lags the true start by
 * the coarse clock's lag (a tick, more when ticks run late), so this can
 * exceed the timeout the caller had in mind by that much. */
static int64_t lw_deadline_timeout(int clk, int64_t deadline_ns, uint64_t since_ns)
{
    struct timespec c, m;
    if (clock_gettime((clockid_t)clk, &c) || clock_gettime(CLOCK_MONOTONIC, &m))
        return 0; /* an invalid clock: the real call said EINVAL */
    int64_t d = deadline_ns - ((int64_t)since_ns + ((int64_t)lw_ts_ns(&c) - (int64_t)lw_ts_ns(&m)));
    return d < 0 ? 0 : d;
}

static void lw_write_blocked_intercepted(struct lw_snap *s, struct lw_json *w,
                                         const struct lw_tcopy *c)
{
    const struct lw_blocked *b = &c->b;
    lw_json_obj_begin(w);
    lw_json_kstr(w, "call", b->call ? b->call : "unknown");
    lw_json_kstr(w, "family", b->family ? b->family : "other");
    lw_json_kstr(w, "source", "intercepted");
    lw_kuint_or_null(w, "object", b->object);
    lw_json_key(w, "fd");
    if (b->fd >= 0)
        lw_json_int(w, b->fd);
    else
        lw_json_null(w);
    lw_json_key(w, "fds");
    lw_json_arr_begin(w);
    for (int i = 0; i < b->nfds; i++)
        lw_json_int(w, b->fds[i]);
    lw_json_arr_end(w);
    /* a waited-on object's owner as it is now (touches after the wait
     * began may have moved it up: docs/design.md §1.2); a contended lock
     * nobody else touched is the waiter's own */
    lw_ctx_id owner = b->object ? lw_obj_owner(b->object) : LW_CTX_NONE;
    if (!owner)
        owner = b->owner;
    if (!owner && b->object && b->family &&
        (!strcmp(b->family, "mutex") || !strcmp(b->family, "rwlock")))
        owner = c->cur_ctx ? c->cur_ctx : c->ctx;
    lw_kuint_or_null(w, "object_owner", owner);
    lw_kuint_or_null(w, "holder_tid", b->holder_tid > 0 ? (uint64_t)b->holder_tid : 0);
    lw_kuint_or_null(w, "join_target_tid", b->join_tid > 0 ? (uint64_t)b->join_tid : 0);
    lw_json_key(w, "since_ns");
    lw_json_uint(w, b->since_ns);
    lw_json_key(w, "timeout_ns");
    if (b->timeout_ns >= 0)
        lw_json_int(w, b->deadline_clk > 0
                           ? lw_deadline_timeout(b->deadline_clk - 1, b->timeout_ns, b->since_ns)
                           : b->timeout_ns);
    else
        lw_json_null(w);
    lw_kstack(s, w, "stack", c->bstack, b->nstack);
    lw_json_key(w, "caller");
    lw_json_frame(s, w, b->caller);
    lw_json_obj_end(w);
}

static void lw_write_blocked_proc(struct lw_json *w, const struct lw_proc *p,
                                  const struct lw_sysname *sn, uint64_t now)
{
    lw_json_obj_begin(w);
    lw_json_kstr(w, "call", sn->name);
    lw_json_kstr(w, "family", sn->family);
    lw_json_kstr(w, "source", "proc");
    lw_json_key(w, "object");
    if (sn->nr == SYS_futex && p->arg0)
        lw_json_uint(w, p->arg0);
    else
        lw_json_null(w);
    lw_json_knull(w, "fd");
    lw_json_key(w, "fds");
    lw_json_arr_begin(w);
    lw_json_arr_end(w);
    lw_json_knull(w, "object_owner");
    lw_json_knull(w, "holder_tid");
    lw_json_knull(w, "join_target_tid");
    /* /proc does not say when the wait began: the snapshot time is the
     * latest it can have begun */
    lw_json_key(w, "since_ns");
    lw_json_uint(w, now);
    lw_json_knull(w, "timeout_ns");
    lw_json_knull(w, "stack");
    lw_json_knull(w, "caller");
    lw_json_obj_end(w);
}

/* "python": where in Python a thread was started (docs/snapshot-format.md);
 * only threads started from CPython have it. */
static void lw_write_python(struct lw_json *w, const struct lw_tcopy *c)
{
    struct lw_pyinfo pi;
    if (!lw_python_get(c->index, c->serial, &pi))
        return;
    lw_json_key(w, "python");
    lw_json_obj_begin(w);
    lw_json_kstr(w, "name", pi.name[0] ? pi.name : NULL);
    lw_json_key(w, "target");
    if (pi.target[0]) {
        lw_json_obj_begin(w);
        lw_json_kstr(w, "function", pi.target);
        lw_json_kstr(w, "file", pi.target_file[0] ? pi.target_file : NULL);
        lw_json_kint(w, "line", pi.target_line);
        lw_json_obj_end(w);
    } else {
        lw_json_null(w);
    }
    lw_json_key(w, "creation_stack");
    lw_json_arr_begin(w);
    for (int i = 0; i < pi.n; i++) {
        lw_json_obj_begin(w);
        lw_json_kstr(w, "function", pi.frames[i].function);
        lw_json_kstr(w, "file", pi.frames[i].file);
        lw_json_kint(w, "line", pi.frames[i].line);
        lw_json_obj_end(w);
    }
    lw_json_arr_end(w);
    lw_json_obj_end(w);
}

static void lw_write_thread(struct lw_snap *s, struct lw_json *w, const struct lw_tcopy *c,
                            const struct lw_proc *p)
{
    lw_json_obj_begin(w);
    lw_json_kint(w, "tid", c->tid);
    lw_json_kstr(w, "kind", c->kind == LW_TK_MAIN ? "main" : "tracked");
    lw_json_kstr(w, "name", c->name[0] ? c->name : (p && p->state) ? p->comm : "");
    lw_json_key(w, "start_routine");
    lw_json_frame(s, w, c->start);
    lw_json_key(w, "created_ns");
    lw_json_uint(w, c->created_ns);
    lw_kuint_or_null(w, "creator_tid", c->creator_tid > 0 ? (uint64_t)c->creator_tid : 0);
    lw_kuint_or_null(w, "context", c->ctx);
    lw_kstack(s, w, "creation_stack", c->cstack, c->cstack_n);
    lw_write_python(w, c);
    const struct lw_sysname *pb = c->exited || c->blocked ? NULL : lw_proc_blocked(p);
    lw_json_kstr(w, "state", c->exited ? "exited" : (c->blocked || pb) ? "blocked" : "running");
    lw_json_key(w, "blocked");
    if (c->blocked && !c->exited)
        lw_write_blocked_intercepted(s, w, c);
    else if (pb)
        lw_write_blocked_proc(w, p, pb, s->now);
    else
        lw_json_null(w);
    lw_write_proc(w, c->exited ? NULL : p);
    lw_json_key(w, "waits");
    lw_json_uint(w, c->waits);
    lw_json_key(w, "wakes_since_cancel");
    lw_json_uint(w, c->wakes);
    lw_kuint_or_null(w, "exited_ns", c->exited ? c->exited_ns : 0);
    lw_json_kstr(w, "exit", c->exited ? lw_exit_name(c->exit_kind) : NULL);
    lw_json_kbool(w, "joined", c->joined);
    lw_json_kbool(w, "detached", c->detached);
    lw_kuint_or_null(w, "cancel_requested_ns", c->cancel_req_ns);
    lw_json_knull(w, "attributed_to");
    lw_json_obj_end(w);
}

static void lw_write_foreign(struct lw_snap *s, struct lw_json *w, int tid, const struct lw_proc *p)
{
    lw_json_obj_begin(w);
    lw_json_kint(w, "tid", tid);
    lw_json_kstr(w, "kind", tid == lw_sys_getpid() ? "main" : "foreign");
    lw_json_kstr(w, "name", p->comm);
    lw_json_knull(w, "start_routine");
    lw_json_knull(w, "created_ns");
    lw_json_knull(w, "creator_tid");
    lw_json_knull(w, "context");
    lw_json_knull(w, "creation_stack");
    const struct lw_sysname *pb = lw_proc_blocked(p);
    lw_json_kstr(w, "state", pb ? "blocked" : "running");
    lw_json_key(w, "blocked");
    if (pb)
        lw_write_blocked_proc(w, p, pb, s->now);
    else
        lw_json_null(w);
    lw_write_proc(w, p);
    lw_json_kint(w, "waits", 0);
    lw_json_kint(w, "wakes_since_cancel", 0);
    lw_json_knull(w, "exited_ns");
    lw_json_knull(w, "exit");
    lw_json_kbool(w, "joined", false);
    lw_json_kbool(w, "detached", false);
    lw_json_knull(w, "cancel_requested_ns");
    lw_json_key(w, "attributed_to");
    uint64_t timer = lw_timers_owner_of_tid(tid);
    if (timer) {
        lw_json_obj_begin(w);
        lw_json_key(w, "timer");
        lw_json_uint(w, timer);
        lw_json_obj_end(w);
    } else {
        lw_json_null(w);
    }
    lw_json_obj_end(w);
}

void lw_write_threads(struct lw_snap *s, struct lw_json *w)
{
    struct lw_gather g = {0};
    g.depth = (size_t)lw_stack_depth();
    lw_reg_lock();
    g.cap = (size_t)atomic_load(&lw_stat_live) + 16;
    g.v = malloc(g.cap * sizeof *g.v);
    g.pool = malloc(g.cap * 2 * g.depth * sizeof(uintptr_t));
    if (g.v && g.pool)
        lw_reg_foreach(lw_copy_one, &g);
    lw_reg_unlock();
    if (g.n > 0) /* g.v is NULL when malloc failed; qsort(NULL, 0) is undefined */
        qsort(g.v, g.n, sizeof *g.v, lw_tcopy_cmp);

    lw_json_arr_begin(w);
    struct lw_dir d;
    bool have_dir = lw_dir_open(&d, "/proc/self/task") == 0;
    /* A snapshot racing another thread's start of the writer would list
     * the new writer as a foreign program thread: wait, bounded, until its
     * tid is published (at once by the starter where the C library tells
     * it, lw_writer.c; else by the writer when it first runs). */
    for (int i = 0; i < 2000 && atomic_load(&lw_writer_starting); i++)
        lw_sys_sleep_ns(50000);
    int me = lw_writer_tid, tid;
    while (have_dir && (tid = lw_dir_next(&d, NULL)) > 0) {
        if (tid == me && me)
            continue; /* leakwatch's own writer thread */
        struct lw_proc p;
        struct lw_tcopy *c = lw_find_tid(&g, tid);
        /* a thread inside an intercepted wait needs no syscall read (it
         * costs an open per thread; 10,000 threads must stay fast) */
        if (!lw_proc_read(d.fd, tid, &p, !(c && c->blocked)))
            continue; /* gone meanwhile */
        /* pthread_join returns at the kernel's CLONE_CHILD_CLEARTID wake,
         * before the exiting thread leaves /proc (a preempted one stays
         * for a while): with its record already gone it is not a live
         * foreign thread. */
        if (!c && p.exiting)
            continue;
        if (c) {
            c->seen_in_proc = true;
            lw_write_thread(s, w, c, &p);
        } else {
            lw_write_foreign(s, w, tid, &p);
        }
    }
    if (have_dir)
        lw_dir_close(&d);
    /* exited records, and live ones /proc no longer shows */
    for (size_t i = 0; i < g.n; i++)
        if (!g.v[i].seen_in_proc && g.v[i].tid > 0) /* tid 0: not started yet */
            lw_write_thread(s, w, &g.v[i], NULL);
    lw_json_arr_end(w);
    free(g.v);
    free(g.pool);
}
