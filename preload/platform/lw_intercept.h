/* lw_intercept.h — the one interception list: every libc function the shim
 * interposes (and the few it calls through a resolved pointer), as
 * X(return type, name, parameter types, symbol version).
 *
 * From this list come the real-function pointers lw_real_<name> and their
 * resolution (lw_real.c), and the hooks' own declarations (lw_hooks.h: a
 * hook whose definition disagrees with its entry, or an entry that
 * disagrees with the C library's prototype, does not compile). The symbol
 * version is NULL for the default symbol (dlsym(RTLD_NEXT)); a version
 * string resolves that version with dlvsym and falls back to the default
 * when the C library has no such version (musl): pthread_cond_* resolved
 * with plain dlsym can land on the GLIBC_2.2.5 condition-variable ABI,
 * whose wait hangs on a new-style cond (the bug the sanitizers hit).
 * Adding a hook = one line here plus its definition in a hooks/ file.
 * Must never: include another layer's header.
 */
#ifndef LW_INTERCEPT_H
#define LW_INTERCEPT_H

#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define LW_INTERCEPTS(X)                                                                    \
    /* locks first: lw_real_init resolves in this order */                                  \
    X(int, pthread_mutex_lock, (pthread_mutex_t *), NULL)                                   \
    X(int, pthread_mutex_trylock, (pthread_mutex_t *), NULL)                                \
    X(int, pthread_mutex_unlock, (pthread_mutex_t *), NULL)                                 \
    /* signals (hook_signal.c) */                                                           \
    X(int, pthread_sigmask, (int, const sigset_t *, sigset_t *), NULL)                      \
    X(int, sigaction, (int, const struct sigaction *, struct sigaction *), NULL)            \
    X(__sighandler_t, signal, (int, __sighandler_t), NULL)                                  \
    X(__sighandler_t, sigset, (int, __sighandler_t), NULL)                                  \
    /* the snapshot signal stays blocked in program threads (lw_sigmask.c) */              \
    X(int, sigprocmask, (int, const sigset_t *, sigset_t *), NULL)                          \
    X(int, sigsuspend, (const sigset_t *), NULL)                                            \
    X(int, sigpending, (sigset_t *), NULL)                                                  \
    X(int, sigwait, (const sigset_t *, int *), NULL)                                        \
    X(int, sigwaitinfo, (const sigset_t *, siginfo_t *), NULL)                              \
    X(int, sigtimedwait, (const sigset_t *, siginfo_t *, const struct timespec *), NULL)    \
    X(int, signalfd, (int, const sigset_t *, int), NULL)                                    \
    /* exec: an image without leakwatch gets the program's own mask (hook_exec.c) */       \
    X(int, execve, (const char *, char *const[], char *const[]), NULL)                      \
    X(int, execv, (const char *, char *const[]), NULL)                                      \
    X(int, execvp, (const char *, char *const[]), NULL)                                     \
    X(int, execvpe, (const char *, char *const[], char *const[]), NULL)                     \
    X(int, fexecve, (int, char *const[], char *const[]), NULL)                              \
    X(int, execl, (const char *, const char *, ...), NULL)                                  \
    X(int, execle, (const char *, const char *, ...), NULL)                                 \
    X(int, execlp, (const char *, const char *, ...), NULL)                                 \
    X(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,         \
                         const posix_spawnattr_t *, char *const[], char *const[]), NULL)    \
    X(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,        \
                          const posix_spawnattr_t *, char *const[], char *const[]), NULL)   \
    /* threads (hook_thread.c) */                                                           \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *), \
      NULL)                                                                                 \
    X(void, pthread_exit, (void *), NULL)                                                   \
    X(int, pthread_join, (pthread_t, void **), NULL)                                        \
    X(int, pthread_tryjoin_np, (pthread_t, void **), NULL)                                  \
    X(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *), NULL)       \
    X(int, pthread_clockjoin_np, (pthread_t, void **, clockid_t, const struct timespec *),  \
      NULL)                                                                                 \
    X(int, pthread_detach, (pthread_t), NULL)                                               \
    X(int, pthread_cancel, (pthread_t), NULL)                                               \
    X(int, pthread_setname_np, (pthread_t, const char *), NULL)                             \
    /* waits (hook_wait.c) */                                                               \
    X(int, pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *), "GLIBC_2.3.2") \
    X(int, pthread_cond_destroy, (pthread_cond_t *), "GLIBC_2.3.2")                         \
    X(int, pthread_cond_signal, (pthread_cond_t *), "GLIBC_2.3.2")                          \
    X(int, pthread_cond_broadcast, (pthread_cond_t *), "GLIBC_2.3.2")                       \
    X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *), "GLIBC_2.3.2")         \
    X(int, pthread_cond_timedwait,                                                          \
      (pthread_cond_t *, pthread_mutex_t *, const struct timespec *), "GLIBC_2.3.2")        \
    X(int, pthread_cond_clockwait,                                                          \
      (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *), NULL)      \
    X(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *), NULL)      \
    X(int, pthread_mutex_destroy, (pthread_mutex_t *), NULL)                                \
    X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *), NULL)     \
    X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *), \
      NULL)                                                                                 \
    X(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *), NULL)   \
    X(int, pthread_rwlock_destroy, (pthread_rwlock_t *), NULL)                              \
    X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *), NULL)                               \
    X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *), NULL)                               \
    X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *), NULL)                            \
    X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *), NULL)                            \
    X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *), NULL) \
    X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *), NULL) \
    X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *), \
      NULL)                                                                                 \
    X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *), \
      NULL)                                                                                 \
    X(int, pthread_barrier_init,                                                            \
      (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned), NULL)                 \
    X(int, pthread_barrier_destroy, (pthread_barrier_t *), NULL)                            \
    X(int, pthread_barrier_wait, (pthread_barrier_t *), NULL)                               \
    X(int, sem_init, (sem_t *, int, unsigned), NULL)                                        \
    X(int, sem_destroy, (sem_t *), NULL)                                                    \
    X(int, sem_post, (sem_t *), NULL)                                                       \
    X(int, sem_wait, (sem_t *), NULL)                                                       \
    X(int, sem_trywait, (sem_t *), NULL)                                                    \
    X(int, sem_timedwait, (sem_t *, const struct timespec *), NULL)                         \
    X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *), NULL)              \
    X(int, nanosleep, (const struct timespec *, struct timespec *), NULL)                   \
    X(int, clock_nanosleep, (clockid_t, int, const struct timespec *, struct timespec *),   \
      NULL)                                                                                 \
    X(int, usleep, (useconds_t), NULL)                                                      \
    X(unsigned, sleep, (unsigned), NULL)                                                    \
    X(long, syscall, (long, ...), NULL)                                                     \
    /* namespaces (hook_ns.c) */                                                            \
    X(int, unshare, (int), NULL)                                                            \
    X(int, setns, (int, int), NULL)                                                         \
    /* fd lifecycle (hook_socket.c) */                                                      \
    X(int, socket, (int, int, int), NULL)                                                   \
    X(int, socketpair, (int, int, int, int[2]), NULL)                                       \
    X(int, accept, (int, struct sockaddr *, socklen_t *), NULL)                             \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int), NULL)                       \
    X(int, connect, (int, const struct sockaddr *, socklen_t), NULL)                        \
    X(int, setsockopt, (int, int, int, const void *, socklen_t), NULL)                      \
    X(int, shutdown, (int, int), NULL)                                                      \
    X(int, close, (int), NULL)                                                              \
    X(int, close_range, (unsigned, unsigned, int), NULL)                                    \
    X(void, closefrom, (int), NULL)                                                         \
    X(int, dup, (int), NULL)                                                                \
    X(int, dup2, (int, int), NULL)                                                          \
    X(int, dup3, (int, int, int), NULL)                                                     \
    X(int, fcntl, (int, int, ...), NULL)                                                    \
    X(int, fcntl64, (int, int, ...), NULL)                                                  \
    X(int, fstat, (int, struct stat *), NULL)                                               \
    X(int, fstat64, (int, struct stat64 *), NULL)                                           \
    X(int, ioctl, (int, unsigned long, ...), NULL)                                          \
    X(int, pipe, (int[2]), NULL)                                                            \
    X(int, pipe2, (int[2], int), NULL)                                                      \
    X(int, eventfd, (unsigned, int), NULL)                                                  \
    X(int, epoll_create, (int), NULL)                                                       \
    X(int, epoll_create1, (int), NULL)                                                      \
    X(int, epoll_ctl, (int, int, int, struct epoll_event *), NULL)                          \
    /* fd I/O (hook_socket_io.c) */                                                         \
    X(ssize_t, read, (int, void *, size_t), NULL)                                           \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t), NULL)                             \
    X(ssize_t, readv, (int, const struct iovec *, int), NULL)                               \
    X(ssize_t, recv, (int, void *, size_t, int), NULL)                                      \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int), NULL)                        \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *), NULL)  \
    X(ssize_t, __recvfrom_chk,                                                              \
      (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *), NULL)             \
    X(ssize_t, recvmsg, (int, struct msghdr *, int), NULL)                                  \
    X(int, recvmmsg, (int, struct mmsghdr *, unsigned, int, struct timespec *), NULL)       \
    X(ssize_t, write, (int, const void *, size_t), NULL)                                    \
    X(ssize_t, writev, (int, const struct iovec *, int), NULL)                              \
    X(ssize_t, send, (int, const void *, size_t, int), NULL)                                \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t), \
      NULL)                                                                                 \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int), NULL)                            \
    /* multiplexing waits (hook_socket_poll.c) */                                           \
    X(int, poll, (struct pollfd *, nfds_t, int), NULL)                                      \
    X(int, __poll_chk, (struct pollfd *, nfds_t, int, size_t), NULL)                        \
    X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *), NULL) \
    X(int, __ppoll_chk,                                                                     \
      (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t), NULL)   \
    X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *), NULL)             \
    X(int, pselect,                                                                         \
      (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *), NULL) \
    X(int, epoll_wait, (int, struct epoll_event *, int, int), NULL)                         \
    X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *), NULL)      \
    X(int, epoll_pwait2,                                                                    \
      (int, struct epoll_event *, int, const struct timespec *, const sigset_t *), NULL)    \
    /* timers (hook_timer.c) */                                                             \
    X(int, timer_create, (clockid_t, struct sigevent *, timer_t *), NULL)                   \
    X(int, timer_settime, (timer_t, int, const struct itimerspec *, struct itimerspec *),   \
      NULL)                                                                                 \
    X(int, timer_delete, (timer_t), NULL)                                                   \
    X(int, timer_getoverrun, (timer_t), NULL)                                               \
    X(int, timerfd_create, (int, int), NULL)                                                \
    X(int, timerfd_settime, (int, int, const struct itimerspec *, struct itimerspec *), NULL) \
    X(unsigned, alarm, (unsigned), NULL)                                                    \
    X(int, setitimer, (__itimer_which_t, const struct itimerval *, struct itimerval *), NULL)

/* lw_real_<name>: the C library's function (NULL until resolved, or when the
 * library lacks it: epoll_pwait2, *_clock* on an old glibc). */
#define LW_REAL_DECL(ret, name, params, version) extern ret(*lw_real_##name) params;
LW_INTERCEPTS(LW_REAL_DECL)
#undef LW_REAL_DECL

/* Index of each entry (lw_real_resolve). */
#define LW_REAL_INDEX(ret, name, params, version) LW_RI_##name,
enum lw_real_index { LW_INTERCEPTS(LW_REAL_INDEX) LW_REAL_COUNT };
#undef LW_REAL_INDEX

/* Resolve every entry, in list order (lw_init does this once). A call made
 * while another is resolving returns at once. */
void lw_real_init(void);
/* Resolve one entry now (first use before lw_real_init ran); its pointer,
 * NULL when the C library lacks the function. */
void *lw_real_resolve(enum lw_real_index i);

/* The real function behind `name`, resolved on first use: the one way a
 * hook reaches the C library (LW_REAL(read)(fd, buf, n)). */
#define LW_REAL(name)                                                                       \
    (__extension__({                                                                        \
        __typeof__(lw_real_##name) f_ = __atomic_load_n(&lw_real_##name, __ATOMIC_RELAXED); \
        LW_UNLIKELY(!f_) ? (__typeof__(f_))lw_real_resolve(LW_RI_##name) : f_;              \
    }))
/* Resolve `name` now, for code that then calls lw_real_<name> directly on a
 * path where a second check would cost (the lock fast paths). */
#define LW_ENSURE(name) ((void)LW_REAL(name))

#endif
