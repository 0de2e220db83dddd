/* hook_socket.c — interposed fd lifecycle calls: socket, socketpair, accept,
 * accept4, connect, shutdown, close, close_range, closefrom, dup, dup2, dup3,
 * fcntl, fstat
 * (+fcntl64), ioctl(FIONBIO), setsockopt (SO_RCVTIMEO/SO_SNDTIMEO), pipe,
 * pipe2, eventfd, epoll_create*, epoll_ctl. Each forwards to libc first and
 * records what the result created or ended; errno and return values are the
 * real call's.
 *
 * Must never: change arguments, swallow errors, or take a lock on a path
 * that does I/O. accept/connect are cancellation points: only the real call
 * runs in between lw_wait_begin/end (the core's thread-exit backstop clears
 * a wait left by cancellation).
 */
#include "lw_hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

bool lw_fd_track_ok(int fd)
{
    if (LW_LIKELY(lw_active()))
        return true;
    if (!lw_guard_enter()) { /* inside leakwatch itself: its own fd */
        lw_fd_mark_internal(fd, true);
        return false;
    }
    lw_guard_leave();
    lw_init();
    return lw_active();
}

/* Called inside leakwatch's own code (the recursion guard is held)? */
static bool inside_leakwatch(void)
{
    if (!lw_guard_enter())
        return true;
    lw_guard_leave();
    return false;
}

/* Descriptors made inside leakwatch's own code through a hooked name
 * (libunwind's memory-validation pipe, made on our first unwind) go above
 * the numbers the program gets and are marked ours: the program's next
 * open() returns what it would without us, and its close loops leave them
 * (close, close_range, closefrom below). */
static void own_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        int h = lw_sys_fd_high(fds[i]);
        if (h >= 0)
            fds[i] = h;
        lw_fd_mark_internal(fds[i], true);
    }
}

enum lw_fd_kind lw_fd_sock_kind(int domain, int type)
{
    int t = type & 0xf; /* strip SOCK_NONBLOCK / SOCK_CLOEXEC */
    if (domain == AF_UNIX)
        return LW_FD_UNIX;
    if (domain == AF_INET || domain == AF_INET6)
        return t == SOCK_STREAM ? LW_FD_TCP : t == SOCK_DGRAM ? LW_FD_UDP : LW_FD_OTHER;
    return LW_FD_OTHER;
}

uintptr_t lw_fd_wait1(const char *call, struct lw_fd_rec *r, int fd, int64_t timeout_ns,
                      void *caller)
{
    if (lw_fd_nonblock(r))
        return 0;
    /* a thread that blocks here forever used it too; connecting is part
     * of creating it (docs/design.md §1.2) */
    if (call[0] != 'c' || strcmp(call, "connect") != 0)
        lw_fd_use(r);
    lw_writer_ensure(); /* a forked child's first wait starts its writer */
    int k = r->kind;
    struct lw_wait_info wi = {
        .call = call,
        .family = (k == LW_FD_TCP || k == LW_FD_UDP || k == LW_FD_UNIX || k == LW_FD_OTHER)
                      ? "socket"
                      : "read",
        .object = 0,
        .fd = fd,
        .fds = NULL,
        .nfds = 0,
        .timeout_ns = timeout_ns,
        .owner = atomic_load_explicit(&r->owner, memory_order_relaxed),
        .caller = caller,
    };
    int e = errno;
    uintptr_t tok = lw_wait_begin(&wi);
    errno = e;
    return tok;
}

/* A blocking receive or accept at a lazy site, split (docs/design.md
 * §3.6): the program's own call cannot be given a timeout without changing
 * it, so the first part is a readiness wait in poll() for up to
 * LW_STACK_AFTER_NS (POLLIN; an error or hang-up wakes it too); if it
 * expires the stack is completed, and then the hook makes the program's
 * call unchanged (data that raced in, another reader, errors: all the
 * kernel's). Only descriptors whose call really blocks until readable:
 * sockets (and pipes, for read) in blocking mode, without SO_RCVTIMEO
 * (a timed receive ends with EINTR after any handler), not listening
 * (reads) or listening (accepts); the caller has left out zero-length
 * reads, MSG_DONTWAIT/MSG_ERRQUEUE/MSG_OOB and readv (its length is behind
 * a pointer the hook does not read). A handler that ends the poll with
 * EINTR: the untimed call restarts when every handler has SA_RESTART, else
 * it returns EINTR, and so does the hook (false, errno EINTR). Lazy path
 * only, and a site stays lazy while a loop rotates over more waits than
 * the site slots hold (docs/design.md §3.6): data already there (a read
 * after poll said so) costs one poll without waiting; else F_GETFL, one
 * getsockopt (two for an accept or a socket not known to be connected)
 * and the readiness wait. */
__attribute__((noinline, cold)) bool lw_fd_split(uintptr_t tok, struct lw_fd_rec *r, int fd,
                                                 enum lw_split_how how)
{
    int k = r->kind;
    bool sock = k == LW_FD_TCP || k == LW_FD_UDP || k == LW_FD_UNIX;
    bool accepting = how == LW_SPLIT_ACCEPT;
    if (!(sock || (k == LW_FD_PIPE && how == LW_SPLIT_READ)) || lw_fd_rcvtimeo(r) > 0 ||
        (accepting && k == LW_FD_UDP) ||
        (!accepting && (atomic_load_explicit(&r->flags, memory_order_relaxed) & LW_FDF_LISTEN)))
        return true;
    int e = errno;
    struct pollfd pf = {fd, POLLIN, 0};
    if (LW_REAL(poll)(&pf, 1, 0) != 0) { /* ready (or an error): no wait */
        errno = e;
        return true;
    }
    bool split = false;
    int fl = LW_REAL(fcntl)(fd, F_GETFL);
    if (fl != -1 && !(fl & O_NONBLOCK) && (fl & O_ACCMODE) != O_WRONLY) {
        split = true;
        if (sock) {
            struct timeval tv = {0, 0};
            socklen_t sl = sizeof tv;
            if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &sl) != 0 || tv.tv_sec != 0 ||
                tv.tv_usec != 0)
                split = false;
            int lis = 0;
            sl = sizeof lis;
            /* a connected socket cannot be listening */
            uint32_t rf = atomic_load_explicit(&r->flags, memory_order_relaxed);
            if (split && (accepting || (k != LW_FD_UDP && !(rf & LW_FDF_CONNECTED))) &&
                (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &lis, &sl) != 0 ||
                 (lis != 0) != accepting))
                split = false;
        }
    }
    if (split) {
        int pr = LW_REAL(poll)(&pf, 1, (int)(LW_STACK_AFTER_NS / 1000000));
        if (pr == 0)
            lw_wait_complete(tok, false);
        else if (pr < 0 && errno == EINTR && !lw_split_restarts()) {
            errno = EINTR;
            return false;
        }
    }
    errno = e;
    return true;
}

/* Track a new fd; errno preserved (unwinding and mmap may touch it). */
static struct lw_fd_rec *track(int fd, enum lw_fd_kind kind, uint32_t flags)
{
    int e = errno;
    struct lw_fd_rec *r = lw_fd_track_ok(fd) ? lw_fd_open(fd, kind, flags, 2) : NULL;
    errno = e;
    return r;
}

LW_EXPORT int socket(int domain, int type, int protocol)
{
    int fd = LW_REAL(socket)(domain, type, protocol);
    if (fd >= 0)
        track(fd, lw_fd_sock_kind(domain, type), (type & SOCK_NONBLOCK) ? LW_FDF_NONBLOCK : 0);
    return fd;
}

LW_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    int r = LW_REAL(socketpair)(domain, type, protocol, sv);
    if (r == 0) {
        uint32_t fl = (type & SOCK_NONBLOCK) ? LW_FDF_NONBLOCK | LW_FDF_CONNECTED
                                              : LW_FDF_CONNECTED;
        struct lw_fd_rec *a = track(sv[0], lw_fd_sock_kind(domain, type), fl);
        struct lw_fd_rec *b = track(sv[1], lw_fd_sock_kind(domain, type), fl);
        if (a && b)
            lw_fd_link_pair(sv[0], sv[1]);
    }
    return r;
}

/* accept/accept4 share this: wait on the listening fd, track the result. */
static int accept_common(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool is4,
                         void *caller);
LW_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return accept_common(fd, addr, len, 0, false, __builtin_return_address(0));
}
LW_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return accept_common(fd, addr, len, flags, true, __builtin_return_address(0));
}

static int accept_common(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool is4,
                         void *caller)
{
    struct lw_fd_rec *l = lw_fd_get(fd);
    uintptr_t tok = 0;
    if (l) {
        lw_fd_set_flag(l, LW_FDF_LISTEN, true);
        int64_t to = lw_fd_rcvtimeo(l); /* accept waits SO_RCVTIMEO at most */
        if (to != 0)
            tok = lw_fd_wait1(is4 ? "accept4" : "accept", l, fd, to, caller);
    }
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && !lw_fd_split(tok, l, fd, LW_SPLIT_ACCEPT)) {
        lw_fd_wait_done(tok);
        return -1; /* EINTR, as the untimed accept would */
    }
    int nfd = is4 ? LW_REAL(accept4)(fd, addr, len, flags) : LW_REAL(accept)(fd, addr, len);
    lw_fd_wait_done(tok);
    if (nfd < 0)
        return nfd;
    int e = errno;
    enum lw_fd_kind kind;
    uint32_t fl = LW_FDF_CONNECTED | ((flags & SOCK_NONBLOCK) ? LW_FDF_NONBLOCK : 0);
    /* the new socket inherits the listener's SO_RCVTIMEO/SO_SNDTIMEO (the
     * kernel clones the listening sock) */
    int64_t rto = -1, sto = -1;
    if (l) {
        kind = (enum lw_fd_kind)l->kind;
        rto = lw_fd_rcvtimeo(l);
        sto = lw_fd_sndtimeo(l);
    } else { /* listening socket opened before us: ask the kernel */
        int dom = 0, type = 0;
        socklen_t sl = sizeof dom;
        getsockopt(nfd, SOL_SOCKET, SO_DOMAIN, &dom, &sl);
        sl = sizeof type;
        getsockopt(nfd, SOL_SOCKET, SO_TYPE, &type, &sl);
        kind = lw_fd_sock_kind(dom, type);
        struct timeval tv;
        sl = sizeof tv;
        if (getsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv, &sl) == 0)
            rto = lw_fd_timeo_ns(tv.tv_sec, tv.tv_usec);
        sl = sizeof tv;
        if (getsockopt(nfd, SOL_SOCKET, SO_SNDTIMEO, &tv, &sl) == 0)
            sto = lw_fd_timeo_ns(tv.tv_sec, tv.tv_usec);
    }
    errno = e;
    struct lw_fd_rec *r = track(nfd, kind, fl);
    if (r) {
        lw_fd_set_timeo(r, false, rto);
        lw_fd_set_timeo(r, true, sto);
    }
    return nfd;
}

LW_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (!r)
        return LW_REAL(connect)(fd, addr, len);
    /* a blocking connect waits SO_SNDTIMEO at most (0: EINPROGRESS at once) */
    int64_t to = lw_fd_sndtimeo(r);
    uintptr_t tok = to != 0 ? lw_fd_wait1("connect", r, fd, to, __builtin_return_address(0)) : 0;
    int ret = LW_REAL(connect)(fd, addr, len);
    lw_fd_wait_done(tok);
    if (ret == 0)
        lw_fd_set_flag(r, LW_FDF_CONNECTED, true);
    return ret;
}

/* SO_RCVTIMEO/SO_SNDTIMEO bound how long a blocking receive/accept or
 * send/connect waits: remember them so the wait reports its timeout. Read
 * only after the real call accepted them (so the value was valid). */
static bool timeo_opt(int name, bool *snd)
{
    *snd = name == SO_SNDTIMEO;
    if (name == SO_RCVTIMEO || name == SO_SNDTIMEO)
        return true;
#if defined(SO_RCVTIMEO_NEW) && defined(SO_SNDTIMEO_NEW)
    *snd = name == SO_SNDTIMEO_NEW;
    if (name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW)
        return true;
#endif
#if defined(SO_RCVTIMEO_OLD) && defined(SO_SNDTIMEO_OLD)
    *snd = name == SO_SNDTIMEO_OLD;
    if (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD)
        return true;
#endif
    return false;
}

static void note_timeo(int fd, int name, const void *val, socklen_t len)
{
    bool snd;
    struct lw_fd_rec *r;
    if (!val || !timeo_opt(name, &snd) || !(r = lw_fd_get(fd)))
        return;
    int64_t sec, usec;
#if defined(SO_RCVTIMEO_NEW) && defined(SO_SNDTIMEO_NEW)
    if ((name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW) && len >= 2 * sizeof(int64_t)) {
        int64_t v[2]; /* struct __kernel_sock_timeval */
        memcpy(v, val, sizeof v);
        lw_fd_set_timeo(r, snd, lw_fd_timeo_ns(v[0], v[1]));
        return;
    }
#endif
    if (len < sizeof(struct timeval))
        return;
    struct timeval tv;
    memcpy(&tv, val, sizeof tv);
    sec = tv.tv_sec;
    usec = tv.tv_usec;
    lw_fd_set_timeo(r, snd, lw_fd_timeo_ns(sec, usec));
}

LW_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    int r = LW_REAL(setsockopt)(fd, level, name, val, len);
    if (r == 0 && level == SOL_SOCKET)
        note_timeo(fd, name, val, len); /* no libc calls: errno untouched */
    return r;
}

LW_EXPORT int shutdown(int fd, int how)
{
    /* nothing to record: the socket stays open (and owned) until close */
    return LW_REAL(shutdown)(fd, how);
}

/* leakwatch's own descriptors (the unwinder's pipe, the control channel,
 * the log file) are not the program's: as valgrind does with its own, to
 * the program they are not open. Closing one (a loop over every number, a
 * close_range from 3 up), asking fcntl or fstat about it (CPython's
 * fd_status lists every number that fstat accepts) or dup'ing it fails
 * with EBADF, as for any number it never had, and ours stay usable.
 * leakwatch's own code may use them. One table load per call. */
static inline bool hidden_fd(int fd)
{
    return LW_UNLIKELY(lw_fd_is_internal(fd)) && !inside_leakwatch();
}

#define LW_HIDDEN_EBADF(fd)                                                                   \
    do {                                                                                      \
        if (hidden_fd(fd)) {                                                                  \
            errno = EBADF;                                                                    \
            return -1;                                                                        \
        }                                                                                     \
    } while (0)

LW_EXPORT int close(int fd)
{
    LW_HIDDEN_EBADF(fd);
    /* Forget first: once the real close returns, another thread may get the
     * same number from socket()/accept() and track it. Linux releases the
     * fd even when close fails with EINTR/EIO. */
    lw_fd_close(fd);
    return LW_REAL(close)(fd);
}

/* close_range over [first, last] minus leakwatch's own descriptors: one
 * call per stretch between them (their numbers are few and high). */
static int close_range_around(int (*f)(unsigned, unsigned, int), unsigned first, unsigned last,
                              int flags)
{
    int own[8];
    int n = (flags & CLOSE_RANGE_CLOEXEC) || inside_leakwatch() ? 0 : lw_fd_own_list(own, 8);
    for (int i = 0; i < n && first <= last; i++) {
        unsigned o = (unsigned)own[i];
        if (o < first || o > last)
            continue;
        if (o > first && f(first, o - 1, flags) != 0)
            return -1;
        if (o == last)
            return 0;
        first = o + 1;
    }
    return f(first, last, flags);
}

/* Forget the tracked descriptors of [first, last] that a close_range
 * closed (leakwatch's own stay open); errno preserved. */
static void forget_closed(unsigned first, unsigned last)
{
    int e = errno;
    unsigned hi = (unsigned)lw_fd_high();
    for (unsigned fd = first; fd <= last && fd < hi; fd++)
        if (!lw_fd_is_internal((int)fd))
            lw_fd_close((int)fd);
    errno = e;
}

LW_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    int (*f)(unsigned, unsigned, int) = LW_REAL(close_range);
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    int r = first <= last ? close_range_around(f, first, last, flags) : f(first, last, flags);
    if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        forget_closed(first, last);
    return r;
}

/* glibc's closefrom is close_range(lowfd, ~0U, 0) inside libc, past our
 * close_range: done here around our own descriptors, glibc's own when the
 * kernel has no close_range. */
LW_EXPORT void closefrom(int lowfd)
{
    int (*f)(unsigned, unsigned, int) = LW_REAL(close_range);
    int e = errno;
    if (lowfd >= 0 && f && close_range_around(f, (unsigned)lowfd, ~0u, 0) == 0) {
        errno = e;
        forget_closed((unsigned)lowfd, ~0u);
        return;
    }
    errno = e;
    void (*g)(int) = LW_REAL(closefrom);
    if (g)
        g(lowfd);
}

LW_EXPORT int dup(int fd)
{
    LW_HIDDEN_EBADF(fd);
    int n = LW_REAL(dup)(fd);
    if (n >= 0)
        lw_fd_dup(fd, n);
    return n;
}

LW_EXPORT int dup2(int fd, int fd2)
{
    LW_HIDDEN_EBADF(fd);
    int n = LW_REAL(dup2)(fd, fd2);
    if (n >= 0 && fd != fd2)
        lw_fd_dup(fd, n);
    return n;
}

LW_EXPORT int dup3(int fd, int fd2, int flags)
{
    LW_HIDDEN_EBADF(fd);
    int n = LW_REAL(dup3)(fd, fd2, flags);
    if (n >= 0)
        lw_fd_dup(fd, n);
    return n;
}

/* fcntl is variadic; like glibc, pass the third argument on as a pointer-
 * sized value whatever the command (int arguments survive the round trip
 * on every ABI glibc supports). */
static void after_fcntl(int fd, int cmd, void *arg, int ret)
{
    if (ret < 0)
        return;
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        lw_fd_dup(fd, ret);
    } else if (cmd == F_SETFL) {
        struct lw_fd_rec *r = lw_fd_get(fd);
        if (r)
            lw_fd_set_flag(r, LW_FDF_NONBLOCK, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
    }
}

LW_EXPORT int fcntl(int fd, int cmd, ...)
{
    LW_HIDDEN_EBADF(fd);
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = LW_REAL(fcntl)(fd, cmd, arg);
    after_fcntl(fd, cmd, arg, r);
    return r;
}

/* _FILE_OFFSET_BITS=64 builds (Python among them) call fcntl64. */
LW_EXPORT int fcntl64(int fd, int cmd, ...)
{
    LW_HIDDEN_EBADF(fd);
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int (*f)(int, int, ...) = LW_REAL(fcntl64);
    if (!f)
        f = LW_REAL(fcntl);
    int r = f(fd, cmd, arg);
    after_fcntl(fd, cmd, arg, r);
    return r;
}

LW_EXPORT int fstat(int fd, struct stat *st)
{
    LW_HIDDEN_EBADF(fd);
    return LW_REAL(fstat)(fd, st);
}

LW_EXPORT int fstat64(int fd, struct stat64 *st)
{
    LW_HIDDEN_EBADF(fd);
    return LW_REAL(fstat64)(fd, st);
}

/* ioctl(FIONBIO) is how Python and many libraries set O_NONBLOCK. */
LW_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = LW_REAL(ioctl)(fd, req, arg);
    if (r == 0 && req == FIONBIO && arg) {
        struct lw_fd_rec *rec = lw_fd_get(fd);
        if (rec)
            lw_fd_set_flag(rec, LW_FDF_NONBLOCK, *(const int *)arg != 0);
    }
    return r;
}

LW_EXPORT int pipe(int fds[2])
{
    int r = LW_REAL(pipe)(fds);
    if (r == 0 && inside_leakwatch()) {
        own_fds(fds, 2);
    } else if (r == 0) {
        struct lw_fd_rec *a = track(fds[0], LW_FD_PIPE, 0), *b = track(fds[1], LW_FD_PIPE, 0);
        if (a && b)
            lw_fd_link_pair(fds[0], fds[1]);
    }
    return r;
}

LW_EXPORT int pipe2(int fds[2], int flags)
{
    int r = LW_REAL(pipe2)(fds, flags);
    if (r == 0 && inside_leakwatch()) {
        own_fds(fds, 2);
    } else if (r == 0) {
        uint32_t fl = (flags & O_NONBLOCK) ? LW_FDF_NONBLOCK : 0;
        struct lw_fd_rec *a = track(fds[0], LW_FD_PIPE, fl), *b = track(fds[1], LW_FD_PIPE, fl);
        if (a && b)
            lw_fd_link_pair(fds[0], fds[1]);
    }
    return r;
}

LW_EXPORT int eventfd(unsigned initval, int flags)
{
    int fd = LW_REAL(eventfd)(initval, flags);
    if (fd >= 0)
        track(fd, LW_FD_EVENTFD, (flags & EFD_NONBLOCK) ? LW_FDF_NONBLOCK : 0);
    return fd;
}

LW_EXPORT int epoll_create(int size)
{
    int fd = LW_REAL(epoll_create)(size);
    if (fd >= 0)
        track(fd, LW_FD_EPOLL, 0);
    return fd;
}

LW_EXPORT int epoll_create1(int flags)
{
    int fd = LW_REAL(epoll_create1)(flags);
    if (fd >= 0)
        track(fd, LW_FD_EPOLL, 0);
    return fd;
}

LW_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    int r = LW_REAL(epoll_ctl)(epfd, op, fd, ev);
    if (r == 0 && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_DEL)) {
        int e = errno;
        if (op == EPOLL_CTL_ADD)
            lw_fd_epoll_add(epfd, fd);
        else
            lw_fd_epoll_del(epfd, fd);
        errno = e;
    }
    return r;
}
