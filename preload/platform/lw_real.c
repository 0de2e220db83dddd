/* lw_real.c — the real libc functions behind every interposed name.
 *
 * Owns: symbol resolution (dlsym(RTLD_NEXT), and dlvsym(..., "GLIBC_2.3.2")
 * for pthread_cond_*: plain dlsym can return the old GLIBC_2.2.5 condition
 * variable ABI, whose wait hangs on a new-style cond — the bug sanitizers
 * hit). Resolution happens once, from whichever hook or constructor runs
 * first; a recursive call (dlsym may allocate or lock) returns at once and
 * the caller sees NULL and degrades.
 * Must never: be called from a signal handler before init has finished.
 */
#include "lw_internal.h"

#include <dlfcn.h>

#define LW_DEF(ret, name, args) ret(*lw_real_##name) args
LW_DEF(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *));
LW_DEF(void, pthread_exit, (void *)) __attribute__((noreturn));
LW_DEF(int, pthread_join, (pthread_t, void **));
LW_DEF(int, pthread_tryjoin_np, (pthread_t, void **));
LW_DEF(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *));
LW_DEF(int, pthread_clockjoin_np, (pthread_t, void **, clockid_t, const struct timespec *));
LW_DEF(int, pthread_detach, (pthread_t));
LW_DEF(int, pthread_cancel, (pthread_t));
LW_DEF(int, pthread_setname_np, (pthread_t, const char *));
LW_DEF(int, pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *));
LW_DEF(int, pthread_cond_destroy, (pthread_cond_t *));
LW_DEF(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *));
LW_DEF(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *));
LW_DEF(int, pthread_cond_clockwait,
       (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *));
LW_DEF(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *));
LW_DEF(int, pthread_mutex_destroy, (pthread_mutex_t *));
LW_DEF(int, pthread_mutex_lock, (pthread_mutex_t *));
LW_DEF(int, pthread_mutex_trylock, (pthread_mutex_t *));
LW_DEF(int, pthread_mutex_unlock, (pthread_mutex_t *));
LW_DEF(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *));
LW_DEF(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *));
LW_DEF(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *));
LW_DEF(int, pthread_rwlock_destroy, (pthread_rwlock_t *));
LW_DEF(int, pthread_rwlock_rdlock, (pthread_rwlock_t *));
LW_DEF(int, pthread_rwlock_wrlock, (pthread_rwlock_t *));
LW_DEF(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *));
LW_DEF(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *));
LW_DEF(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *));
LW_DEF(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *));
LW_DEF(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *));
LW_DEF(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *));
LW_DEF(int, pthread_barrier_init, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned));
LW_DEF(int, pthread_barrier_destroy, (pthread_barrier_t *));
LW_DEF(int, pthread_barrier_wait, (pthread_barrier_t *));
LW_DEF(int, sem_init, (void *, int, unsigned));
LW_DEF(int, sem_destroy, (void *));
LW_DEF(int, sem_wait, (void *));
LW_DEF(int, sem_trywait, (void *));
LW_DEF(int, sem_timedwait, (void *, const struct timespec *));
LW_DEF(int, sem_clockwait, (void *, clockid_t, const struct timespec *));
LW_DEF(int, nanosleep, (const struct timespec *, struct timespec *));
LW_DEF(int, clock_nanosleep, (clockid_t, int, const struct timespec *, struct timespec *));
LW_DEF(int, usleep, (unsigned));
LW_DEF(unsigned, sleep, (unsigned));
LW_DEF(long, syscall, (long, ...));
LW_DEF(int, sigaction, (int, const struct sigaction *, struct sigaction *));
LW_DEF(void *, signal, (int, void *));
LW_DEF(int, pthread_sigmask, (int, const sigset_t *, sigset_t *));

static _Atomic int lw_real_state; /* 0 none, 1 resolving, 2 done */

static void *lw_sym(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* pthread_cond_*: the 2.3.2 ABI; fall back to the default symbol on libcs
 * without that version (musl has one ABI). */
static void *lw_cond_sym(const char *name)
{
    void *p = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
    return p ? p : dlsym(RTLD_NEXT, name);
}

#define R(name) *(void **)&lw_real_##name = lw_sym(#name)
#define RC(name) *(void **)&lw_real_##name = lw_cond_sym(#name)

void lw_real_init(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&lw_real_state, &expect, 1))
        return; /* done, or resolving on this or another thread */
    /* The lock family first: dlsym's own locking could come back here. */
    R(pthread_mutex_lock);
    R(pthread_mutex_trylock);
    R(pthread_mutex_unlock);
    R(pthread_sigmask);
    R(sigaction);
    R(signal);
    R(pthread_create);
    R(pthread_exit);
    R(pthread_join);
    R(pthread_tryjoin_np);
    R(pthread_timedjoin_np);
    R(pthread_clockjoin_np);
    R(pthread_detach);
    R(pthread_cancel);
    R(pthread_setname_np);
    RC(pthread_cond_init);
    RC(pthread_cond_destroy);
    RC(pthread_cond_wait);
    RC(pthread_cond_timedwait);
    R(pthread_cond_clockwait);
    R(pthread_mutex_init);
    R(pthread_mutex_destroy);
    R(pthread_mutex_timedlock);
    R(pthread_mutex_clocklock);
    R(pthread_rwlock_init);
    R(pthread_rwlock_destroy);
    R(pthread_rwlock_rdlock);
    R(pthread_rwlock_wrlock);
    R(pthread_rwlock_tryrdlock);
    R(pthread_rwlock_trywrlock);
    R(pthread_rwlock_timedrdlock);
    R(pthread_rwlock_timedwrlock);
    R(pthread_rwlock_clockrdlock);
    R(pthread_rwlock_clockwrlock);
    R(pthread_barrier_init);
    R(pthread_barrier_destroy);
    R(pthread_barrier_wait);
    R(sem_init);
    R(sem_destroy);
    R(sem_wait);
    R(sem_trywait);
    R(sem_timedwait);
    R(sem_clockwait);
    R(nanosleep);
    R(clock_nanosleep);
    R(usleep);
    R(sleep);
    R(syscall);
    atomic_store(&lw_real_state, 2);
}
