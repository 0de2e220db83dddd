/* hook_socket_io.c — interposed I/O calls on fds: read, readv, recv,
 * recvfrom, recvmsg, recvmmsg, write, writev, send, sendto, sendmsg (and
 * the _FORTIFY_SOURCE variants __read_chk, __recv_chk, __recvfrom_chk).
 *
 * The hot path of the whole family: an untracked fd (files, ttys) costs one
 * table load; a tracked fd adds a compare for ownership, two relaxed atomics
 * and a coarse clock read. A blocking-mode receive on a tracked fd goes
 * through lw_wait_begin/end; a blocking-mode send only when it would block
 * (see "sending" below). Must never: take a lock, allocate, unwind, or
 * change errno/return values; these are cancellation points, so nothing but
 * real calls (a send's rest: see out_rest) run between wait begin and end.
 */
#include "lw_hooks.h"

#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* After a successful receive: bytes, ownership, timerfd expirations. */
static inline void got_in(struct lw_fd_rec *r, ssize_t n, const void *buf)
{
    if (n < 0)
        return;
    lw_fd_io_in(r, (uint64_t)n);
    if (LW_UNLIKELY(r->kind == LW_FD_TIMERFD) && n == 8 && buf) {
        uint64_t exp;
        memcpy(&exp, buf, sizeof exp);
        lw_timer_expired(atomic_load_explicit(&r->timer, memory_order_relaxed), exp);
    }
}

static inline void sent_out(struct lw_fd_rec *r, ssize_t n)
{
    if (n >= 0)
        lw_fd_io_out(r, (uint64_t)n);
}

/* One receive on a tracked fd: the wait bookkeeping, the call, the counts;
 * errno is the real call's. `blocking` is false for MSG_DONTWAIT; the wait
 * reports SO_RCVTIMEO, and a socket whose SO_RCVTIMEO never blocks (set
 * with a negative time) records none. */
#define LW_TRACKED_IN(call_name, blocking, expr, buf)                                         \
    do {                                                                                      \
        int64_t to_ = lw_fd_rcvtimeo(r);                                                      \
        uintptr_t tok_ = ((blocking) && to_ != 0)                                             \
                             ? lw_fd_wait1(call_name, r, fd, to_, __builtin_return_address(0)) \
                             : 0;                                                             \
        ssize_t n_ = (expr);                                                                  \
        int e_ = errno;                                                                       \
        lw_fd_wait_done(tok_);                                                                \
        got_in(r, n_, (buf));                                                                 \
        errno = e_;                                                                           \
        return n_;                                                                            \
    } while (0)

#define LW_TRACKED_OUT(expr)                                                                  \
    do {                                                                                      \
        ssize_t n_ = (expr);                                                                  \
        int e_ = errno;                                                                       \
        sent_out(r, n_);                                                                      \
        errno = e_;                                                                           \
        return n_;                                                                            \
    } while (0)

LW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(read)(fd, buf, n);
    LW_TRACKED_IN("read", true, LW_REAL(read)(fd, buf, n), buf);
}

LW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(__read_chk)(fd, buf, n, buflen);
    LW_TRACKED_IN("read", true, LW_REAL(__read_chk)(fd, buf, n, buflen), buf);
}

LW_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(readv)(fd, iov, cnt);
    LW_TRACKED_IN("readv", true, LW_REAL(readv)(fd, iov, cnt), NULL);
}

LW_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recv)(fd, buf, n, flags);
    LW_TRACKED_IN("recv", !(flags & MSG_DONTWAIT), LW_REAL(recv)(fd, buf, n, flags), NULL);
}

LW_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(__recv_chk)(fd, buf, n, buflen, flags);
    LW_TRACKED_IN("recv", !(flags & MSG_DONTWAIT),
                  LW_REAL(__recv_chk)(fd, buf, n, buflen, flags), NULL);
}

LW_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
                           socklen_t *al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recvfrom)(fd, buf, n, flags, a, al);
    LW_TRACKED_IN("recvfrom", !(flags & MSG_DONTWAIT),
                  LW_REAL(recvfrom)(fd, buf, n, flags, a, al), NULL);
}

LW_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                 struct sockaddr *a, socklen_t *al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, al);
    LW_TRACKED_IN("recvfrom", !(flags & MSG_DONTWAIT),
                  LW_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, al), NULL);
}

LW_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recvmsg)(fd, msg, flags);
    LW_TRACKED_IN("recvmsg", !(flags & MSG_DONTWAIT), LW_REAL(recvmsg)(fd, msg, flags), NULL);
}

LW_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned vlen, int flags, struct timespec *tmo)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recvmmsg)(fd, v, vlen, flags, tmo);
    uintptr_t tok = 0;
    int64_t to = lw_fd_rcvtimeo(r); /* bounds each datagram's wait */
    if (!(flags & MSG_DONTWAIT) && to != 0)
        tok = lw_fd_wait1("recvmmsg", r, fd,
                          tmo ? (int64_t)tmo->tv_sec * 1000000000 + tmo->tv_nsec : to,
                          __builtin_return_address(0));
    int got = LW_REAL(recvmmsg)(fd, v, vlen, flags, tmo);
    int e = errno;
    lw_fd_wait_done(tok);
    if (got >= 0) {
        uint64_t bytes = 0;
        for (int i = 0; i < got; i++)
            bytes += v[i].msg_len;
        lw_fd_io_in(r, bytes);
    }
    errno = e;
    return got;
}

/* ---- sending ----
 * A send is recorded as a wait only when it would block. Recording every
 * blocking-mode send, as receives are, would put lw_wait_begin on the path
 * of sends that complete at once (nearly all), and a thread alternating
 * send and recv would alternate two wait sites, which defeats the lazy
 * blocked-stack cache (lw_registry.c): every wait would unwind. (poll+recv
 * loops already pay that: a one-byte ping-pong measured ~20 -> ~85 us per
 * round trip here.) So a blocking-mode send on a tracked socket or pipe is
 * first made without blocking: send/sendto/sendmsg with MSG_DONTWAIT added,
 * write/writev as pwritev2(RWF_NOWAIT) at the current position (the same
 * kernel write path, with IOCB_NOWAIT; ~0.1 us dearer than write). Only
 * when that says EAGAIN, or a stream took just part of the data, is the
 * wait recorded and the program's call made blocking — for the rest after
 * a part: the result is then the sum, as the kernel's one call returns
 * (out_rest, unix_rest: how signals, errors and SIGPIPE stay the
 * kernel's).
 *
 * Recorded around the real call instead, like receives: sends whose
 * meaning changes when split (MSG_OOB, MSG_EOR, MSG_ZEROCOPY,
 * MSG_FASTOPEN), sockets of other protocols (LW_FD_OTHER), writes of 0 or
 * huge counts (see write), and write/writev on an fd whose kernel refuses
 * RWF_NOWAIT (LW_FDF_NOWAIT_NO). Two differences remain, both in a send
 * split that way while it waits for the rest: cancelled, it does not
 * return the part already sent (the kernel would return it short and act
 * on the cancel at the next cancellation point; the thread is cancelled
 * either way); on a unix socket a signal with SA_RESTART lets it go on
 * where the kernel would return the short count (unix_rest says why).
 */
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0
#endif
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif
#define LW_NOSPLIT (MSG_OOB | MSG_EOR | MSG_ZEROCOPY | MSG_FASTOPEN)


enum { LW_OUT_PLAIN, LW_OUT_TRY, LW_OUT_WAIT };
enum { LW_OP_SEND, LW_OP_SENDTO, LW_OP_SENDMSG, LW_OP_WRITE, LW_OP_WRITEV };

static inline bool is_sock(int k)
{
    return k == LW_FD_TCP || k == LW_FD_UDP || k == LW_FD_UNIX || k == LW_FD_OTHER;
}

/* PLAIN: cannot block for long (O_NONBLOCK, MSG_DONTWAIT, an eventfd or
 * other non-socket, non-pipe fd); WAIT: record around the real call; TRY:
 * try without blocking first. `vfs`: write/writev. */
static inline int out_mode(const struct lw_fd_rec *r, int flags, bool vfs)
{
    uint32_t fl = atomic_load_explicit(&r->flags, memory_order_relaxed);
    int k = r->kind;
    if ((fl & LW_FDF_NONBLOCK) || (flags & MSG_DONTWAIT) || !(is_sock(k) || k == LW_FD_PIPE))
        return LW_OUT_PLAIN;
    /* OTHER: a protocol whose short sends we know nothing of */
    if ((flags & LW_NOSPLIT) || (vfs && (fl & LW_FDF_NOWAIT_NO)) || k == LW_FD_OTHER)
        return LW_OUT_WAIT;
    return LW_OUT_TRY;
}

/* The try would have blocked: nothing taken (EAGAIN) or part of a stream. */
static inline bool out_short(ssize_t got, size_t want)
{
    return got < 0 ? (errno == EAGAIN || errno == EWOULDBLOCK) : (size_t)got < want;
}

static inline size_t iov_total(const struct iovec *v, size_t n)
{
    size_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i].iov_len;
    return t;
}

/* One send recorded around the real call (flags that must not be split). */
#define LW_TRACKED_OUT_WAIT(call_name, expr)                                                  \
    do {                                                                                      \
        int64_t to_ = lw_fd_sndtimeo(r);                                                      \
        uintptr_t tok_ =                                                                      \
            to_ != 0 ? lw_fd_wait1(call_name, r, fd, to_, __builtin_return_address(0)) : 0;   \
        ssize_t n_ = (expr);                                                                  \
        int e_ = errno;                                                                       \
        lw_fd_wait_done(tok_);                                                                \
        sent_out(r, n_);                                                                      \
        errno = e_;                                                                           \
        return n_;                                                                            \
    } while (0)

/* A send that would block, with its arguments as the program gave them. */
struct lw_out {
    const char *call;
    int op, fd, flags;
    size_t total;    /* bytes asked for */
    const void *buf; /* send, sendto, write */
    size_t n;
    const struct sockaddr *to; /* sendto */
    socklen_t tolen;
    const struct msghdr *msg; /* sendmsg */
    const struct iovec *iov;  /* writev */
    int cnt;
};

/* The program's own call, unchanged. */
static ssize_t out_real(const struct lw_out *o)
{
    switch (o->op) {
    case LW_OP_SEND:
        return LW_REAL(send)(o->fd, o->buf, o->n, o->flags);
    case LW_OP_SENDTO:
        return LW_REAL(sendto)(o->fd, o->buf, o->n, o->flags, o->to, o->tolen);
    case LW_OP_SENDMSG:
        return LW_REAL(sendmsg)(o->fd, o->msg, o->flags);
    case LW_OP_WRITE:
        return LW_REAL(write)(o->fd, o->buf, o->n);
    default:
        return LW_REAL(writev)(o->fd, o->iov, o->cnt);
    }
}

/* o's data from byte `off` on, without copying an iovec array: *one is the
 * buffer `off` falls inside, trimmed (empty when `off` is on a boundary),
 * then comes the untouched array returned (*n entries). */
static const struct iovec *rest_at(const struct lw_out *o, size_t off, struct iovec *one, int *n)
{
    one->iov_base = NULL;
    one->iov_len = 0;
    *n = 0;
    if (o->op != LW_OP_SENDMSG && o->op != LW_OP_WRITEV) {
        one->iov_base = (char *)o->buf + off;
        one->iov_len = o->n - off;
        return NULL;
    }
    const struct iovec *iov = o->op == LW_OP_SENDMSG ? o->msg->msg_iov : o->iov;
    int cnt = o->op == LW_OP_SENDMSG ? (int)o->msg->msg_iovlen : o->cnt;
    int i = 0;
    while (i < cnt && off >= iov[i].iov_len)
        off -= iov[i++].iov_len;
    if (i < cnt && off > 0) {
        one->iov_base = (char *)iov[i].iov_base + off;
        one->iov_len = iov[i].iov_len - off;
        i++;
    }
    *n = cnt - i;
    return iov + i;
}

/* A message for the rest: o's destination, no ancillary data (that went
 * with the first part, as the kernel attaches it once per call). */
static struct msghdr rest_msg(const struct lw_out *o, const struct iovec *v, int n)
{
    struct msghdr m = {.msg_iov = (struct iovec *)v, .msg_iovlen = (size_t)n};
    if (o->op == LW_OP_SENDTO) {
        m.msg_name = (void *)o->to;
        m.msg_namelen = o->tolen;
    } else if (o->op == LW_OP_SENDMSG) {
        m.msg_name = o->msg->msg_name;
        m.msg_namelen = o->msg->msg_namelen;
    }
    return m;
}

static inline int rest_flags(const struct lw_out *o)
{
    return o->op == LW_OP_WRITE || o->op == LW_OP_WRITEV ? 0 : o->flags;
}


/* One non-blocking send of o's data from byte `off` on. A socket that took
 * data raises no SIGPIPE in the kernel, hence MSG_NOSIGNAL; a pipe raises
 * it either way (pipe_write), so its try is the plain pwritev2. */
static ssize_t rest_try(const struct lw_fd_rec *r, const struct lw_out *o, size_t off)
{
    struct iovec one;
    int n;
    const struct iovec *tail = rest_at(o, off, &one, &n);
    const struct iovec *v = one.iov_len ? &one : tail;
    int cnt = one.iov_len ? 1 : n;
    if (is_sock(r->kind)) {
        struct msghdr m = rest_msg(o, v, cnt);
        int e = errno;
        ssize_t k = LW_REAL(sendmsg)(o->fd, &m, rest_flags(o) | MSG_DONTWAIT | MSG_NOSIGNAL);
        if (!(k < 0 && errno == ENOTSOCK))
            return k;
        errno = e; /* a stale record: the fd is no socket now */
    }
    ssize_t (*f)(int, const struct iovec *, int, off_t, int) = LW_REAL(pwritev2);
    return f ? f(o->fd, v, cnt, -1, RWF_NOWAIT) : LW_REAL(writev)(o->fd, v, cnt);
}

/* The rest of a unix stream send after the try took `done` bytes: one
 * blocking send (two when the try stopped inside an iovec), as the
 * kernel's call goes on — the same wait, woken by room, the peer's close
 * or shutdown (poll cannot see a shutdown(SHUT_RD) while the buffer is
 * full), and the same consumption of a pending error. The one difference:
 * a signal with SA_RESTART restarts it, where the kernel's call returns
 * the short count. Bytes of the rest sent, or -1. */
static ssize_t unix_rest(const struct lw_out *o, size_t done)
{
    struct iovec one;
    int n;
    const struct iovec *tail = rest_at(o, done, &one, &n);
    ssize_t sent = 0;
    for (int part = 0; part < 2; part++) {
        const struct iovec *v = part ? tail : &one;
        int cnt = part ? n : (one.iov_len ? 1 : 0);
        if (cnt == 0)
            continue;
        struct msghdr m = rest_msg(o, v, cnt);
        int e = errno;
        ssize_t k = LW_REAL(sendmsg)(o->fd, &m, rest_flags(o) | MSG_NOSIGNAL);
        if (k < 0 && errno == ENOTSOCK) { /* a stale record: the fd is no socket now */
            errno = e;
            k = LW_REAL(writev)(o->fd, v, cnt);
        }
        if (k < 0)
            return sent ? sent : -1;
        sent += k;
        if (!part && (size_t)k < one.iov_len)
            break; /* interrupted or timed out: stop here */
    }
    return sent;
}

/* The rest of a TCP or pipe send after the try took `done` bytes, ending
 * as the kernel's one call would have: wait for room (poll), send what
 * fits without blocking, until all went. A signal (with SA_RESTART or not)
 * or SO_SNDTIMEO ends it with the short count, as the kernel's call ends
 * once it has sent something (one blocking send of the rest would
 * restart). An error or hang-up ends it too: TCP leaves the socket's error
 * pending for the next call (a blocking send of the rest would consume the
 * ECONNRESET the next send must see, which would get EPIPE and SIGPIPE
 * instead); a pipe write raises SIGPIPE, so one more try does. Bytes sent. */
static ssize_t out_rest(const struct lw_fd_rec *r, const struct lw_out *o, size_t done,
                        int64_t timeo)
{
    if (r->kind == LW_FD_UNIX)
        return unix_rest(o, done);
    uint64_t end = timeo > 0 ? lw_now_ns() + (uint64_t)timeo : 0;
    size_t sent = 0;
    bool again = false; /* room was reported but the try found none */
    while (done + sent < o->total) {
        int ms = -1;
        if (end) {
            uint64_t now = lw_now_ns();
            if (now >= end)
                break;
            uint64_t left = (end - now + 999999) / 1000000;
            ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        if (again) {
            /* a try found no room where poll saw some (TCP under memory
             * pressure): back off 1 ms rather than spin */
            again = false;
            if (LW_REAL(poll)(NULL, 0, ms < 0 || ms > 1 ? 1 : ms) < 0)
                break; /* a signal */
            continue;
        }
        struct pollfd p = {.fd = o->fd, .events = POLLOUT};
        int pr = LW_REAL(poll)(&p, 1, ms);
        if (pr <= 0)
            break; /* a signal, or SO_SNDTIMEO ran out */
        if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            if (r->kind == LW_FD_PIPE)
                (void)rest_try(r, o, done + sent);
            break;
        }
        ssize_t k = rest_try(r, o, done + sent);
        if (k > 0)
            sent += (size_t)k;
        else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            again = true;
        else
            break;
    }
    return (ssize_t)sent;
}

/* The try would have blocked (got: its result). Record the wait, then make
 * the program's call, or the rest of it after a partial stream send. */
static __attribute__((noinline, cold)) ssize_t out_block(struct lw_fd_rec *r,
                                                         const struct lw_out *o, ssize_t got,
                                                         int e0, void *caller)
{
    int64_t to = lw_fd_sndtimeo(r);
    if (to == 0)
        return got; /* SO_SNDTIMEO that never blocks: the real call returns the same */
    size_t done = got > 0 ? (size_t)got : 0;
    errno = e0;
    uintptr_t tok = lw_fd_wait1(o->call, r, o->fd, to, caller);
    ssize_t more = done ? out_rest(r, o, done, to) : out_real(o); /* >= 0 or -1 */
    int e = errno;
    lw_fd_wait_done(tok);
    if (!done) {
        errno = e;
        return more;
    }
    errno = e0; /* the short count is a success: errno as on entry */
    return more > 0 ? (ssize_t)(done + (size_t)more) : (ssize_t)done;
}

#define LW_WRITE_TRY_MAX ((size_t)64 << 20)

/* write/writev tried without blocking; LW_NOT_TRIED (errno then e0) when
 * pwritev2 or RWF_NOWAIT on this file is not supported (a kernel without
 * it for pipes or sockets; or a stale record whose fd now is a file: the
 * next snapshot drops it): the fd's writes are recorded unprobed from then
 * on. */
#define LW_NOT_TRIED (-2)
static __attribute__((noinline, cold)) ssize_t nowait_refused(struct lw_fd_rec *r, int e0)
{
    lw_fd_set_flag(r, LW_FDF_NOWAIT_NO, true);
    errno = e0;
    return LW_NOT_TRIED;
}

static inline ssize_t vfs_try(struct lw_fd_rec *r, int fd, const struct iovec *v, int cnt, int e0)
{
    ssize_t (*f)(int, const struct iovec *, int, off_t, int) = LW_REAL(pwritev2);
    if (LW_LIKELY(f != NULL)) {
        ssize_t got = f(fd, v, cnt, -1, RWF_NOWAIT);
        if (LW_LIKELY(got >= 0 || errno != EOPNOTSUPP))
            return got;
    }
    return nowait_refused(r, e0);
}

LW_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(write)(fd, buf, n);
    int how = out_mode(r, 0, true);
    /* Where write and pwritev2 differ, write is not tried: 0 bytes (write
     * sends an empty datagram, pwritev2 nothing; it cannot block for long)
     * and huge counts (write checks the whole range first: EFAULT, where
     * pwritev2 may send the readable part or say EINVAL). */
    if (LW_UNLIKELY(n - 1 >= LW_WRITE_TRY_MAX) && how == LW_OUT_TRY)
        how = n ? LW_OUT_WAIT : LW_OUT_PLAIN;
    if (how == LW_OUT_PLAIN)
        LW_TRACKED_OUT(LW_REAL(write)(fd, buf, n));
    if (how == LW_OUT_WAIT)
        LW_TRACKED_OUT_WAIT("write", LW_REAL(write)(fd, buf, n));
    int e0 = errno;
    struct iovec v = {(void *)buf, n};
    ssize_t got = vfs_try(r, fd, &v, 1, e0);
    if (LW_UNLIKELY(got == LW_NOT_TRIED))
        LW_TRACKED_OUT_WAIT("write", LW_REAL(write)(fd, buf, n));
    if (LW_UNLIKELY(out_short(got, n))) {
        struct lw_out o = {.call = "write", .op = LW_OP_WRITE, .fd = fd, .total = n,
                           .buf = buf, .n = n};
        got = out_block(r, &o, got, e0, __builtin_return_address(0));
    }
    LW_TRACKED_OUT(got);
}

LW_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(writev)(fd, iov, cnt);
    int how = out_mode(r, 0, true);
    if (how == LW_OUT_PLAIN)
        LW_TRACKED_OUT(LW_REAL(writev)(fd, iov, cnt));
    if (how == LW_OUT_WAIT)
        LW_TRACKED_OUT_WAIT("writev", LW_REAL(writev)(fd, iov, cnt));
    int e0 = errno;
    ssize_t got = vfs_try(r, fd, iov, cnt, e0);
    if (LW_UNLIKELY(got == LW_NOT_TRIED))
        LW_TRACKED_OUT_WAIT("writev", LW_REAL(writev)(fd, iov, cnt));
    /* the kernel read the array for the try: it is valid to read here */
    size_t total = got < 0 ? 0 : iov_total(iov, (size_t)cnt);
    if (LW_UNLIKELY(out_short(got, total))) {
        struct lw_out o = {.call = "writev", .op = LW_OP_WRITEV, .fd = fd, .total = total,
                           .iov = iov, .cnt = cnt};
        got = out_block(r, &o, got, e0, __builtin_return_address(0));
    }
    LW_TRACKED_OUT(got);
}

LW_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(send)(fd, buf, n, flags);
    int how = out_mode(r, flags, false);
    if (how == LW_OUT_PLAIN)
        LW_TRACKED_OUT(LW_REAL(send)(fd, buf, n, flags));
    if (how == LW_OUT_WAIT)
        LW_TRACKED_OUT_WAIT("send", LW_REAL(send)(fd, buf, n, flags));
    int e0 = errno;
    ssize_t got = LW_REAL(send)(fd, buf, n, flags | MSG_DONTWAIT);
    if (LW_UNLIKELY(out_short(got, n))) {
        struct lw_out o = {.call = "send", .op = LW_OP_SEND, .fd = fd, .flags = flags,
                           .total = n, .buf = buf, .n = n};
        got = out_block(r, &o, got, e0, __builtin_return_address(0));
    }
    LW_TRACKED_OUT(got);
}

LW_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                         socklen_t al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(sendto)(fd, buf, n, flags, a, al);
    int how = out_mode(r, flags, false);
    if (how == LW_OUT_PLAIN)
        LW_TRACKED_OUT(LW_REAL(sendto)(fd, buf, n, flags, a, al));
    if (how == LW_OUT_WAIT)
        LW_TRACKED_OUT_WAIT("sendto", LW_REAL(sendto)(fd, buf, n, flags, a, al));
    int e0 = errno;
    ssize_t got = LW_REAL(sendto)(fd, buf, n, flags | MSG_DONTWAIT, a, al);
    if (LW_UNLIKELY(out_short(got, n))) {
        struct lw_out o = {.call = "sendto", .op = LW_OP_SENDTO, .fd = fd, .flags = flags,
                           .total = n, .buf = buf, .n = n, .to = a, .tolen = al};
        got = out_block(r, &o, got, e0, __builtin_return_address(0));
    }
    LW_TRACKED_OUT(got);
}

LW_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(sendmsg)(fd, msg, flags);
    int how = out_mode(r, flags, false);
    if (how == LW_OUT_PLAIN)
        LW_TRACKED_OUT(LW_REAL(sendmsg)(fd, msg, flags));
    if (how == LW_OUT_WAIT)
        LW_TRACKED_OUT_WAIT("sendmsg", LW_REAL(sendmsg)(fd, msg, flags));
    int e0 = errno;
    ssize_t got = LW_REAL(sendmsg)(fd, msg, flags | MSG_DONTWAIT);
    /* the kernel read *msg for the try: it is valid to read here */
    size_t total = got < 0 ? 0 : iov_total(msg->msg_iov, msg->msg_iovlen);
    if (LW_UNLIKELY(out_short(got, total))) {
        struct lw_out o = {.call = "sendmsg", .op = LW_OP_SENDMSG, .fd = fd, .flags = flags,
                           .total = total, .msg = msg};
        got = out_block(r, &o, got, e0, __builtin_return_address(0));
    }
    LW_TRACKED_OUT(got);
}
