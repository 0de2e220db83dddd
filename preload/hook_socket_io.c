/* hook_socket_io.c — interposed I/O calls on fds: read, readv, recv,
 * recvfrom, recvmsg, recvmmsg, write, writev, send, sendto, sendmsg (and
 * the _FORTIFY_SOURCE variants __read_chk, __recv_chk, __recvfrom_chk).
 *
 * The hot path of the whole family: an untracked fd (files, ttys) costs one
 * table load; a tracked fd adds a compare for ownership, two relaxed atomics
 * and a coarse clock read. Only a blocking-mode receive on a tracked fd goes
 * through lw_wait_begin/end. Must never: take a lock, allocate, unwind, or
 * change errno/return values; these are cancellation points, so nothing but
 * the real call runs between wait begin and end.
 */
#include "hook_socket.h"
#include "lw_timer.h"

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
 * errno is the real call's. `blocking` is false for MSG_DONTWAIT. */
#define LW_TRACKED_IN(call_name, blocking, expr, buf)                                         \
    do {                                                                                      \
        uintptr_t tok_ = (blocking) ? lw_fd_wait1(call_name, r, fd, -1,                       \
                                                  __builtin_return_address(0))                \
                                    : 0;                                                      \
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

LW_FD_REAL(ssize_t, read, (int, void *, size_t));
LW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(read)(fd, buf, n);
    LW_TRACKED_IN("read", true, LW_RESOLVE(read)(fd, buf, n), buf);
}

LW_FD_REAL(ssize_t, __read_chk, (int, void *, size_t, size_t));
LW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(__read_chk)(fd, buf, n, buflen);
    LW_TRACKED_IN("read", true, LW_RESOLVE(__read_chk)(fd, buf, n, buflen), buf);
}

LW_FD_REAL(ssize_t, readv, (int, const struct iovec *, int));
LW_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(readv)(fd, iov, cnt);
    LW_TRACKED_IN("readv", true, LW_RESOLVE(readv)(fd, iov, cnt), NULL);
}

LW_FD_REAL(ssize_t, recv, (int, void *, size_t, int));
LW_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(recv)(fd, buf, n, flags);
    LW_TRACKED_IN("recv", !(flags & MSG_DONTWAIT), LW_RESOLVE(recv)(fd, buf, n, flags), NULL);
}

LW_FD_REAL(ssize_t, __recv_chk, (int, void *, size_t, size_t, int));
LW_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(__recv_chk)(fd, buf, n, buflen, flags);
    LW_TRACKED_IN("recv", !(flags & MSG_DONTWAIT),
                  LW_RESOLVE(__recv_chk)(fd, buf, n, buflen, flags), NULL);
}

LW_FD_REAL(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *));
LW_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
                           socklen_t *al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(recvfrom)(fd, buf, n, flags, a, al);
    LW_TRACKED_IN("recvfrom", !(flags & MSG_DONTWAIT),
                  LW_RESOLVE(recvfrom)(fd, buf, n, flags, a, al), NULL);
}

LW_FD_REAL(ssize_t, __recvfrom_chk,
           (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *));
LW_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                 struct sockaddr *a, socklen_t *al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(__recvfrom_chk)(fd, buf, n, buflen, flags, a, al);
    LW_TRACKED_IN("recvfrom", !(flags & MSG_DONTWAIT),
                  LW_RESOLVE(__recvfrom_chk)(fd, buf, n, buflen, flags, a, al), NULL);
}

LW_FD_REAL(ssize_t, recvmsg, (int, struct msghdr *, int));
LW_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(recvmsg)(fd, msg, flags);
    LW_TRACKED_IN("recvmsg", !(flags & MSG_DONTWAIT), LW_RESOLVE(recvmsg)(fd, msg, flags), NULL);
}

LW_FD_REAL(int, recvmmsg, (int, struct mmsghdr *, unsigned, int, struct timespec *));
LW_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned vlen, int flags, struct timespec *tmo)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(recvmmsg)(fd, v, vlen, flags, tmo);
    uintptr_t tok = 0;
    if (!(flags & MSG_DONTWAIT))
        tok = lw_fd_wait1("recvmmsg", r, fd,
                          tmo ? (int64_t)tmo->tv_sec * 1000000000 + tmo->tv_nsec : -1,
                          __builtin_return_address(0));
    int got = LW_RESOLVE(recvmmsg)(fd, v, vlen, flags, tmo);
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

LW_FD_REAL(ssize_t, write, (int, const void *, size_t));
LW_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(write)(fd, buf, n);
    LW_TRACKED_OUT(LW_RESOLVE(write)(fd, buf, n));
}

LW_FD_REAL(ssize_t, writev, (int, const struct iovec *, int));
LW_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(writev)(fd, iov, cnt);
    LW_TRACKED_OUT(LW_RESOLVE(writev)(fd, iov, cnt));
}

LW_FD_REAL(ssize_t, send, (int, const void *, size_t, int));
LW_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(send)(fd, buf, n, flags);
    LW_TRACKED_OUT(LW_RESOLVE(send)(fd, buf, n, flags));
}

LW_FD_REAL(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t));
LW_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                         socklen_t al)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(sendto)(fd, buf, n, flags, a, al);
    LW_TRACKED_OUT(LW_RESOLVE(sendto)(fd, buf, n, flags, a, al));
}

LW_FD_REAL(ssize_t, sendmsg, (int, const struct msghdr *, int));
LW_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct lw_fd_rec *r = lw_fd_get(fd);
    if (LW_LIKELY(!r))
        return LW_RESOLVE(sendmsg)(fd, msg, flags);
    LW_TRACKED_OUT(LW_RESOLVE(sendmsg)(fd, msg, flags));
}
