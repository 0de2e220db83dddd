/* hook_socket_poll.c — interposed multiplexing waits: poll, ppoll, select,
 * pselect, epoll_wait, epoll_pwait, epoll_pwait2 (+ __poll_chk,
 * __ppoll_chk).
 *
 * A zero timeout is a fast path: straight to libc. Otherwise the wait is
 * recorded (lw_wait_begin/end) with up to LW_WAIT_FDS fds, the timeout and
 * the owner context of the first tracked fd (epoll: of the epoll fd) for
 * the parked rule. Must never: change the sets, the timeout or errno, or
 * run anything but the real call inside the wait (cancellation points).
 * The first wait at a call site is split to complete its blocked stack
 * (docs/design.md §3.6): out of line, only for a lazy token.
 */
#include "lw_hooks.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <string.h>
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

/* ---- split waits (docs/design.md §3.6) ----
 * A multiplexing wait at a lazy site waits LW_STACK_AFTER_NS first. Its
 * result, an EINTR included (these calls never restart after a handler,
 * signal(7)), is returned as it is; a timeout completes the blocked stack
 * and, unless the caller's own timeout is used up (measured on
 * CLOCK_MONOTONIC, the clock the kernel times these on), waits the rest:
 * an infinite timeout stays infinite, a finite one lasts at least what was
 * asked and about that long. select's sets, cleared by the first part's
 * timeout, are put back; select's timeval gets the remaining time of the
 * whole call, as the kernel writes it. A signal mask given to the call
 * applies to both parts, and between them the thread blocks its own mask
 * plus the call's, so a signal the call blocks is still delivered after
 * the call only, and one only the call unblocks (pselect's pattern) stays
 * pending into the second part, which it ends with EINTR. (A thread
 * cancelled in such a call runs its cleanup with the call's mask added.) */
#define LW_COLD __attribute__((noinline, cold))

enum mux_kind {
    MX_POLL,
    MX_POLL_CHK,
    MX_PPOLL,
    MX_PPOLL_CHK,
    MX_SELECT,
    MX_PSELECT,
    MX_EPOLL,
    MX_EPOLL_P,
    MX_EPOLL_P2
};

struct mux {
    enum mux_kind kind;
    struct pollfd *p;
    nfds_t n;
    size_t len;
    int nfds;
    fd_set *set[3];
    int epfd;
    struct epoll_event *ev;
    int max;
    const sigset_t *m;
    struct timeval left; /* select: what the kernel left of this part's timeout */
};

/* a whole number of ms, rounded up: the part never ends early */
static int ceil_ms(int64_t ns)
{
    return (int)((ns + 999999) / 1000000);
}

/* One part: ns is its relative timeout, -1 infinite. */
static int mux_call(struct mux *x, int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    const struct timespec *tp = ns < 0 ? NULL : &ts;
    int ms = ns < 0 ? -1 : ceil_ms(ns);
    switch (x->kind) {
    case MX_POLL:
        return LW_REAL(poll)(x->p, x->n, ms);
    case MX_POLL_CHK:
        return LW_REAL(__poll_chk)(x->p, x->n, ms, x->len);
    case MX_PPOLL:
        return LW_REAL(ppoll)(x->p, x->n, tp, x->m);
    case MX_PPOLL_CHK:
        return LW_REAL(__ppoll_chk)(x->p, x->n, tp, x->m, x->len);
    case MX_SELECT: {
        if (ns < 0)
            return LW_REAL(select)(x->nfds, x->set[0], x->set[1], x->set[2], NULL);
        int64_t us = (ns + 999) / 1000;
        x->left.tv_sec = (time_t)(us / 1000000);
        x->left.tv_usec = (suseconds_t)(us % 1000000);
        return LW_REAL(select)(x->nfds, x->set[0], x->set[1], x->set[2], &x->left);
    }
    case MX_PSELECT:
        return LW_REAL(pselect)(x->nfds, x->set[0], x->set[1], x->set[2], tp, x->m);
    case MX_EPOLL:
        return LW_REAL(epoll_wait)(x->epfd, x->ev, x->max, ms);
    case MX_EPOLL_P:
        return LW_REAL(epoll_pwait)(x->epfd, x->ev, x->max, ms, x->m);
    case MX_EPOLL_P2:
        return LW_REAL(epoll_pwait2)(x->epfd, x->ev, x->max, tp, x->m);
    }
    return -1;
}

/* The caller's timeout t_ns (-1: infinite) is worth splitting: longer than
 * the split, and not absurd (centuries would overflow the arithmetic). */
static bool mux_splits(int64_t t_ns)
{
    return t_ns < 0 || (t_ns > LW_STACK_AFTER_NS && t_ns < ((int64_t)1 << 62));
}

static bool ts_valid(const struct timespec *t)
{
    return !t || (t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < 1000000000 &&
                  t->tv_sec < ((time_t)1 << 32));
}

/* Runs the split wait of x with the caller's timeout t_ns (-1 infinite);
 * returns the call's result. tv: select's caller timeval (or NULL). */
static LW_COLD int mux_split(uintptr_t tok, struct mux *x, int64_t t_ns, struct timeval *tv)
{
    sigset_t old;
    bool masked = x->m && LW_REAL(pthread_sigmask)(SIG_BLOCK, x->m, &old) == 0;
    /* the sets as given (the kernel reads and writes whole longs) */
    fd_set saved[3];
    size_t bytes = 0;
    if (x->kind == MX_SELECT || x->kind == MX_PSELECT) {
        bytes = ((size_t)x->nfds + 8 * sizeof(long) - 1) / (8 * sizeof(long)) * sizeof(long);
        for (int i = 0; i < 3; i++)
            if (x->set[i])
                memcpy(&saved[i], x->set[i], bytes);
    }
    int64_t t0 = (int64_t)lw_now_ns();
    int r = mux_call(x, LW_STACK_AFTER_NS);
    int64_t extra = t_ns - LW_STACK_AFTER_NS; /* select: not waited by this part */
    if (r == 0) {
        lw_wait_complete(tok, false);
        int64_t left = t_ns < 0 ? -1 : t_ns - ((int64_t)lw_now_ns() - t0);
        extra = 0;
        if (left != 0 && (t_ns < 0 || left > 0)) {
            for (int i = 0; i < 3 && bytes; i++)
                if (x->set[i])
                    memcpy(x->set[i], &saved[i], bytes);
            r = mux_call(x, left);
        } else
            x->left.tv_sec = x->left.tv_usec = 0;
    }
    if (tv) { /* select: the remainder of the whole call (glibc writes it always) */
        int64_t us = (int64_t)x->left.tv_sec * 1000000 + x->left.tv_usec + extra / 1000;
        tv->tv_sec = (time_t)(us / 1000000);
        tv->tv_usec = (suseconds_t)(us % 1000000);
    }
    if (masked) { /* pending signals the call blocked are delivered now */
        int e = errno;
        LW_REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
        errno = e;
    }
    return r;
}

LW_EXPORT int poll(struct pollfd *p, nfds_t n, int timeout)
{
    if (timeout == 0)
        return LW_REAL(poll)(p, n, timeout);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_poll("poll", p, n, ms_ns(timeout), __builtin_return_address(0), fds);
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && mux_splits(ms_ns(timeout)))
        r = mux_split(tok, &(struct mux){.kind = MX_POLL, .p = p, .n = n}, ms_ns(timeout), NULL);
    else
        r = LW_REAL(poll)(p, n, timeout);
    lw_fd_wait_done(tok);
    return r;
}

LW_EXPORT int __poll_chk(struct pollfd *p, nfds_t n, int timeout, size_t len)
{
    if (timeout == 0)
        return LW_REAL(__poll_chk)(p, n, timeout, len);
    int fds[LW_WAIT_FDS];
    uintptr_t tok = begin_poll("poll", p, n, ms_ns(timeout), __builtin_return_address(0), fds);
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && mux_splits(ms_ns(timeout)))
        r = mux_split(tok, &(struct mux){.kind = MX_POLL_CHK, .p = p, .n = n, .len = len},
                      ms_ns(timeout), NULL);
    else
        r = LW_REAL(__poll_chk)(p, n, timeout, len);
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
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && ts_valid(t) && mux_splits(lw_timeout_rel_ns(t)))
        r = mux_split(tok, &(struct mux){.kind = MX_PPOLL, .p = p, .n = n, .m = m},
                      lw_timeout_rel_ns(t), NULL);
    else
        r = LW_REAL(ppoll)(p, n, t, m);
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
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && ts_valid(t) && mux_splits(lw_timeout_rel_ns(t)))
        r = mux_split(tok, &(struct mux){.kind = MX_PPOLL_CHK, .p = p, .n = n, .m = m, .len = len},
                      lw_timeout_rel_ns(t), NULL);
    else
        r = LW_REAL(__ppoll_chk)(p, n, t, m, len);
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
    int r;
    /* glibc refuses a negative time (EINVAL) and normalises tv_usec */
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && nfds >= 0 && nfds <= FD_SETSIZE &&
        (!tv || (tv->tv_sec >= 0 && tv->tv_usec >= 0)) && mux_splits(t))
        r = mux_split(tok, &(struct mux){.kind = MX_SELECT, .nfds = nfds, .set = {rd, wr, ex}}, t,
                      tv);
    else
        r = LW_REAL(select)(nfds, rd, wr, ex, tv);
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
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && nfds >= 0 && nfds <= FD_SETSIZE && ts_valid(t) &&
        mux_splits(lw_timeout_rel_ns(t)))
        r = mux_split(tok,
                      &(struct mux){.kind = MX_PSELECT, .nfds = nfds, .set = {rd, wr, ex}, .m = m},
                      lw_timeout_rel_ns(t), NULL);
    else
        r = LW_REAL(pselect)(nfds, rd, wr, ex, t, m);
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
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && mux_splits(ms_ns(timeout)))
        r = mux_split(tok, &(struct mux){.kind = MX_EPOLL, .epfd = epfd, .ev = ev, .max = max},
                      ms_ns(timeout), NULL);
    else
        r = LW_REAL(epoll_wait)(epfd, ev, max, timeout);
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
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && mux_splits(ms_ns(timeout)))
        r = mux_split(tok,
                      &(struct mux){.kind = MX_EPOLL_P, .epfd = epfd, .ev = ev, .max = max, .m = m},
                      ms_ns(timeout), NULL);
    else
        r = LW_REAL(epoll_pwait)(epfd, ev, max, timeout, m);
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
    int r;
    if (LW_UNLIKELY(lw_wait_lazy(tok)) && ts_valid(t) && mux_splits(lw_timeout_rel_ns(t)))
        r = mux_split(
            tok, &(struct mux){.kind = MX_EPOLL_P2, .epfd = epfd, .ev = ev, .max = max, .m = m},
            lw_timeout_rel_ns(t), NULL);
    else
        r = f(epfd, ev, max, t, m);
    lw_fd_wait_done(tok);
    return r;
}
