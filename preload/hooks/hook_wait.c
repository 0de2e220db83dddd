/* hook_wait.c — blocking calls: condition variables, mutexes, rwlocks,
 * semaphores, barriers, sleeps and futex waits through syscall(); plus the
 * init/destroy calls that give wait objects their owner context.
 *
 * Owns: only the interposed names. Each wait is "blocked in CALL on OBJECT
 * since T" between lw_wait_begin2 and lw_wait_end. Cancellation points stay
 * cancellation points (we call the real function); a thread cancelled
 * inside a wait has its blocked state cleared by the exit backstop.
 * Must never: lock, allocate, read a clock or unwind on the uncontended
 * lock path (the real trylock decides), or change a return value or errno.
 */
#include "lw_hooks.h"

#include <errno.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LW_CALLER __builtin_return_address(0)
/* split paths (docs/design.md §3.6): off the ordinary wait path */
#define LW_COLD __attribute__((noinline, cold))
#define LW_UNPAREN(...) __VA_ARGS__

/* A wait's timeout as recorded: relative ns (clk 0), or for a call given a
 * deadline the deadline itself on clock clk - 1, which the snapshot turns
 * into the relative timeout (lw_snap_threads.c). No clock is read here:
 * working the timeout out at the wait (lw_timeout_abs_ns) cost a precise
 * clock read (the TSC, slow in VMs) on every timed wait — CPython's
 * lock.acquire(timeout=) and GIL waits, C++ wait_for — on top of the
 * coarse one of the start time. */
struct lw_tmo {
    int64_t ns;
    int clk;
};
#define LW_TMO_NONE ((struct lw_tmo){-1, 0})
#define LW_TMO_NS(ns) ((struct lw_tmo){(ns), 0})

static inline struct lw_tmo lw_deadline(clockid_t clk, const struct timespec *abs)
{
    if (!abs)
        return LW_TMO_NONE;
    return (struct lw_tmo){(int64_t)abs->tv_sec * 1000000000 + abs->tv_nsec, (int)clk + 1};
}

static inline struct lw_tmo lw_reltime(const struct timespec *rel)
{
    return LW_TMO_NS(lw_timeout_rel_ns(rel));
}

/* A wait touches its object (docs/design.md §1.2): the owner becomes the
 * common ancestor of every context that used it; the snapshot writer reads
 * the owner then (lw_snap_threads.c), since later touches may move it up.
 * defer_owner: contended mutex and rwlock waits touch nothing (a probe of
 * the object table on a busy lock path); their owner is whoever else
 * touched the lock, else the waiter's context at snapshot time. */
static inline __attribute__((always_inline)) uintptr_t
lw_wait_x(const char *call, const char *family, const void *obj, struct lw_tmo timeout,
          int holder, void *caller, bool defer_owner)
{
    if (obj && !defer_owner)
        lw_obj_touch((uintptr_t)obj);
    struct lw_wait_info wi = {call, family, (uintptr_t)obj, -1, NULL, 0, timeout.ns, LW_CTX_NONE,
                              caller, timeout.clk};
    return lw_wait_begin2(&wi, holder, 0);
}
#define lw_wait(call, family, obj, timeout, holder, caller)                               \
    lw_wait_x(call, family, obj, timeout, holder, caller, false)
#define lw_wait_lock(call, family, obj, timeout, holder, caller)                          \
    lw_wait_x(call, family, obj, timeout, holder, caller, true)

/* lw_wait_end touches no errno (plain stores, no calls). */
static inline void lw_wait_done(uintptr_t tok)
{
    if (tok)
        lw_wait_end(tok);
}

/* A cancellation inside a cancellable wait unwinds past lw_wait_done; the
 * exit backstop (lw_thread_exited) clears the blocked state then. */

/* ---- object owners ---- */

/* init records the calling context as the object's owner, destroy forgets
 * the object; both only when the real call succeeded. */
#define LW_OWNER_HOOKS(init, destroy, type, init_args, init_call)                         \
    LW_EXPORT int init(type *o, LW_UNPAREN init_args)                                     \
    {                                                                                     \
        LW_ENSURE(init);                                                                  \
        int rc = lw_real_##init(o, LW_UNPAREN init_call);                                 \
        if (rc == 0 && lw_active())                                                       \
            lw_obj_init_here((uintptr_t)o);                                               \
        return rc;                                                                        \
    }                                                                                     \
    LW_EXPORT int destroy(type *o)                                                        \
    {                                                                                     \
        LW_ENSURE(destroy);                                                               \
        int rc = lw_real_##destroy(o);                                                    \
        if (rc == 0 && lw_running())                                                      \
            lw_obj_remove((uintptr_t)o);                                                  \
        return rc;                                                                        \
    }

LW_OWNER_HOOKS(pthread_cond_init, pthread_cond_destroy, pthread_cond_t,
               (const pthread_condattr_t *a), (a))
LW_OWNER_HOOKS(pthread_mutex_init, pthread_mutex_destroy, pthread_mutex_t,
               (const pthread_mutexattr_t *a), (a))
LW_OWNER_HOOKS(pthread_rwlock_init, pthread_rwlock_destroy, pthread_rwlock_t,
               (const pthread_rwlockattr_t *a), (a))
LW_OWNER_HOOKS(pthread_barrier_init, pthread_barrier_destroy, pthread_barrier_t,
               (const pthread_barrierattr_t *a, unsigned n), (a, n))
LW_OWNER_HOOKS(sem_init, sem_destroy, sem_t, (int pshared, unsigned v), (pshared, v))

/* ---- condition variables ---- */

/* pthread_cond_timedwait's deadline is on the condattr's clock, which
 * glibc keeps in the condvar (bit 1 of __wrefs; CPython's GIL and
 * Condition use a monotonic one). */
static inline clockid_t lw_cond_clock(const pthread_cond_t *c)
{
#ifdef __GLIBC__
    return (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) & 2) ? CLOCK_MONOTONIC
                                                                        : CLOCK_REALTIME;
#else
    (void)c;
    return CLOCK_REALTIME;
#endif
}

/* A split condition wait (docs/design.md §3.6) whose first part expired
 * does not wait again: a signal sent between the expiry and a second wait
 * (by a thread that signals after unlocking, or one that changed the
 * predicate before this thread got the mutex back) would be lost and a
 * correct program would hang. It returns 0 instead, with the mutex held —
 * a spurious wake-up, which POSIX allows and every correct caller handles
 * by checking its predicate and waiting again (that next wait continues
 * this one in the record). Once per site per thread: the site's stack is
 * then complete and later waits there are not split. */
static int lw_cond_split(uintptr_t tok, int rc)
{
    if (rc != ETIMEDOUT)
        return rc;
    lw_wait_complete(tok, true);
    return 0;
}

/* The split forms, out of line and cold (the usual wait pays only the
 * inlined lazy check); -1 (never a pthread result): not split, the hook
 * makes the real call. */
static LW_COLD int lw_cond_wait_split(uintptr_t tok, pthread_cond_t *c, pthread_mutex_t *m)
{
    struct timespec lim;
    if (!LW_REAL(pthread_cond_clockwait) || !lw_wait_split(CLOCK_MONOTONIC, NULL, &lim))
        return -1;
    return lw_cond_split(tok, LW_REAL(pthread_cond_clockwait)(c, m, CLOCK_MONOTONIC, &lim));
}

/* the split limit is on the condition variable's own clock */
static LW_COLD int lw_cond_timedwait_split(uintptr_t tok, pthread_cond_t *c, pthread_mutex_t *m,
                                           const struct timespec *abs)
{
    struct timespec lim;
    if (!lw_wait_split(lw_cond_clock(c), abs, &lim))
        return -1;
    return lw_cond_split(tok, lw_real_pthread_cond_timedwait(c, m, &lim));
}

static LW_COLD int lw_cond_clockwait_split(uintptr_t tok, pthread_cond_t *c, pthread_mutex_t *m,
                                           clockid_t clk, const struct timespec *abs)
{
    struct timespec lim;
    if (!lw_wait_split(clk, abs, &lim))
        return -1;
    return lw_cond_split(tok, lw_real_pthread_cond_clockwait(c, m, clk, &lim));
}

LW_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    LW_ENSURE(pthread_cond_wait);
    uintptr_t tok = lw_active() ? lw_wait("pthread_cond_wait", "cond", c, LW_TMO_NONE, 0, LW_CALLER) : 0;
    int rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_cond_wait_split(tok, c, m) : -1;
    if (rc == -1)
        rc = lw_real_pthread_cond_wait(c, m);
    lw_wait_done(tok);
    return rc;
}

LW_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abs)
{
    LW_ENSURE(pthread_cond_timedwait);
    uintptr_t tok = lw_active() ? lw_wait("pthread_cond_timedwait", "cond", c,
                                          lw_deadline(lw_cond_clock(c), abs), 0, LW_CALLER)
                                : 0;
    int rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_cond_timedwait_split(tok, c, m, abs) : -1;
    if (rc == -1)
        rc = lw_real_pthread_cond_timedwait(c, m, abs);
    lw_wait_done(tok);
    return rc;
}

LW_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *abs)
{
    LW_ENSURE(pthread_cond_clockwait);
    if (!lw_real_pthread_cond_clockwait)
        return ENOSYS;
    uintptr_t tok = lw_active() ? lw_wait("pthread_cond_clockwait", "cond", c, lw_deadline(clk, abs),
                                          0, LW_CALLER)
                                : 0;
    int rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_cond_clockwait_split(tok, c, m, clk, abs) : -1;
    if (rc == -1)
        rc = lw_real_pthread_cond_clockwait(c, m, clk, abs);
    lw_wait_done(tok);
    return rc;
}

/* Waking is touching (docs/design.md §1.2): whoever signals, broadcasts,
 * posts or futex-wakes an object shares it with its waiters, so a pool fed
 * by several request scopes belongs to their common ancestor. The repeat
 * from the same thread costs the inlined memo check only: the same shape
 * as the lock fast paths (no frame, a tail jump to libc); a memo miss, or
 * leakwatch not running, goes to the cold function. */
#define LW_WAKE_HOOK(name, type)                                                          \
    static __attribute__((noinline, cold)) int lw_slow_##name(type *o);                   \
    LW_EXPORT int name(type *o)                                                           \
    {                                                                                     \
        /* running implies lw_real_init has resolved every pointer; a hit is a    \
         * no-op, so the recursion guard is checked on the slow path only */           \
        if (LW_LIKELY(lw_running()) && LW_LIKELY(lw_obj_touch_hit((uintptr_t)o)))        \
            return lw_real_##name(o);                                                     \
        return lw_slow_##name(o);                                                         \
    }                                                                                     \
    static int lw_slow_##name(type *o)                                                    \
    {                                                                                     \
        LW_ENSURE(name);                                                                  \
        if (lw_active_inline())                                                           \
            lw_obj_touch_slow((uintptr_t)o);                                              \
        return lw_real_##name(o);                                                         \
    }

LW_WAKE_HOOK(pthread_cond_signal, pthread_cond_t)
LW_WAKE_HOOK(pthread_cond_broadcast, pthread_cond_t)
LW_WAKE_HOOK(sem_post, sem_t)

/* Split waits on everything but condition variables (docs/design.md
 * §3.6): the state they wait for is kept in the object (a mutex's owner, a
 * semaphore's count, a thread's exit, a futex word the waker changes
 * before waking), so waiting again after the first part expired loses
 * nothing. rc: the first part's result. -1 (never a pthread return value)
 * when it expired: the stack was completed, the hook makes the real call. */
static int lw_split_expired(uintptr_t tok, int rc)
{
    if (rc != ETIMEDOUT)
        return rc;
    lw_wait_complete(tok, false);
    return -1;
}

/* EINTR from the first, timed part of a split semaphore or futex wait:
 * would the untimed call have been restarted? The kernel restarts an
 * untimed futex wait after a handler installed with SA_RESTART
 * (ERESTARTSYS) but ends a timed one with EINTR whatever the flags
 * (ERESTART_RESTARTBLOCK becomes EINTR when a handler runs). The signal is
 * not known here; the answer is yes when every handler that can run on
 * this thread (its signal not blocked) has SA_RESTART, so the program sees
 * what it would have seen without leakwatch. With handlers of both kinds
 * the call returns EINTR, which a program with a handler without
 * SA_RESTART must handle anyway. Rare path: up to 64 sigaction queries.
 * Blocking reads and accepts split in hook_socket.c ask it too. */
bool lw_split_restarts(void)
{
    sigset_t blocked;
    if (LW_REAL(pthread_sigmask)(SIG_BLOCK, NULL, &blocked) != 0)
        return false;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sigismember(&blocked, sig) == 1)
            continue;
        struct sigaction sa;
        if (LW_REAL(sigaction)(sig, NULL, &sa) != 0)
            continue;
        if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
            continue;
        if (!(sa.sa_flags & SA_RESTART))
            return false;
    }
    return true;
}

/* ---- mutexes: trylock first, record only when contended ---- */

static inline int lw_holder(const pthread_mutex_t *m)
{
#ifdef __GLIBC__
    return m->__data.__owner & 0x3fffffff; /* FUTEX_TID_MASK: drop robust bits */
#else
    (void)m;
    return 0;
#endif
}

/* Contention check = the real trylock: when the lock is free that is all
 * (one CAS, exactly the cost without leakwatch); only EBUSY takes the
 * recording path and then the real lock. Under heavy contention that is a
 * second CAS on a line another core holds: on the 4-thread contended
 * benchmark (median of 40 pairs against the do-nothing interposer)
 * trylock-then-lock alone costs 1.11x, and the recording adds little.
 * Measured alternatives: a plain load of __data.__lock before the real lock
 * (+20% CPU), PREFETCHW (no better), a coarse timestamp on every call
 * (1.13x), and a mark without a timestamp (3 plain stores, 1.01-1.05x) that
 * a snapshot resolves from /proc: but the only start time /proc offers
 * (sched exec_start) is per-CPU clock time (the two CPUs here differed by
 * ~370 ms), so a single snapshot could not tell how long a mutex wait had
 * lasted nor call a deadlock stuck. Exact reports won. trylock returns
 * what lock would for robust (EOWNERDEAD, ENOTRECOVERABLE) and recursive
 * mutexes; an errorcheck mutex held by the caller gives EBUSY and then
 * EDEADLK from the real lock, as without leakwatch. */
/* Fast path shape (checked with objdump -d): the inlined running check (one
 * global load), an indirect call of the resolved trylock and a compare: 10
 * instructions, one register saved. The recursion guard is checked only on
 * the slow path (a trylock that succeeds records nothing anyway), and the
 * contended bookkeeping lives in a separate cold function reached by a tail
 * call, so the fast path sets up no frame. */
#define LW_LOCK_FAST(name, tryname, obj, args, call_args) LW_LOCK_FAST2(name, tryname, obj, args, call_args, 1)
#define LW_LOCK_FAST2(name, tryname, obj, args, call_args, need)                          \
    static __attribute__((noinline, cold)) int lw_slow_##name(LW_UNPAREN args, void *caller); \
    LW_EXPORT int name(LW_UNPAREN args)                                                   \
    {                                                                                     \
        /* running implies lw_real_init has resolved every pointer */                  \
        if (LW_LIKELY(lw_running()) && LW_LIKELY(need)) {                                 \
            int rc_ = lw_real_##tryname(obj);                                             \
            if (LW_LIKELY(rc_ != EBUSY))                                                  \
                return rc_;                                                               \
            return lw_slow_##name(LW_UNPAREN call_args, LW_CALLER);                       \
        }                                                                                 \
        return lw_slow_##name(LW_UNPAREN call_args, NULL);                                \
    }

/* caller == NULL: leakwatch is not running (or not initialised yet), and
 * inside leakwatch's own code (the recursion guard): plain forward.
 * Otherwise the trylock said EBUSY: record, then block. */
LW_LOCK_FAST(pthread_mutex_lock, pthread_mutex_trylock, m, (pthread_mutex_t * m), (m))
static int lw_slow_pthread_mutex_lock(pthread_mutex_t *m, void *caller)
{
    LW_ENSURE(pthread_mutex_lock);
    if (!caller || lw_tls_guard)
        return lw_real_pthread_mutex_lock(m);
    uintptr_t tok = lw_wait_lock("pthread_mutex_lock", "mutex", m, LW_TMO_NONE, lw_holder(m), caller);
    int rc = -1; /* never a pthread return value: "not done yet" */
    struct timespec lim;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && LW_REAL(pthread_mutex_clocklock) &&
        lw_wait_split(CLOCK_MONOTONIC, NULL, &lim))
        rc = lw_split_expired(tok, LW_REAL(pthread_mutex_clocklock)(m, CLOCK_MONOTONIC, &lim));
    if (rc == -1)
        rc = lw_real_pthread_mutex_lock(m);
    lw_wait_done(tok);
    return rc;
}

LW_LOCK_FAST(pthread_mutex_timedlock, pthread_mutex_trylock, m,
             (pthread_mutex_t * m, const struct timespec *abs), (m, abs))
static int lw_slow_pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs,
                                           void *caller)
{
    LW_ENSURE(pthread_mutex_timedlock);
    if (!caller || lw_tls_guard)
        return lw_real_pthread_mutex_timedlock(m, abs);
    uintptr_t tok = lw_wait_lock("pthread_mutex_timedlock", "mutex", m,
                                 lw_deadline(CLOCK_REALTIME, abs), lw_holder(m), caller);
    int rc = -1;
    struct timespec lim;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && lw_wait_split(CLOCK_REALTIME, abs, &lim))
        rc = lw_split_expired(tok, lw_real_pthread_mutex_timedlock(m, &lim));
    if (rc == -1)
        rc = lw_real_pthread_mutex_timedlock(m, abs);
    lw_wait_done(tok);
    return rc;
}

/* clocklock may be missing from an old libc: ENOSYS without any trylock
 * (the slow function checks before touching the lock) */
LW_LOCK_FAST2(pthread_mutex_clocklock, pthread_mutex_trylock, m,
              (pthread_mutex_t * m, clockid_t clk, const struct timespec *abs), (m, clk, abs),
              lw_real_pthread_mutex_clocklock != NULL)
static int lw_slow_pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
                                           const struct timespec *abs, void *caller)
{
    LW_ENSURE(pthread_mutex_clocklock);
    if (!lw_real_pthread_mutex_clocklock)
        return ENOSYS;
    if (!caller || lw_tls_guard)
        return lw_real_pthread_mutex_clocklock(m, clk, abs);
    uintptr_t tok = lw_wait_lock("pthread_mutex_clocklock", "mutex", m, lw_deadline(clk, abs),
                                 lw_holder(m), caller);
    int rc = -1;
    struct timespec lim;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && lw_wait_split(clk, abs, &lim))
        rc = lw_split_expired(tok, lw_real_pthread_mutex_clocklock(m, clk, &lim));
    if (rc == -1)
        rc = lw_real_pthread_mutex_clocklock(m, clk, abs);
    lw_wait_done(tok);
    return rc;
}

/* ---- rwlocks ---- */

/* Split like the mutexes (docs/design.md §3.6): the first part is the
 * clock variant on the call's clock, ending at the earlier of the split and
 * the call's own deadline; the lock state is in the lock, so locking again
 * after its ETIMEDOUT loses nothing. glibc's rwlock waits loop on EINTR. */
#define LW_RW(name, tryname, args, call_args, timeout, split_ok, lclk, labs, split_call)           \
    LW_LOCK_FAST2(name, tryname, l, args, call_args, lw_real_##name != NULL)                       \
    static int lw_slow_##name(LW_UNPAREN args, void *caller)                                       \
    {                                                                                              \
        LW_ENSURE(name);                                                                           \
        if (!lw_real_##name)                                                                       \
            return ENOSYS;                                                                         \
        if (!caller || lw_tls_guard)                                                               \
            return lw_real_##name call_args;                                                       \
        uintptr_t tok = lw_wait_lock(#name, "rwlock", l, (timeout), 0, caller);                    \
        int rc = -1;                                                                               \
        struct timespec lim;                                                                       \
        if (LW_UNLIKELY(lw_wait_lazy(tok)) && (split_ok) && lw_wait_split((lclk), (labs), &lim))   \
            rc = lw_split_expired(tok, split_call);                                                \
        if (rc == -1)                                                                              \
            rc = lw_real_##name call_args;                                                         \
        lw_wait_done(tok);                                                                         \
        return rc;                                                                                 \
    }

LW_RW(pthread_rwlock_rdlock, pthread_rwlock_tryrdlock, (pthread_rwlock_t * l), (l), LW_TMO_NONE,
      LW_REAL(pthread_rwlock_clockrdlock), CLOCK_MONOTONIC, NULL,
      LW_REAL(pthread_rwlock_clockrdlock)(l, CLOCK_MONOTONIC, &lim))
LW_RW(pthread_rwlock_wrlock, pthread_rwlock_trywrlock, (pthread_rwlock_t * l), (l), LW_TMO_NONE,
      LW_REAL(pthread_rwlock_clockwrlock), CLOCK_MONOTONIC, NULL,
      LW_REAL(pthread_rwlock_clockwrlock)(l, CLOCK_MONOTONIC, &lim))
LW_RW(pthread_rwlock_timedrdlock, pthread_rwlock_tryrdlock,
      (pthread_rwlock_t * l, const struct timespec *abs), (l, abs),
      lw_deadline(CLOCK_REALTIME, abs), 1, CLOCK_REALTIME, abs,
      lw_real_pthread_rwlock_timedrdlock(l, &lim))
LW_RW(pthread_rwlock_timedwrlock, pthread_rwlock_trywrlock,
      (pthread_rwlock_t * l, const struct timespec *abs), (l, abs),
      lw_deadline(CLOCK_REALTIME, abs), 1, CLOCK_REALTIME, abs,
      lw_real_pthread_rwlock_timedwrlock(l, &lim))
LW_RW(pthread_rwlock_clockrdlock, pthread_rwlock_tryrdlock,
      (pthread_rwlock_t * l, clockid_t clk, const struct timespec *abs), (l, clk, abs),
      lw_deadline(clk, abs), 1, clk, abs, lw_real_pthread_rwlock_clockrdlock(l, clk, &lim))
LW_RW(pthread_rwlock_clockwrlock, pthread_rwlock_trywrlock,
      (pthread_rwlock_t * l, clockid_t clk, const struct timespec *abs), (l, clk, abs),
      lw_deadline(clk, abs), 1, clk, abs, lw_real_pthread_rwlock_clockwrlock(l, clk, &lim))

/* ---- semaphores: trywait first; its EAGAIN must not leak into errno ---- */

/* Same shape as the locks: trywait inline, everything else cold. */
#define LW_SEM(name, expr_args, call_args, timeout, lclk, labs)                           \
    static __attribute__((noinline, cold)) int lw_slow_##name(LW_UNPAREN expr_args, int e, \
                                                              void *caller);              \
    LW_EXPORT int name expr_args                                                          \
    {                                                                                     \
        /* running implies lw_real_init has resolved every pointer */                  \
        if (LW_LIKELY(lw_running()) && LW_LIKELY(lw_real_##name != NULL)) {               \
            int e = errno;                                                                \
            if (lw_real_sem_trywait(s) == 0)                                              \
                return 0;                                                                 \
            return lw_slow_##name(LW_UNPAREN call_args, e, LW_CALLER);                    \
        }                                                                                 \
        return lw_slow_##name(LW_UNPAREN call_args, 0, NULL);                             \
    }                                                                                     \
    static int lw_slow_##name(LW_UNPAREN expr_args, int e, void *caller)                  \
    {                                                                                     \
        LW_ENSURE(name);                                                                  \
        if (!lw_real_##name)                                                              \
            return errno = ENOSYS, -1;                                                    \
        if (!caller)                                                                      \
            return lw_real_##name call_args;                                              \
        if (errno != EAGAIN)                                                              \
            return -1; /* EINVAL etc: the real wait would say the same */                 \
        errno = e;                                                                        \
        if (lw_tls_guard)                                                                 \
            return lw_real_##name call_args;                                              \
        uintptr_t tok = lw_wait(#name, "sem", s, (timeout), 0, caller);                   \
        int rc;                                                                           \
        struct timespec lim;                                                              \
        if (LW_UNLIKELY(lw_wait_lazy(tok)) && LW_REAL(sem_clockwait) &&                    \
            lw_wait_split((lclk), (labs), &lim)) {                                        \
            /* the first part's ETIMEDOUT must not reach errno */                         \
            int e_ = errno;                                                               \
            rc = LW_REAL(sem_clockwait)(s, (lclk), &lim);                                 \
            if (rc != 0 && (errno == ETIMEDOUT ||                                         \
                            (errno == EINTR && !(labs) && lw_split_restarts()))) {        \
                if (errno == ETIMEDOUT)                                                   \
                    lw_wait_complete(tok, false);                                         \
                errno = e_;                                                               \
                rc = lw_real_##name call_args;                                            \
            }                                                                             \
        } else                                                                            \
            rc = lw_real_##name call_args;                                                \
        lw_wait_done(tok);                                                                \
        return rc;                                                                        \
    }

LW_SEM(sem_wait, (sem_t * s), (s), LW_TMO_NONE, CLOCK_MONOTONIC, NULL)
LW_SEM(sem_timedwait, (sem_t * s, const struct timespec *abs), (s, abs),
       lw_deadline(CLOCK_REALTIME, abs), CLOCK_REALTIME, abs)
LW_SEM(sem_clockwait, (sem_t * s, clockid_t clk, const struct timespec *abs), (s, clk, abs),
       lw_deadline(clk, abs), clk, abs)

LW_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    LW_ENSURE(pthread_barrier_wait);
    uintptr_t tok =
        lw_active() ? lw_wait("pthread_barrier_wait", "barrier", b, LW_TMO_NONE, 0, LW_CALLER) : 0;
    int rc = lw_real_pthread_barrier_wait(b);
    lw_wait_done(tok);
    return rc;
}

/* ---- sleeps ---- */

/* A relative sleep longer than LW_STACK_AFTER_NS, split (docs/design.md
 * §3.6): LW_STACK_AFTER_NS first, then exactly the rest, so the total is
 * at least what was asked (the stack walk in between only adds to it) and
 * an interrupted second part reports the remainder of the whole request.
 * Returns the clock_nanosleep-style result (0 or an error number) with
 * *rem set on EINTR; -1 when the request is not split. */
static LW_COLD int lw_sleep_split(uintptr_t tok, clockid_t clk, const struct timespec *req,
                                  struct timespec *rem)
{
    if (!req || req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1000000000 ||
        (int64_t)req->tv_sec * 1000000000 + req->tv_nsec <= LW_STACK_AFTER_NS)
        return -1;
    struct timespec first = {LW_STACK_AFTER_NS / 1000000000, LW_STACK_AFTER_NS % 1000000000};
    struct timespec left = {req->tv_sec - first.tv_sec, req->tv_nsec - first.tv_nsec};
    if (left.tv_nsec < 0) {
        left.tv_sec--;
        left.tv_nsec += 1000000000;
    }
    struct timespec r1;
    int rc = LW_REAL(clock_nanosleep)(clk, 0, &first, &r1);
    if (rc == 0) {
        lw_wait_complete(tok, false);
        return LW_REAL(clock_nanosleep)(clk, 0, &left, rem);
    }
    if (rc == EINTR && rem) {
        rem->tv_sec = r1.tv_sec + left.tv_sec;
        rem->tv_nsec = r1.tv_nsec + left.tv_nsec;
        if (rem->tv_nsec >= 1000000000) {
            rem->tv_sec++;
            rem->tv_nsec -= 1000000000;
        }
    }
    return rc;
}

LW_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    LW_ENSURE(nanosleep);
    lw_writer_ensure(); /* a forked child that only sleeps gets its endpoint */
    uintptr_t tok =
        lw_active() ? lw_wait("nanosleep", "sleep", NULL, lw_reltime(req), 0, LW_CALLER) : 0;
    int rc;
    /* nanosleep measures CLOCK_MONOTONIC on Linux */
    if (LW_UNLIKELY(lw_wait_lazy(tok)) &&
        (rc = lw_sleep_split(tok, CLOCK_MONOTONIC, req, rem)) != -1) {
        if (rc != 0) {
            errno = rc;
            rc = -1;
        }
    } else
        rc = lw_real_nanosleep(req, rem);
    lw_wait_done(tok);
    return rc;
}

/* clock_nanosleep split: relative as above; absolute, the split part then
 * the whole absolute sleep again. -1: not split. */
static LW_COLD int lw_clock_sleep_split(uintptr_t tok, clockid_t clk, int flags,
                                        const struct timespec *req, struct timespec *rem)
{
    if (clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME && clk != CLOCK_BOOTTIME)
        return -1;
    if (!(flags & TIMER_ABSTIME))
        return lw_sleep_split(tok, clk, req, rem);
    struct timespec lim;
    if (!lw_wait_split(clk, req, &lim))
        return -1;
    int rc = lw_real_clock_nanosleep(clk, TIMER_ABSTIME, &lim, NULL);
    if (rc != 0)
        return rc;
    lw_wait_complete(tok, false);
    return -1;
}

LW_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                              struct timespec *rem)
{
    LW_ENSURE(clock_nanosleep);
    lw_writer_ensure();
    uintptr_t tok = 0;
    if (lw_active())
        tok = lw_wait("clock_nanosleep", "sleep", NULL,
                      (flags & TIMER_ABSTIME) ? lw_deadline(clk, req) : lw_reltime(req), 0, LW_CALLER);
    int rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_clock_sleep_split(tok, clk, flags, req, rem) : -1;
    if (rc == -1)
        rc = lw_real_clock_nanosleep(clk, flags, req, rem);
    lw_wait_done(tok);
    return rc;
}

/* usleep and sleep split through lw_sleep_split, as nanosleep (glibc's
 * reach nanosleep internally, past the hook), and return what glibc's do:
 * usleep is nanosleep(req, NULL); sleep returns 0 with errno restored, or
 * on EINTR the whole seconds of the remainder with errno EINTR. -1/-2:
 * not split. */
static LW_COLD int lw_usleep_split(uintptr_t tok, useconds_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    int rc = lw_sleep_split(tok, CLOCK_MONOTONIC, &ts, NULL);
    if (rc > 0) {
        errno = rc;
        rc = -1;
    } else if (rc == -1)
        rc = -2;
    return rc;
}

static LW_COLD long lw_sec_sleep_split(uintptr_t tok, unsigned s)
{
    int saved = errno;
    struct timespec ts = {(time_t)s, 0};
    int rc = lw_sleep_split(tok, CLOCK_MONOTONIC, &ts, &ts);
    if (rc == -1)
        return -1;
    if (rc != 0) {
        errno = rc;
        return (long)ts.tv_sec;
    }
    errno = saved;
    return 0;
}

LW_EXPORT int usleep(useconds_t us)
{
    LW_ENSURE(usleep);
    lw_writer_ensure();
    uintptr_t tok =
        lw_active() ? lw_wait("usleep", "sleep", NULL, LW_TMO_NS((int64_t)us * 1000), 0, LW_CALLER) : 0;
    int rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_usleep_split(tok, us) : -2;
    if (rc == -2)
        rc = lw_real_usleep(us);
    lw_wait_done(tok);
    return rc;
}

LW_EXPORT unsigned sleep(unsigned s)
{
    LW_ENSURE(sleep);
    lw_writer_ensure();
    uintptr_t tok = lw_active()
                        ? lw_wait("sleep", "sleep", NULL, LW_TMO_NS((int64_t)s * 1000000000), 0, LW_CALLER)
                        : 0;
    long rc = LW_UNLIKELY(lw_wait_lazy(tok)) ? lw_sec_sleep_split(tok, s) : -1;
    unsigned r = rc == -1 ? lw_real_sleep(s) : (unsigned)rc;
    lw_wait_done(tok);
    return r;
}

/* ---- syscall(SYS_futex, FUTEX_WAIT...): Rust std, C++20 atomic::wait ---- */

/* A futex wait split (docs/design.md §3.6): FUTEX_WAIT's timeout is
 * relative, FUTEX_WAIT_BITSET's absolute on the clock its flag names. A
 * second wait re-checks the word (EAGAIN when it changed meanwhile), and
 * futex users change the word before they wake (a wake without a change
 * would be lost without leakwatch too, before the first wait), so waiting
 * again loses nothing. Returns the call's result, or -2 when not split. */
static LW_COLD long lw_futex_split(uintptr_t tok, int cmd, long a, long b, long c, long d, long e,
                                   long f)
{
    struct timespec lim;
    const struct timespec *ts = (const struct timespec *)d;
    if (cmd == FUTEX_WAIT) {
        if (ts) /* a relative timeout given: not split */
            return -2;
        lim.tv_sec = LW_STACK_AFTER_NS / 1000000000;
        lim.tv_nsec = LW_STACK_AFTER_NS % 1000000000;
    } else if (!lw_wait_split((b & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC, ts,
                              &lim)) {
        return -2;
    }
    int saved = errno;
    long r = lw_real_syscall(SYS_futex, a, b, c, (long)&lim, e, f);
    /* a timed call ends with EINTR after any handler, as the first part did */
    if (r == -1 && (errno == ETIMEDOUT || (errno == EINTR && !ts && lw_split_restarts()))) {
        if (errno == ETIMEDOUT)
            lw_wait_complete(tok, false);
        errno = saved;
        r = lw_real_syscall(SYS_futex, a, b, c, d, e, f);
    }
    return r;
}

LW_EXPORT long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    LW_ENSURE(syscall);
    uintptr_t tok = 0;
    if (nr == SYS_futex && lw_active()) {
        int cmd = (int)b & FUTEX_CMD_MASK;
        if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET)
            lw_obj_touch((uintptr_t)a); /* Rust's notify and unlock */
        if (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) {
            const struct timespec *ts = (const struct timespec *)d;
            struct lw_tmo to =
                cmd == FUTEX_WAIT
                    ? lw_reltime(ts)
                    : lw_deadline((b & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC, ts);
            lw_obj_touch((uintptr_t)a);
            struct lw_wait_info wi = {"futex", "futex", (uintptr_t)a, -1, NULL, 0, to.ns,
                                      LW_CTX_NONE, LW_CALLER, to.clk};
            tok = lw_wait_begin2(&wi, 0, 0);
            if (LW_UNLIKELY(lw_wait_lazy(tok))) {
                long r = lw_futex_split(tok, cmd, a, b, c, d, e, f);
                if (r != -2) {
                    lw_wait_done(tok);
                    return r;
                }
            }
        }
    }
    long r = lw_real_syscall(nr, a, b, c, d, e, f);
    lw_wait_done(tok);
    return r;
}
