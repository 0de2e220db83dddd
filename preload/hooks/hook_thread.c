/* hook_thread.c — thread lifecycle: pthread_create (start-routine
 * trampoline), pthread_exit, joins, detach, cancel, setname; and the
 * library constructor.
 *
 * Owns: only the interposed names; bookkeeping lives in lw_registry.c and
 * lw_context.c. Every hook forwards to the real function with the same
 * arguments and returns its result with errno as the real call left it.
 * Must never: change what a call does, or keep a thread's record alive
 * after its exit when it was detached or joined.
 */
#include "lw_hooks.h"

#include <errno.h>
#include <string.h>

/* Exit is seen without a pthread key: the trampoline records a normal
 * return itself, and a cancellation cleanup handler around the start
 * routine sees the two other ways out (pthread_exit, from our hook or from
 * a caller that bypasses it, and cancellation): both unwind the thread's
 * stack and run cleanup handlers before TLS destructors. A key with a
 * value set on every thread cost ~680 instructions per thread in glibc's
 * key-destructor pass at exit; the cleanup buffer costs a setjmp (no
 * signal mask). lw_self is cleared by the first lw_thread_exited, so the
 * handler never touches a record that exit already handed back. */
static void lw_exit_cleanup(void *p)
{
    struct lw_thread *t = p;
    if (t && t == lw_self)
        lw_thread_exited(t, t->cancel_req_ns ? LW_EXIT_CANCELLED : LW_EXIT_PTHREAD_EXIT);
    lw_writer_thread_leaving();
}

__attribute__((constructor)) static void lw_ctor(void)
{
    lw_init();
}

static void *lw_thread_start(void *p)
{
    struct lw_thread *t = p;
    lw_tls_tid = 0;
    lw_thread_set_tid(t, lw_gettid());
    t->pt = pthread_self();
    if (!__atomic_load_n(&t->hashed, __ATOMIC_ACQUIRE))
        lw_reg_hash_insert(t); /* re-checked under the lock */
    lw_ctx_set_owner(t->ctx, lw_thread_tid(t));
    lw_self = t;
    lw_sigmask_thread_start(t->sigstate);
    atomic_fetch_add(&lw_stat_state_changes, 1);
    void *ret;
    pthread_cleanup_push(lw_exit_cleanup, t);
    ret = t->fn(t->arg);
    lw_thread_exited(lw_self == t ? t : NULL, LW_EXIT_RETURN);
    lw_writer_thread_leaving();
    pthread_cleanup_pop(0);
    return ret;
}

LW_EXPORT int pthread_create(pthread_t *thr, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    if (LW_UNLIKELY(atomic_load_explicit(&lw_state, memory_order_relaxed) == LW_ST_OFF))
        lw_init();
    LW_ENSURE(pthread_create);
    if (!lw_active())
        return lw_real_pthread_create(thr, attr, fn, arg);
    /* a child forked behind libc's back gets its own tables first; a vfork
     * child (which may not create threads) changes nothing */
    if (!lw_fork_adopt())
        return lw_real_pthread_create(thr, attr, fn, arg);
    lw_writer_ensure();
    lw_tls_guard = 1;
    struct lw_thread *self = lw_self_get();
    struct lw_thread *t = lw_reg_alloc();
    if (!t) {
        lw_tls_guard = 0;
        return lw_real_pthread_create(thr, attr, fn, arg);
    }
    t->kind = LW_TK_TRACKED;
    t->pinned = 1;
    t->creator_tid = lw_gettid();
    t->created_ns = lw_now_ns();
    t->start = (uintptr_t)fn;
    t->sigstate = lw_sigmask_state();
    t->fn = fn;
    t->arg = arg;
    t->cstack_n = lw_stack_capture(lw_thread_cstack(t), lw_stack_depth(), 1);
    lw_python_capture(t); /* a thread started from Python: its Python origin */
    bool bg;
    lw_ctx_id parent = lw_thread_current_ctx(self, &bg);
    t->ctx = lw_ctx_new(parent, LW_CK_THREAD, NULL, 0, (uintptr_t)fn, bg);
    int ds = PTHREAD_CREATE_JOINABLE;
    if (attr && pthread_attr_getdetachstate(attr, &ds) == 0 && ds == PTHREAD_CREATE_DETACHED)
        t->detached = 1;
    lw_reg_publish(t);
    lw_tls_guard = 0;
    int saved = errno;
    int rc = lw_real_pthread_create(thr, attr, lw_thread_start, t);
    int after = errno;
    lw_tls_guard = 1;
    if (rc == 0) {
        atomic_fetch_add(&lw_stat_created, 1);
        /* the kernel stored the tid before pthread_create returned: a
         * snapshot before the thread first runs still knows it */
        if (!__atomic_load_n(&t->tid, __ATOMIC_RELAXED)) {
            int tid = lw_pthread_tid(*thr);
            if (tid > 0)
                __atomic_store_n(&t->tid, tid, __ATOMIC_RELAXED);
        }
    }
    /* hash now so an immediate join/detach by the creator finds it (the new
     * thread inserts too, whichever comes first wins); the pin kept the
     * record from being freed and reused before this point */
    lw_thread_created(t, rc == 0 ? *thr : 0, rc == 0);
    lw_tls_guard = 0;
    errno = rc != 0 ? after : saved;
    return rc;
}

/* The new thread's context owner is set when it runs (its tid is unknown
 * before); see lw_thread_start. */

LW_EXPORT void pthread_exit(void *ret)
{
    LW_ENSURE(pthread_exit);
    struct lw_thread *t = lw_self;
    if (t && lw_running())
        lw_thread_exited(t, LW_EXIT_PTHREAD_EXIT);
    lw_writer_thread_leaving();
    lw_real_pthread_exit(ret);
    __builtin_unreachable(); /* the list's pointer type carries no noreturn */
}

/* The target record is found before the real call (see lw_thread_joined). */
#define LW_JOIN_BEGIN(callname, timeout)                                                  \
    uintptr_t tok = 0;                                                                    \
    struct lw_thread *jrec = NULL;                                                        \
    uint64_t jserial = 0;                                                                 \
    if (lw_running()) {                                                                   \
        int jt = 0;                                                                       \
        jrec = lw_reg_find(thr, &jserial, &jt);                                           \
        if (!lw_tls_guard) {                                                              \
            struct lw_wait_info wi = {callname, "join", (uintptr_t)jt, -1, NULL, 0, (timeout), \
                                      LW_CTX_NONE, __builtin_return_address(0), 0};      \
            tok = lw_wait_begin2(&wi, 0, jt);                                             \
        }                                                                                 \
    }

#define LW_JOIN_END()                                                                     \
    do {                                                                                  \
        int e_ = errno;                                                                   \
        lw_wait_end(tok);                                                                 \
        if (rc == 0)                                                                      \
            lw_thread_joined(jrec, jserial);                                              \
        errno = e_;                                                                       \
    } while (0)

/* -1 (never a pthread result): expired or not split, the hook joins */
static __attribute__((noinline, cold)) int lw_join_split(uintptr_t tok, pthread_t thr, void **ret)
{
    struct timespec lim;
    if (!LW_REAL(pthread_clockjoin_np) || !lw_wait_split(CLOCK_MONOTONIC, NULL, &lim))
        return -1;
    int rc = LW_REAL(pthread_clockjoin_np)(thr, ret, CLOCK_MONOTONIC, &lim);
    if (rc != ETIMEDOUT)
        return rc;
    lw_wait_complete(tok, false);
    return -1;
}

LW_EXPORT int pthread_join(pthread_t thr, void **ret)
{
    LW_ENSURE(pthread_join);
    LW_JOIN_BEGIN("pthread_join", -1);
    /* split (docs/design.md §3.6): the thread's exit is kept in its
     * descriptor, so joining again after the first part expired loses
     * nothing; ETIMEDOUT from it never reaches the caller */
    int rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_join_split(tok, thr, ret) : -1;
    if (rc == -1)
        rc = lw_real_pthread_join(thr, ret);
    LW_JOIN_END();
    return rc;
}

LW_EXPORT int pthread_tryjoin_np(pthread_t thr, void **ret)
{
    LW_ENSURE(pthread_tryjoin_np);
    uint64_t serial = 0;
    struct lw_thread *t = lw_running() ? lw_reg_find(thr, &serial, NULL) : NULL;
    int rc = lw_real_pthread_tryjoin_np(thr, ret);
    if (rc == 0 && t) {
        int e = errno;
        lw_thread_joined(t, serial);
        errno = e;
    }
    return rc;
}

LW_EXPORT int pthread_timedjoin_np(pthread_t thr, void **ret, const struct timespec *abs)
{
    LW_ENSURE(pthread_timedjoin_np);
    LW_JOIN_BEGIN("pthread_timedjoin_np", lw_timeout_abs_ns(CLOCK_REALTIME, abs));
    int rc = lw_real_pthread_timedjoin_np(thr, ret, abs);
    LW_JOIN_END();
    return rc;
}

LW_EXPORT int pthread_clockjoin_np(pthread_t thr, void **ret, clockid_t clk,
                                   const struct timespec *abs)
{
    LW_ENSURE(pthread_clockjoin_np);
    if (!lw_real_pthread_clockjoin_np)
        return ENOSYS;
    LW_JOIN_BEGIN("pthread_clockjoin_np", lw_timeout_abs_ns(clk, abs));
    int rc = lw_real_pthread_clockjoin_np(thr, ret, clk, abs);
    LW_JOIN_END();
    return rc;
}

LW_EXPORT int pthread_detach(pthread_t thr)
{
    LW_ENSURE(pthread_detach);
    uint64_t serial = 0;
    struct lw_thread *t = lw_running() ? lw_reg_find(thr, &serial, NULL) : NULL;
    int rc = lw_real_pthread_detach(thr);
    if (rc == 0 && t) {
        int e = errno;
        lw_thread_detached(t, serial);
        errno = e;
    }
    return rc;
}

LW_EXPORT int pthread_cancel(pthread_t thr)
{
    LW_ENSURE(pthread_cancel);
    if (lw_active()) {
        int e = errno;
        lw_tls_guard = 1;
        lw_ctx_id ctx = 0;
        lw_reg_lock();
        struct lw_thread *t = lw_reg_lookup(thr);
        if (t && !t->exited) {
            if (!t->cancel_req_ns)
                t->cancel_req_ns = lw_now_ns();
            ctx = t->ctx;
        }
        lw_reg_unlock();
        if (ctx)
            lw_ctx_cancel(ctx, LW_CAUSE_PTHREAD_CANCEL);
        lw_tls_guard = 0;
        errno = e;
    }
    return lw_real_pthread_cancel(thr);
}

LW_EXPORT int pthread_setname_np(pthread_t thr, const char *name)
{
    LW_ENSURE(pthread_setname_np);
    int rc = lw_real_pthread_setname_np(thr, name);
    if (rc == 0 && lw_running()) {
        lw_reg_lock();
        struct lw_thread *t = lw_reg_lookup(thr);
        if (t) {
            strncpy(t->name, name, sizeof t->name - 1);
            t->name[sizeof t->name - 1] = 0;
        }
        lw_reg_unlock();
    }
    return rc;
}
