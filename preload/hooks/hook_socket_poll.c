/* hook_socket_poll.c — interposed multiplexing waits: poll, ppoll, select,
 * pselect, epoll_wait, epoll_pwait, epoll_pwait2 (+ __poll_chk,
 * __ppoll_chk).
 *
 * A zero timeout is a fast path: straight to libc. Otherwise the wait is
 * recorded (lw_wait_begin/end) with up to LW_WAIT_FDS fds, the timeout and
 * the owner context of the first tracked fd (epoll: of the epoll fd) for
 * the parked rule. Must never: change the sets, the timeout or errno, or
 * run anything but the real call inside the wait (cancellation points).
 */
#include "lw_hooks.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

/* glibc declares poll's array `access (write_only)`, so GCC thinks reading
 * the fds the program passed in is reading uninitialised memory. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

static int64_t ms_ns(int ms)
{
    return ms < 0 ? -1 : (int64_t)ms * 1000000;
}
static bool ts_zero(const struct timespec *t)
{
    return t && t->tv_sec == 0 && t->tv_nsec == 0;
}

/* Waiting on fds is using them (docs/design.md §1.2); returns the owner of
 * the first tracked one. */
static lw_ctx_id owner_of(const int *fds, int n)
{
    lw_ctx_id own = LW_CTX_NONE;
    for (int i = 0; i < n; i++) {
        struct lw_fd_rec *r = lw_fd_get(fds[i]);
        if (r) {
            lw_fd_use(r);
            if (own == LW_CTX_NONE)
                own = atomic_load_explicit(&r->owner, memory_order_relaxed);
        }
    }
    return own;
}

static uintptr_t begin(const char *call, const int *fds, int n, int64_t timeout, lw_ctx_id owner,
                       void *caller)
{
    lw_writer_ensure(); /* a forked child's first wait starts its writer */
    struct lw_wait_info wi = {
        .call = call,
        .family = "poll",
        .object = 0,
        .fd = -1,
        .fds = fds,
        .nfds = n,
        .timeout_ns = timeout,
        .owner = owner,
        .caller = caller,
    };
    int e = errno;
    uintptr_t tok = lw_wait_begin(&wi);
    errno = e;
    return tok;
}

static uintptr_t begin_poll(const char *call, const struct pollfd *p, nfds_t nfds,
                            int64_t timeout, void *caller, int *fds)
{
    int n = 0;
    for (nfds_t i = 0; i < nfds && n < LW_WAIT_FDS; i++)
        if (p[i].fd >= 0)
            fds[n++] = p[i].fd;
    return begin(call, fds, n, timeout, owner_of(fds, n), caller);
}

LW_EXPORT int poll(struct pollfd *p, nfds_t n, int timeout)
{
    if (timeout == 0)
        return LW_REAL(poll)(p, n, timeout);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_poll("poll", p, n, ms_ns(timeout), __builtin_return_address(0), fds);
    int r = LW_REAL(poll)(p, n, timeout);
    lw_fd_wait_done(tok);
    return r;
}

LW_EXPORT int __poll_chk(struct pollfd *p, nfds_t n, int timeout, size_t len)
{
    if (timeout == 0)
        return LW_REAL(__poll_chk)(p, n, timeout, len);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_poll("poll", p, n, ms_ns(timeout), __builtin_return_address(0), fds);
    int r = LW_REAL(__poll_chk)(p, n, timeout, len);
    lw_fd_wait_done(tok);
    return r;
}

LW_EXPORT int ppoll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m)
{
    sigset_t mbuf; /* the snapshot signal stays blocked (docs/design.md §3.5) */
    m = lw_sig_keep_blocked(m, &mbuf);
    if (ts_zero(t))
        return LW_REAL(ppoll)(p, n, t, m);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_poll("ppoll", p, n, lw_timeout_rel_ns(t), __builtin_return_address(0), fds);
    int r = LW_REAL(ppoll)(p, n, t, m);
    lw_fd_wait_done(tok);
    return r;
}

LW_EXPORT int __ppoll_chk(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m,
                          size_t len)
{
    sigset_t mbuf; /* the snapshot signal stays blocked (docs/design.md §3.5) */
    m = lw_sig_keep_blocked(m, &mbuf);
    if (ts_zero(t))
        return LW_REAL(__ppoll_chk)(p, n, t, m, len);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_poll("ppoll", p, n, lw_timeout_rel_ns(t), __builtin_return_address(0), fds);
    int r = LW_REAL(__ppoll_chk)(p, n, t, m, len);
    lw_fd_wait_done(tok);
    return r;
}

/* fds set in any of the three sets, below nfds (bounded by FD_SETSIZE). */
static int collect_sets(int nfds, fd_set *r, fd_set *w, fd_set *x, int *fds)
{
    int n = 0;
    if (nfds > FD_SETSIZE)
        nfds = FD_SETSIZE;
    for (int fd = 0; fd < nfds && n < LW_WAIT_FDS; fd++)
        if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x)))
            fds[n++] = fd;
    return n;
}

LW_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (tv && tv->tv_sec == 0 && tv->tv_usec == 0)
        return LW_REAL(select)(nfds, rd, wr, ex, tv);
    int fds[LW_WAIT_FDS];
    int n = collect_sets(nfds, rd, wr, ex, fds);
    int64_t t = tv ? (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 : -1;
    uintptr_t tok = begin("select", fds, n, t, owner_of(fds, n), __builtin_return_address(0));
    int r = LW_REAL(select)(nfds, rd, wr, ex, tv);
    lw_fd_wait_done(tok);
    return r;
}

LW_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t,
                      const sigset_t *m)
{
    sigset_t mbuf; /* the snapshot signal stays blocked (docs/design.md §3.5) */
    m = lw_sig_keep_blocked(m, &mbuf);
    if (ts_zero(t))
        return LW_REAL(pselect)(nfds, rd, wr, ex, t, m);
    int fds[LW_WAIT_FDS];
    int n = collect_sets(nfds, rd, wr, ex, fds);
    uintptr_t tok =
        begin("pselect", fds, n, lw_timeout_rel_ns(t), owner_of(fds, n), __builtin_return_address(0));
    int r = LW_REAL(pselect)(nfds, rd, wr, ex, t, m);
    lw_fd_wait_done(tok);
    return r;
}

static uintptr_t begin_epoll(const char *call, int epfd, int64_t timeout, void *caller, int *fds)
{
    int n = lw_fd_epoll_fds(epfd, fds, LW_WAIT_FDS);
    struct lw_fd_rec *ep = lw_fd_get(epfd);
    if (ep)
        lw_fd_use(ep); /* waiting on the set uses it, not the fds in it */
    lw_ctx_id owner = ep ? atomic_load_explicit(&ep->owner, memory_order_relaxed) : LW_CTX_NONE;
    return begin(call, fds, n, timeout, owner, caller);
}

LW_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    if (timeout == 0)
        return LW_REAL(epoll_wait)(epfd, ev, max, timeout);
    int fds[LW_WAIT_FDS];
    uintptr_t tok =
        begin_epoll("epoll_wait", epfd, ms_ns(timeout), __builtin_return_address(0), fds);
    int r = LW_REAL(epoll_wait)(epfd, ev, max, timeout);
    lw_fd_wait_done(tok);
    return r;
}

LW_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
                          const sigset_t *m)
{
    sigset_t mbuf; /* the snapshot signal stays blocked (docs/design.md §3.5) */
    m = lw_sig_keep_blocked(m, &mbuf);
    if (timeout == 0)
        return LW_REAL(epoll_pwait)(epfd, ev, max, timeout, m);
    int fds[LW_WAIT_FDS];
    uintptr_t tok =
        begin_epoll("epoll_pwait", epfd, ms_ns(timeout), __builtin_return_address(0), fds);
    int r = LW_REAL(epoll_pwait)(epfd, ev, max, timeout, m);
    lw_fd_wait_done(tok);
    return r;
}

/* epoll_pwait2 appeared in glibc 2.35: resolve it at run time; a libc
 * without it gets ENOSYS, as a kernel without the syscall would give. */
LW_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *t,
                           const sigset_t *m)
{
    sigset_t mbuf; /* the snapshot signal stays blocked (docs/design.md §3.5) */
    m = lw_sig_keep_blocked(m, &mbuf);
    int (*f)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *) =
        LW_REAL(epoll_pwait2);
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    if (ts_zero(t))
        return f(epfd, ev, max, t, m);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_epoll("epoll_pwait2", epfd, lw_timeout_rel_ns(t), __builtin_return_address(0), fds);
    int r = f(epfd, ev, max, t, m);
    lw_fd_wait_done(tok);
    return r;
}
