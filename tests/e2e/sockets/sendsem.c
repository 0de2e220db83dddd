/* sendsem — sends and writes that block, time out, are interrupted, fail
 * or complete, on sockets and pipes, printing "what ret errno" lines. The
 * driver runs it with and without the preload and requires identical
 * output: leakwatch tries a blocking send without blocking first and, when
 * that would block, records the wait and completes the call (or the rest
 * of it), so what the program sees must not change — totals, short counts,
 * EAGAIN/EINTR/EPIPE, errno left alone on success, SIGPIPE counts, message
 * boundaries, passed fds, cancellation. Every wait is bounded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BIG (1 << 20)
static char big[BIG];

static const char *en(int e)
{
    return e ? strerrorname_np(e) : "0";
}

/* "what ret=N errno=E": errno is set to a marker first, so a success
 * that changed errno shows up. */
#define SHOW(what, call)                                                                      \
    do {                                                                                      \
        errno = EILSEQ;                                                                       \
        long r_ = (long)(call);                                                               \
        int e_ = errno;                                                                       \
        printf("%-28s ret=%ld errno=%s\n", what, r_, en(e_));                                 \
    } while (0)

/* A short count is machine-dependent (buffer sizes): print its shape. */
#define SHOW_SHORT(what, call, want)                                                          \
    do {                                                                                      \
        errno = EILSEQ;                                                                       \
        long r_ = (long)(call);                                                               \
        int e_ = errno;                                                                       \
        printf("%-28s ret=%s errno=%s\n", what,                                               \
               r_ < 0 ? "-1" : r_ == (long)(want) ? "all" : r_ > 0 ? "short" : "0", en(e_)); \
    } while (0)

static void ms(int n)
{
    struct timespec t = {n / 1000, (long)(n % 1000) * 1000000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void die(const char *what)
{
    fprintf(stderr, "sendsem: %s: %s\n", what, strerror(errno));
    exit(3);
}

/* ---- a reader that starts late and drains everything ---- */
struct drain {
    int fd;
    int delay_ms;
    long total;
    uint32_t sum;
    int fds_got; /* SCM_RIGHTS fds received */
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    ms(d->delay_ms);
    char buf[8192];
    for (;;) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int) * 4)];
        } c;
        struct iovec v = {buf, sizeof buf};
        struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = &c,
                           .msg_controllen = sizeof c};
        ssize_t n = recvmsg(d->fd, &m, 0);
        if (n < 0 && errno == ENOTSOCK)
            n = read(d->fd, buf, sizeof buf);
        else if (n >= 0)
            for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
                if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(h), sizeof fd);
                    close(fd);
                    d->fds_got++;
                }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            d->sum = d->sum * 31 + (unsigned char)buf[i];
        d->total += n;
    }
    return NULL;
}

static pthread_t drain_start(struct drain *d, int fd, int delay_ms)
{
    memset(d, 0, sizeof *d);
    d->fd = fd;
    d->delay_ms = delay_ms;
    pthread_t t;
    if (pthread_create(&t, NULL, drain_main, d))
        die("pthread_create");
    return t;
}

static void drain_end(const char *what, pthread_t t, struct drain *d, int wfd)
{
    close(wfd);
    pthread_join(t, NULL);
    close(d->fd);
    printf("%-28s got=%ld sum=%08x fds=%d\n", what, d->total, d->sum, d->fds_got);
}

/* The same, after `pre` bytes of filler the sum does not cover. */
static void drain_end_after(const char *what, pthread_t t, struct drain *d, int wfd, long pre)
{
    close(wfd);
    pthread_join(t, NULL);
    close(d->fd);
    printf("%-28s got=pre+%ld fds=%d\n", what, d->total - pre, d->fds_got);
}

static void pair(int type, int sv[2])
{
    if (socketpair(AF_UNIX, type, 0, sv))
        die("socketpair");
}

static void set_timeo(int fd, int name, int msec)
{
    struct timeval tv = {msec / 1000, (msec % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv))
        die("setsockopt");
}

/* Fill a socket until a non-blocking send says EAGAIN: bytes sent. */
static long fill(int fd)
{
    static char chunk[4096];
    long n = 0;
    ssize_t k;
    while ((k = send(fd, chunk, sizeof chunk, MSG_DONTWAIT)) > 0)
        n += k;
    while ((k = send(fd, chunk, 1, MSG_DONTWAIT)) > 0)
        n += k;
    return n;
}

/* ---- blocking sends that must complete in full ---- */
static void full_sends(void)
{
    int sv[2], p[2];
    struct drain d;
    pthread_t t;

    pair(SOCK_STREAM, sv);
    t = drain_start(&d, sv[1], 50);
    SHOW("send 1M", send(sv[0], big, BIG, 0));
    drain_end("  drained", t, &d, sv[0]);

    pair(SOCK_STREAM, sv);
    t = drain_start(&d, sv[1], 50);
    SHOW("sendto 1M", sendto(sv[0], big, BIG, 0, NULL, 0));
    drain_end("  drained", t, &d, sv[0]);

    pair(SOCK_STREAM, sv);
    t = drain_start(&d, sv[1], 50);
    SHOW("write 1M socket", write(sv[0], big, BIG));
    drain_end("  drained", t, &d, sv[0]);

    pair(SOCK_STREAM, sv);
    t = drain_start(&d, sv[1], 50);
    struct iovec v[4] = {{big, 1000}, {big + 1000, 0}, {big + 1000, 400000}, {big + 401000, 300000}};
    SHOW("writev 701000 socket", writev(sv[0], v, 4));
    drain_end("  drained", t, &d, sv[0]);

    pair(SOCK_STREAM, sv);
    t = drain_start(&d, sv[1], 50);
    struct msghdr m = {.msg_iov = v, .msg_iovlen = 4};
    SHOW("sendmsg 701000", sendmsg(sv[0], &m, 0));
    drain_end("  drained", t, &d, sv[0]);

    /* an fd passed with a send the kernel cannot take at once (nothing, or
     * only part, fits) arrives once */
    for (int full = 0; full < 2; full++) {
        pair(SOCK_STREAM, sv);
        long pre = full ? fill(sv[0]) : 0;
        t = drain_start(&d, sv[1], 50);
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } c;
        memset(&c, 0, sizeof c);
        struct iovec one[2] = {{big, 200000}, {big + 200000, 300000}};
        struct msghdr mc = {.msg_iov = one, .msg_iovlen = 2, .msg_control = &c,
                            .msg_controllen = sizeof c};
        c.h.cmsg_level = SOL_SOCKET;
        c.h.cmsg_type = SCM_RIGHTS;
        c.h.cmsg_len = CMSG_LEN(sizeof(int));
        int passed = dup(1);
        memcpy(CMSG_DATA(&c.h), &passed, sizeof passed);
        SHOW(full ? "sendmsg SCM_RIGHTS (full)" : "sendmsg SCM_RIGHTS (room)",
             sendmsg(sv[0], &mc, 0));
        close(passed);
        drain_end_after("  drained", t, &d, sv[0], pre);
    }

    if (pipe(p))
        die("pipe");
    t = drain_start(&d, p[0], 50);
    SHOW("write 1M pipe", write(p[1], big, BIG));
    drain_end("  drained", t, &d, p[1]);

    if (pipe(p))
        die("pipe");
    t = drain_start(&d, p[0], 50);
    SHOW("writev 701000 pipe", writev(p[1], v, 4));
    drain_end("  drained", t, &d, p[1]);

    /* record boundaries survive on a seqpacket socket */
    pair(SOCK_SEQPACKET, sv);
    SHOW("seqpacket write 10", write(sv[0], big, 10));
    struct iovec w2[2] = {{big, 5}, {big + 5, 15}};
    SHOW("seqpacket writev 20", writev(sv[0], w2, 2));
    SHOW("seqpacket send 30", send(sv[0], big, 30, 0));
    char b[64];
    for (int i = 0; i < 3; i++)
        SHOW("  seqpacket recv", recv(sv[1], b, sizeof b, 0));
    close(sv[0]);
    close(sv[1]);
}

/* ---- sends that time out, are interrupted or fail ---- */
static volatile sig_atomic_t pipes_seen;
static void on_pipe(int s)
{
    (void)s;
    pipes_seen++;
}
static void on_alarm(int s)
{
    (void)s;
}

static void *closer_main(void *arg)
{
    ms(100);
    close((int)(intptr_t)arg);
    return NULL;
}

static void *shutter_main(void *arg)
{
    ms(100);
    shutdown((int)(intptr_t)arg, SHUT_RD);
    return NULL;
}

static pthread_t closer_start(int fd)
{
    pthread_t t;
    if (pthread_create(&t, NULL, closer_main, (void *)(intptr_t)fd))
        die("pthread_create");
    return t;
}

static void arm(int msec)
{
    struct itimerval it = {{0, 0}, {msec / 1000, (msec % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void tcp_pair(int *c, int *a);

static void failing_sends(void)
{
    int sv[2], p[2];
    char b[16];

    pair(SOCK_STREAM, sv);
    set_timeo(sv[0], SO_SNDTIMEO, 100);
    SHOW_SHORT("send timeout (room)", send(sv[0], big, BIG, 0), BIG);
    SHOW("send timeout (full)", send(sv[0], big, BIG, 0));
    SHOW("write timeout (full)", write(sv[0], big, 100));
    SHOW("send DONTWAIT (full)", send(sv[0], big, 100, MSG_DONTWAIT));
    close(sv[0]);
    close(sv[1]);
    pair(SOCK_STREAM, sv);
    set_timeo(sv[1], SO_RCVTIMEO, 100);
    SHOW("recv timeout", recv(sv[1], b, sizeof b, 0));
    SHOW("read timeout", read(sv[1], b, sizeof b));
    /* a negative SO_SNDTIMEO makes a blocking send on a full socket fail at once */
    fill(sv[0]);
    struct timeval neg = {-1, 0};
    SHOW("setsockopt SNDTIMEO -1", setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &neg, sizeof neg));
    SHOW("send never-block (full)", send(sv[0], big, 100, 0));
    struct timeval bad = {1, 2000000};
    SHOW("setsockopt usec 2e6", setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &bad, sizeof bad));
    SHOW("setsockopt short len", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &bad, 4));
    SHOW("setsockopt on pipe", setsockopt(1, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
    close(sv[0]);
    close(sv[1]);

    /* interrupted by a signal without SA_RESTART: a short count, then EINTR */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    pair(SOCK_STREAM, sv);
    arm(100);
    SHOW_SHORT("send interrupted (room)", send(sv[0], big, BIG, 0), BIG);
    arm(100);
    SHOW("send interrupted (full)", send(sv[0], big, BIG, 0));
    arm(100);
    struct iovec v[2] = {{big, 1000}, {big, 1000}};
    SHOW("writev interrupted (full)", writev(sv[0], v, 2));
    close(sv[0]);
    close(sv[1]);
    if (pipe(p))
        die("pipe");
    arm(100);
    SHOW_SHORT("write pipe interrupted", write(p[1], big, BIG), BIG);
    arm(100);
    SHOW("write pipe interrupted full", write(p[1], big, 10));
    close(p[0]);
    close(p[1]);

    /* SA_RESTART: a signal still ends a send that has sent a part (the
     * reader starts after it: a send that went on would complete). Not
     * for unix sockets: leakwatch lets such a send go on there (see
     * preload/hooks/hook_socket_io.c, unix_rest). */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    for (int k = 1; k < 3; k++) {
        int w, rd;
        if (k == 0) {
            pair(SOCK_STREAM, sv);
            w = sv[0], rd = sv[1];
        } else if (k == 1) {
            if (pipe(p))
                die("pipe");
            w = p[1], rd = p[0];
        } else {
            tcp_pair(&w, &rd);
        }
        struct drain d;
        pthread_t t = drain_start(&d, rd, 300);
        arm(100);
        long got = k == 1 ? (long)write(w, big, BIG) : (long)send(w, big, BIG, 0);
        close(w);
        pthread_join(t, NULL);
        close(rd);
        printf("%-28s ret=%s drained=%s\n", k == 0 ? "send SA_RESTART" : k == 1 ? "write pipe SA_RESTART" : "tcp send SA_RESTART",
               got == BIG ? "all" : got > 0 ? "short" : "-1", d.total == got ? "ret" : "other");
    }
    sa.sa_flags = 0;

    /* EPIPE, and SIGPIPE exactly when the kernel raises it */
    sa.sa_handler = on_pipe;
    sigaction(SIGPIPE, &sa, NULL);
    pair(SOCK_STREAM, sv);
    close(sv[1]);
    SHOW("send to closed", send(sv[0], big, 10, 0));
    SHOW("send NOSIGNAL to closed", send(sv[0], big, 10, MSG_NOSIGNAL));
    SHOW("write to closed socket", write(sv[0], big, 10));
    close(sv[0]);
    if (pipe(p))
        die("pipe");
    close(p[0]);
    SHOW("write to closed pipe", write(p[1], big, 10));
    close(p[1]);
    printf("%-28s %d\n", "SIGPIPEs", (int)pipes_seen);

    /* the reader goes away while a send waits for room after a part went:
     * the part is returned; a socket raises no SIGPIPE then, a pipe does */
    pair(SOCK_STREAM, sv);
    pthread_t t = closer_start(sv[1]);
    SHOW_SHORT("send, peer closes", send(sv[0], big, BIG, 0), BIG);
    pthread_join(t, NULL);
    printf("%-28s %d\n", "  SIGPIPEs", (int)pipes_seen);
    SHOW("send after", send(sv[0], big, 10, 0));
    printf("%-28s %d\n", "  SIGPIPEs", (int)pipes_seen);
    char rb[8];
    SHOW("recv after", recv(sv[0], rb, sizeof rb, MSG_DONTWAIT)); /* the reset: consumed? */
    close(sv[0]);
    pair(SOCK_STREAM, sv); /* the reader shuts its side (its queue stays full) */
    if (pthread_create(&t, NULL, shutter_main, (void *)(intptr_t)sv[1]))
        die("pthread_create");
    SHOW_SHORT("send, peer shuts down", send(sv[0], big, BIG, 0), BIG);
    pthread_join(t, NULL);
    SHOW("send after", send(sv[0], big, 10, 0));
    printf("%-28s %d\n", "  SIGPIPEs", (int)pipes_seen);
    close(sv[0]);
    close(sv[1]);
    pair(SOCK_STREAM, sv);
    t = closer_start(sv[1]);
    struct iovec wv[2] = {{big, BIG / 2}, {big + BIG / 2, BIG / 2}};
    SHOW_SHORT("writev, peer closes", writev(sv[0], wv, 2), BIG);
    pthread_join(t, NULL);
    printf("%-28s %d\n", "  SIGPIPEs", (int)pipes_seen);
    close(sv[0]);
    if (pipe(p))
        die("pipe");
    t = closer_start(p[0]);
    SHOW_SHORT("write pipe, reader closes", write(p[1], big, BIG), BIG);
    pthread_join(t, NULL);
    printf("%-28s %d\n", "  SIGPIPEs", (int)pipes_seen);
    close(p[1]);

    /* bad arguments on a tracked socket (volatile: hidden from the
     * compiler's own argument checks) */
    volatile size_t huge = SIZE_MAX;
    volatile int zero = 0, minus = -1, many = IOV_MAX + 1;
    char *volatile null = NULL;
    pair(SOCK_DGRAM, sv);
    SHOW("write SIZE_MAX", write(sv[0], big, huge));
    SHOW("writev cnt 0", writev(sv[0], v, zero));
    SHOW("writev cnt -1", writev(sv[0], v, minus));
    SHOW("writev cnt IOV_MAX+1", writev(sv[0], v, many));
    SHOW("write NULL", write(sv[0], null, 10));
    SHOW("send NULL", send(sv[0], null, 10, 0));
    SHOW("sendmsg NULL iov", sendmsg(sv[0], &(struct msghdr){.msg_iovlen = 1}, 0));
    SHOW("write 0 dgram", write(sv[0], big, 0)); /* an empty datagram */
    SHOW("  recv it", recv(sv[1], b, sizeof b, MSG_DONTWAIT));
    struct iovec empty[2] = {{big, 0}, {big, 0}};
    SHOW("writev 0+0 dgram", writev(sv[0], empty, 2)); /* no datagram */
    SHOW("  recv it", recv(sv[1], b, sizeof b, MSG_DONTWAIT));
    SHOW("sendmsg 0 dgram", sendmsg(sv[0], &(struct msghdr){.msg_iov = empty, .msg_iovlen = 2}, 0));
    SHOW("  recv it", recv(sv[1], b, sizeof b, MSG_DONTWAIT));
    SHOW("send MSG_OOB unix", send(sv[0], big, 1, MSG_OOB));
    close(sv[0]);
    close(sv[1]);
}

/* ---- TCP: the peer resets while a send waits for room after a part
 * went: the part is returned and the reset is left for the next send ---- */
static void tcp_pair(int *c, int *a)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (l < 0 || bind(l, (void *)&sa, sizeof sa) || listen(l, 1) ||
        getsockname(l, (void *)&sa, &len))
        die("listen");
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (*c < 0 || connect(*c, (void *)&sa, sizeof sa))
        die("connect");
    *a = accept(l, NULL, NULL);
    if (*a < 0)
        die("accept");
    close(l);
    int small = 65536;
    setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
}

static void tcp_resets(void)
{
    int c, a;
    for (int how = 0; how < 3; how++) {
        tcp_pair(&c, &a);
        /* Fill the receiver's window and the send buffer, then let the
         * in-flight data be acknowledged: a little room, and a wait that
         * makes no progress until the reset. */
        fill(c);
        ms(100);
        pthread_t t = closer_start(a); /* unread data: the close sends a reset */
        struct iovec v[3] = {{big, 1000}, {big + 1000, BIG / 2}, {big, BIG / 2}};
        if (how == 0)
            SHOW_SHORT("tcp send, peer resets", send(c, big, BIG, 0), BIG);
        else if (how == 1)
            SHOW_SHORT("tcp write, peer resets", write(c, big, BIG), BIG);
        else
            SHOW_SHORT("tcp writev, peer resets", writev(c, v, 3), BIG + 1000);
        pthread_join(t, NULL);
        if (how == 2) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el); /* the reset is still pending */
            printf("%-28s %s\n", "  SO_ERROR", en(err));
        }
        SHOW("  next send", send(c, big, 10, 0));
        SHOW("  and the next", send(c, big, 10, 0));
        printf("%-28s %d\n", "  SIGPIPEs", (int)pipes_seen);
        close(c);
    }
    /* SO_SNDTIMEO bounds the whole call, the part sent included */
    tcp_pair(&c, &a);
    set_timeo(c, SO_SNDTIMEO, 150);
    SHOW_SHORT("tcp send timeout", send(c, big, BIG, 0), BIG);
    SHOW("  next send", send(c, big, BIG, 0));
    close(c);
    close(a);
}

/* ---- a thread cancelled while blocked in send ---- */
static void *blocked_sender(void *arg)
{
    int fd = *(int *)arg;
    for (;;)
        send(fd, big, BIG, 0);
    return NULL;
}

static void cancel_send(void)
{
    int sv[2];
    pair(SOCK_STREAM, sv);
    pthread_t t;
    if (pthread_create(&t, NULL, blocked_sender, &sv[0]))
        die("pthread_create");
    ms(100);
    pthread_cancel(t);
    void *ret;
    pthread_join(t, &ret);
    printf("%-28s %s\n", "cancelled in send", ret == PTHREAD_CANCELED ? "yes" : "no");
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + i / 4096);
    full_sends();
    failing_sends();
    tcp_resets();
    cancel_send();
    return 0;
}
