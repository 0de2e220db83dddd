/* hook_socket_io.c — interposed I/O calls on fds: read, readv, recv,
 * recvfrom, recvmsg, recvmmsg, write, writev, send, sendto, sendmsg (and
 * the _FORTIFY_SOURCE variants __read_chk, __recv_chk, __recvfrom_chk).
 *
 * The hot path of the whole family: an untracked fd (files, ttys) costs one
 * table load; a tracked fd adds a compare for ownership, two relaxed atomics
 * and a coarse clock read. A blocking-mode receive on a tracked fd goes
 * through lw_wait_begin/end, and so does a blocking-mode send (see
 * "sending" below). Must never: take a lock, allocate, unwind, or change
 * errno/return values; these are cancellation points, so nothing but the
 * real call runs between wait begin and end.
 */
#include "lw_hooks.h"

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
 * with a negative time) records none. `split`: the call may be split at a
 * lazy site (docs/design.md §3.6, lw_fd_split), which may end it with
 * EINTR as the untimed call would have. */
#define LW_TRACKED_IN(call_name, blocking, split, how, expr, buf)                                  \
    do {                                                                                           \
        int64_t to_ = lw_fd_rcvtimeo(r);                                                           \
        uintptr_t tok_ = ((blocking) && to_ != 0)                                                  \
                             ? lw_fd_wait1(call_name, r, fd, to_, __builtin_return_address(0))     \
                             : 0;                                                                  \
        if (LW_UNLIKELY(lw_wait_lazy(tok_)) && (split) && !lw_fd_split(tok_, r, fd, (how))) {      \
            lw_fd_wait_done(tok_);                                                                 \
            return -1;                                                                             \
        }                                                                                          \
        ssize_t n_ = (expr);                                                                       \
        int e_ = errno;                                                                            \
        lw_fd_wait_done(tok_);                                                                     \
        got_in(r, n_, (buf));                                                                      \
        errno = e_;                                                                                \
        return n_;                                                                                 \
    } while (0)

/* flags of a receive that does not wait for data (or not for POLLIN) */
#define LW_RECV_NOSPLIT (MSG_DONTWAIT | MSG_ERRQUEUE | MSG_OOB)

LW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(read)(fd, buf, n);
    LW_TRACKED_IN("read", true, n > 0, LW_SPLIT_READ, LW_REAL(read)(fd, buf, n), buf);
}

LW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(__read_chk)(fd, buf, n, buflen);
    LW_TRACKED_IN("read", true, n > 0, LW_SPLIT_READ, LW_REAL(__read_chk)(fd, buf, n, buflen), buf);
}

LW_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(readv)(fd, iov, cnt);
    LW_TRACKED_IN("readv", true, false, LW_SPLIT_READ, LW_REAL(readv)(fd, iov, cnt), NULL);
}

LW_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recv)(fd, buf, n, flags);
    LW_TRACKED_IN("recv", !(flags & MSG_DONTWAIT), n > 0 && !(flags & LW_RECV_NOSPLIT),
                  LW_SPLIT_RECV, LW_REAL(recv)(fd, buf, n, flags), NULL);
}

LW_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(__recv_chk)(fd, buf, n, buflen, flags);
    LW_TRACKED_IN("recv", !(flags & MSG_DONTWAIT), n > 0 && !(flags & LW_RECV_NOSPLIT),
                  LW_SPLIT_RECV, LW_REAL(__recv_chk)(fd, buf, n, buflen, flags), NULL);
}

LW_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
                           socklen_t *al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recvfrom)(fd, buf, n, flags, a, al);
    LW_TRACKED_IN("recvfrom", !(flags & MSG_DONTWAIT), n > 0 && !(flags & LW_RECV_NOSPLIT),
                  LW_SPLIT_RECV, LW_REAL(recvfrom)(fd, buf, n, flags, a, al), NULL);
}

LW_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                 struct sockaddr *a, socklen_t *al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, al);
    LW_TRACKED_IN("recvfrom", !(flags & MSG_DONTWAIT), n > 0 && !(flags & LW_RECV_NOSPLIT),
                  LW_SPLIT_RECV, LW_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, al), NULL);
}

LW_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(recvmsg)(fd, msg, flags);
    /* a zero-length recvmsg waits for data as any (only read/readv have the
     * zero-length shortcut), so msg is not read */
    LW_TRACKED_IN("recvmsg", !(flags & MSG_DONTWAIT), !(flags & LW_RECV_NOSPLIT), LW_SPLIT_RECV,
                  LW_REAL(recvmsg)(fd, msg, flags), NULL);
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
 * A blocking-mode send on a tracked socket or pipe is recorded around the
 * program's own call, as receives are: the kernel's one call is what runs,
 * so a signal, SO_SNDTIMEO, a partial send, an error left pending and
 * SIGPIPE come out exactly as without leakwatch. (A first try with
 * MSG_DONTWAIT / RWF_NOWAIT, waiting only when it came back short, kept
 * sends that do not block free of the bookkeeping, but its rest could not
 * be the kernel's call: a signal whose handler ran between the try and the
 * wait was lost, and the send waited where the kernel's returns the short
 * count — CPython's socketserver SocketWriterTest passed only because it
 * re-sends its signal after a second.) Non-blocking sends (O_NONBLOCK,
 * MSG_DONTWAIT) and fds that cannot block for long (eventfd, files) record
 * no wait. */
static inline bool out_waits(const struct lw_fd_rec *r, int flags)
{
    uint32_t fl = atomic_load_explicit(&r->flags, memory_order_relaxed);
    int k = r->kind;
    return !(fl & LW_FDF_NONBLOCK) && !(flags & MSG_DONTWAIT) &&
           (k == LW_FD_TCP || k == LW_FD_UDP || k == LW_FD_UNIX || k == LW_FD_OTHER ||
            k == LW_FD_PIPE) &&
           lw_fd_sndtimeo(r) != 0;
}

/* One send on a tracked fd: the wait bookkeeping when it may block, the
 * call, the counts; errno is the real call's. */
#define LW_TRACKED_SEND(call_name, flags, expr)                                               \
    do {                                                                                      \
        uintptr_t tok_ = out_waits(r, (flags)) ? lw_fd_wait1(call_name, r, fd, lw_fd_sndtimeo(r), \
                                                            __builtin_return_address(0))      \
                                              : 0;                                            \
        ssize_t n_ = (expr);                                                                  \
        int e_ = errno;                                                                       \
        lw_fd_wait_done(tok_);                                                                \
        sent_out(r, n_);                                                                      \
        errno = e_;                                                                           \
        return n_;                                                                            \
    } while (0)

LW_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(write)(fd, buf, n);
    LW_TRACKED_SEND("write", 0, LW_REAL(write)(fd, buf, n));
}

LW_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(writev)(fd, iov, cnt);
    LW_TRACKED_SEND("writev", 0, LW_REAL(writev)(fd, iov, cnt));
}

LW_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(send)(fd, buf, n, flags);
    LW_TRACKED_SEND("send", flags, LW_REAL(send)(fd, buf, n, flags));
}

LW_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                         socklen_t al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(sendto)(fd, buf, n, flags, a, al);
    LW_TRACKED_SEND("sendto", flags, LW_REAL(sendto)(fd, buf, n, flags, a, al));
}

LW_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_REAL(sendmsg)(fd, msg, flags);
    LW_TRACKED_SEND("sendmsg", flags, LW_REAL(sendmsg)(fd, msg, flags));
}
