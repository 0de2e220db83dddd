/* floor.c — the do-nothing forwarding interposer ("the floor") that
 * `make bench` measures leakwatch against.
 *
 * Owns: one wrapper per libc function leakwatch may interpose, each of which
 * only calls the real function (dlsym(RTLD_NEXT), dlvsym "GLIBC_2.3.2" for
 * pthread_cond_*, so the new condvar ABI is used). The link step exports only
 * the wrappers whose names build/libleakwatch.so also exports (a version
 * script written by bench/floor-map.sh from `nm -D` of the shim), so the
 * floor interposes exactly the set leakwatch does. pthread_create wraps the
 * start routine in a trampoline, as any tool that must see thread exit has
 * to: that unavoidable cost (an extra frame and a {fn, arg} slot per thread)
 * is part of the floor.
 *
 * Must never: record, time, lock or allocate anything else; change a return
 * value or errno (the real call's are returned untouched).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_EXPORT __attribute__((visibility("default")))

/* Resolve `name` (lazily, from whichever thread calls first; racing threads
 * store the same pointer). A missing symbol aborts: a floor that silently
 * does nothing would make every ratio meaningless. */
static void *floor_resolve(const char *name, const char *version)
{
    void *p = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
    if (!p) {
        static const char msg[] = "libfloor: cannot resolve a real function\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    return p;
}

#define REAL(name, version)                                                        \
    static __typeof__(name) *real_##name;                                          \
    static inline __typeof__(name) *get_##name(void)                               \
    {                                                                              \
        __typeof__(name) *p = __atomic_load_n(&real_##name, __ATOMIC_RELAXED);     \
        if (__builtin_expect(p == NULL, 0)) {                                      \
            p = (__typeof__(name) *)floor_resolve(#name, version);                 \
            __atomic_store_n(&real_##name, p, __ATOMIC_RELAXED);                   \
        }                                                                          \
        return p;                                                                  \
    }

/* Plain forwarders: FWD(return type, name, (params), (args)). */
#define FWDV(ret, name, version, params, args)                                     \
    REAL(name, version)                                                            \
    FLOOR_EXPORT ret name params { return get_##name() args; }
#define FWD(ret, name, params, args) FWDV(ret, name, NULL, params, args)

/* ---- threads ----------------------------------------------------------
 * The trampoline needs {fn, arg} to outlive pthread_create's caller frame.
 * A fixed pool of slots claimed with one atomic exchange keeps the floor
 * free of malloc: a free() on the new thread would set up that thread's
 * malloc cache (~0.7 KiB and some ns per thread measured here), a cost a
 * tool built on mmap'd slabs does not have and the floor must not charge.
 * Only when every slot is taken does it fall back to malloc. */
#define FLOOR_SLOTS 4096
struct floor_start {
    void *(*fn)(void *);
    void *arg;
};
static struct floor_start floor_slot[FLOOR_SLOTS];
static int floor_busy[FLOOR_SLOTS];
static unsigned floor_next;

static struct floor_start *floor_claim(void)
{
    for (int tries = 0; tries < 64; tries++) {
        unsigned k = __atomic_fetch_add(&floor_next, 1, __ATOMIC_RELAXED) % FLOOR_SLOTS;
        if (!__atomic_exchange_n(&floor_busy[k], 1, __ATOMIC_ACQUIRE))
            return &floor_slot[k];
    }
    return malloc(sizeof(struct floor_start));
}

static void floor_release(struct floor_start *s)
{
    if (s >= floor_slot && s < floor_slot + FLOOR_SLOTS)
        __atomic_store_n(&floor_busy[s - floor_slot], 0, __ATOMIC_RELEASE);
    else
        free(s);
}

static void *floor_trampoline(void *p)
{
    struct floor_start s = *(struct floor_start *)p;
    floor_release(p);
    return s.fn(s.arg);
}

REAL(pthread_create, NULL)
FLOOR_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct floor_start *s = floor_claim();
    if (!s)
        return get_pthread_create()(t, attr, fn, arg);
    s->fn = fn;
    s->arg = arg;
    int rc = get_pthread_create()(t, attr, floor_trampoline, s);
    if (rc)
        floor_release(s);
    return rc;
}

REAL(pthread_exit, NULL)
FLOOR_EXPORT void pthread_exit(void *ret)
{
    get_pthread_exit()(ret);
    __builtin_unreachable();
}

FWD(int, pthread_join, (pthread_t t, void **r), (t, r))
FWD(int, pthread_tryjoin_np, (pthread_t t, void **r), (t, r))
FWD(int, pthread_timedjoin_np, (pthread_t t, void **r, const struct timespec *ts), (t, r, ts))
FWD(int, pthread_clockjoin_np, (pthread_t t, void **r, clockid_t c, const struct timespec *ts), (t, r, c, ts))
FWD(int, pthread_detach, (pthread_t t), (t))
FWD(int, pthread_cancel, (pthread_t t), (t))
FWD(int, pthread_setname_np, (pthread_t t, const char *n), (t, n))
FWD(int, pthread_kill, (pthread_t t, int sig), (t, sig))
FWD(int, pthread_sigmask, (int how, const sigset_t *s, sigset_t *o), (how, s, o))

/* ---- condition variables (new ABI) ------------------------------------- */
#define COND_V "GLIBC_2.3.2"
FWDV(int, pthread_cond_init, COND_V, (pthread_cond_t *c, const pthread_condattr_t *a), (c, a))
FWDV(int, pthread_cond_destroy, COND_V, (pthread_cond_t *c), (c))
FWDV(int, pthread_cond_wait, COND_V, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
FWDV(int, pthread_cond_timedwait, COND_V,
     (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts), (c, m, ts))
FWDV(int, pthread_cond_signal, COND_V, (pthread_cond_t *c), (c))
FWDV(int, pthread_cond_broadcast, COND_V, (pthread_cond_t *c), (c))
FWD(int, pthread_cond_clockwait,
    (pthread_cond_t *c, pthread_mutex_t *m, clockid_t k, const struct timespec *ts), (c, m, k, ts))

/* ---- mutexes, rwlocks, barriers, semaphores ---------------------------- */
FWD(int, pthread_mutex_init, (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a))
FWD(int, pthread_mutex_destroy, (pthread_mutex_t *m), (m))
FWD(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
FWD(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
FWD(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
FWD(int, pthread_mutex_timedlock, (pthread_mutex_t *m, const struct timespec *ts), (m, ts))
FWD(int, pthread_mutex_clocklock, (pthread_mutex_t *m, clockid_t k, const struct timespec *ts), (m, k, ts))
FWD(int, pthread_rwlock_init, (pthread_rwlock_t *l, const pthread_rwlockattr_t *a), (l, a))
FWD(int, pthread_rwlock_destroy, (pthread_rwlock_t *l), (l))
FWD(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
FWD(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
FWD(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *l), (l))
FWD(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *l), (l))
FWD(int, pthread_rwlock_unlock, (pthread_rwlock_t *l), (l))
FWD(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *l, const struct timespec *ts), (l, ts))
FWD(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *l, const struct timespec *ts), (l, ts))
FWD(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *l, clockid_t k, const struct timespec *ts), (l, k, ts))
FWD(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *l, clockid_t k, const struct timespec *ts), (l, k, ts))
FWD(int, pthread_barrier_init, (pthread_barrier_t *b, const pthread_barrierattr_t *a, unsigned n), (b, a, n))
FWD(int, pthread_barrier_destroy, (pthread_barrier_t *b), (b))
FWD(int, pthread_barrier_wait, (pthread_barrier_t *b), (b))
FWD(int, sem_init, (sem_t *s, int pshared, unsigned v), (s, pshared, v))
FWD(int, sem_destroy, (sem_t *s), (s))
FWD(int, sem_wait, (sem_t *s), (s))
FWD(int, sem_trywait, (sem_t *s), (s))
FWD(int, sem_post, (sem_t *s), (s))
FWD(int, sem_timedwait, (sem_t *s, const struct timespec *ts), (s, ts))
FWD(int, sem_clockwait, (sem_t *s, clockid_t k, const struct timespec *ts), (s, k, ts))

/* ---- sleeping and raw futexes ------------------------------------------ */
FWD(int, nanosleep, (const struct timespec *r, struct timespec *rem), (r, rem))
FWD(int, clock_nanosleep, (clockid_t k, int f, const struct timespec *r, struct timespec *rem), (k, f, r, rem))
FWD(int, usleep, (useconds_t us), (us))
FWD(unsigned, sleep, (unsigned s), (s))

/* syscall(2) is variadic; the kernel takes at most six arguments, so all six
 * are forwarded (reading unpassed ones is what glibc's own syscall() does). */
REAL(syscall, NULL)
FLOOR_EXPORT long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    return get_syscall()(nr, a1, a2, a3, a4, a5, a6);
}

/* ---- file descriptors and sockets -------------------------------------- */
FWD(int, socket, (int d, int t, int p), (d, t, p))
FWD(int, socketpair, (int d, int t, int p, int sv[2]), (d, t, p, sv))
FWD(int, accept, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
FWD(int, accept4, (int fd, struct sockaddr *a, socklen_t *l, int f), (fd, a, l, f))
FWD(int, connect, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
FWD(int, bind, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
FWD(int, listen, (int fd, int n), (fd, n))
FWD(int, close, (int fd), (fd))
FWD(int, shutdown, (int fd, int how), (fd, how))
FWD(int, setsockopt, (int fd, int l, int o, const void *v, socklen_t n), (fd, l, o, v, n))
FWD(int, dup, (int fd), (fd))
FWD(int, dup2, (int fd, int fd2), (fd, fd2))
FWD(int, dup3, (int fd, int fd2, int f), (fd, fd2, f))
FWD(int, pipe, (int p[2]), (p))
FWD(int, pipe2, (int p[2], int f), (p, f))
FWD(int, eventfd, (unsigned v, int f), (v, f))
FWD(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
FWD(ssize_t, readv, (int fd, const struct iovec *v, int n), (fd, v, n))
FWD(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
FWD(ssize_t, writev, (int fd, const struct iovec *v, int n), (fd, v, n))
FWD(ssize_t, recv, (int fd, void *b, size_t n, int f), (fd, b, n, f))
FWD(ssize_t, recvfrom, (int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l), (fd, b, n, f, a, l))
FWD(ssize_t, recvmsg, (int fd, struct msghdr *m, int f), (fd, m, f))
FWD(int, recvmmsg, (int fd, struct mmsghdr *m, unsigned n, int f, struct timespec *ts), (fd, m, n, f, ts))
FWD(ssize_t, send, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
FWD(ssize_t, sendto, (int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l), (fd, b, n, f, a, l))
FWD(ssize_t, sendmsg, (int fd, const struct msghdr *m, int f), (fd, m, f))
FWD(int, sendmmsg, (int fd, struct mmsghdr *m, unsigned n, int f), (fd, m, n, f))
FWD(int, poll, (struct pollfd *p, nfds_t n, int t), (p, n, t))
FWD(int, ppoll, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s), (p, n, t, s))
FWD(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), (n, r, w, e, t))
FWD(int, pselect, (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s), (n, r, w, e, t, s))
FWD(int, epoll_create, (int n), (n))
FWD(int, epoll_create1, (int f), (f))
FWD(int, epoll_ctl, (int ep, int op, int fd, struct epoll_event *e), (ep, op, fd, e))
FWD(int, epoll_wait, (int ep, struct epoll_event *e, int n, int t), (ep, e, n, t))
FWD(int, epoll_pwait, (int ep, struct epoll_event *e, int n, int t, const sigset_t *s), (ep, e, n, t, s))
FWD(int, epoll_pwait2, (int ep, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *s), (ep, e, n, t, s))

/* fcntl is variadic; every command takes at most one argument, int or
 * pointer, which fits a void * on the ABIs glibc supports. */
#define FLOOR_FCNTL(name)                                                          \
    REAL(name, NULL)                                                               \
    FLOOR_EXPORT int name(int fd, int cmd, ...)                                    \
    {                                                                              \
        va_list ap;                                                                \
        va_start(ap, cmd);                                                         \
        void *arg = va_arg(ap, void *);                                            \
        va_end(ap);                                                                \
        return get_##name()(fd, cmd, arg);                                         \
    }
FLOOR_FCNTL(fcntl)
FLOOR_FCNTL(fcntl64)

REAL(ioctl, NULL)
FLOOR_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return get_ioctl()(fd, req, arg);
}

FWD(int, close_range, (unsigned lo, unsigned hi, int f), (lo, hi, f))
FWD(int, fstat, (int fd, struct stat *st), (fd, st))
FWD(int, fstat64, (int fd, struct stat64 *st), (fd, st))
REAL(closefrom, NULL)
FLOOR_EXPORT void closefrom(int lo)
{
    get_closefrom()(lo);
}

/* The _FORTIFY_SOURCE entry points programs built with -D_FORTIFY_SOURCE call
 * instead of read/recv/poll; declared here because the headers only declare
 * them under fortification. */
extern ssize_t __read_chk(int fd, void *b, size_t n, size_t blen);
extern ssize_t __recv_chk(int fd, void *b, size_t n, size_t blen, int f);
extern ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t blen, int f, struct sockaddr *a, socklen_t *l);
extern int __poll_chk(struct pollfd *p, nfds_t n, int t, size_t plen);
extern int __ppoll_chk(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, size_t plen);
FWD(ssize_t, __read_chk, (int fd, void *b, size_t n, size_t blen), (fd, b, n, blen))
FWD(ssize_t, __recv_chk, (int fd, void *b, size_t n, size_t blen, int f), (fd, b, n, blen, f))
FWD(ssize_t, __recvfrom_chk, (int fd, void *b, size_t n, size_t blen, int f, struct sockaddr *a, socklen_t *l),
    (fd, b, n, blen, f, a, l))
FWD(int, __poll_chk, (struct pollfd *p, nfds_t n, int t, size_t plen), (p, n, t, plen))
FWD(int, __ppoll_chk, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, size_t plen),
    (p, n, t, s, plen))

/* ---- timers ------------------------------------------------------------ */
FWD(int, timer_create, (clockid_t k, struct sigevent *e, timer_t *id), (k, e, id))
FWD(int, timer_settime, (timer_t id, int f, const struct itimerspec *n, struct itimerspec *o), (id, f, n, o))
FWD(int, timer_delete, (timer_t id), (id))
FWD(int, timer_getoverrun, (timer_t id), (id))
FWD(int, timer_gettime, (timer_t id, struct itimerspec *c), (id, c))
FWD(int, timerfd_create, (int k, int f), (k, f))
FWD(int, timerfd_settime, (int fd, int f, const struct itimerspec *n, struct itimerspec *o), (fd, f, n, o))
FWD(unsigned, alarm, (unsigned s), (s))
FWD(int, setitimer, (__itimer_which_t w, const struct itimerval *n, struct itimerval *o), (w, n, o))

/* ---- process-level ----------------------------------------------------- */
FWD(pid_t, fork, (void), ())
FWD(int, sigaction, (int s, const struct sigaction *a, struct sigaction *o), (s, a, o))
FWD(__sighandler_t, signal, (int s, __sighandler_t h), (s, h))
/* sigset is deprecated in glibc's header but still exported (and hooked) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
FWD(__sighandler_t, sigset, (int s, __sighandler_t h), (s, h))
#pragma GCC diagnostic pop
FWD(int, sigprocmask, (int how, const sigset_t *s, sigset_t *o), (how, s, o))
FWD(int, setns, (int fd, int nstype), (fd, nstype))
FWD(int, unshare, (int flags), (flags))
FWD(int, execve, (const char *p, char *const a[], char *const e[]), (p, a, e))
FWD(void *, dlopen, (const char *f, int m), (f, m))
FWD(int, dlclose, (void *h), (h))

REAL(exit, NULL)
FLOOR_EXPORT void exit(int status)
{
    get_exit()(status);
    __builtin_unreachable();
}

REAL(_exit, NULL)
FLOOR_EXPORT void _exit(int status)
{
    get__exit()(status);
    __builtin_unreachable();
}
