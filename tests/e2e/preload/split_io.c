/* split_io.c — fixture for the split of rwlocks, sleep/usleep, the
 * multiplexing waits and blocking reads/accepts (docs/design.md §3.6).
 * Every case is the program's first wait at its call site, blocked past
 * the split (113 ms), and prints only what the program sees (results,
 * errno, data, sets, remaining times and durations as yes/NO ranges);
 * run.py compares a plain run with one under the preload.
 *
 * Usage: split_io            the transparency cases
 *        split_io SNAPSHOT   threads blocked in their first wait of each
 *                            newly split call; a snapshot (API) at 600 ms
 */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* at least ms, and not twice as long (a split that waited the whole
 * timeout again would take 2x) */
static const char *lasted(int64_t t0, int ms)
{
    int64_t d = now_ms() - t0;
    return d >= ms - 1 && d < 2 * ms ? "yes" : "NO";
}

static const char *between(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi ? "yes" : "NO";
}

static struct timespec in_ms(clockid_t clk, int ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* ---- helpers: a thread that acts after a delay ---- */

enum { ACT_WRITE, ACT_KILL, ACT_CONNECT, ACT_WRLOCK, ACT_RDLOCK };
struct act {
    int what, delay_ms, fd, sig, port, hold_ms;
    pthread_t target;
    pthread_rwlock_t *l;
    sem_t *held;
};

static void *act_main(void *p)
{
    struct act *a = p;
    if (a->what == ACT_WRLOCK || a->what == ACT_RDLOCK) {
        if (a->what == ACT_WRLOCK)
            pthread_rwlock_wrlock(a->l);
        else
            pthread_rwlock_rdlock(a->l);
        sem_post(a->held);
        sleep_ms(a->hold_ms);
        pthread_rwlock_unlock(a->l);
        return NULL;
    }
    sleep_ms(a->delay_ms);
    if (a->what == ACT_WRITE) {
        if (write(a->fd, "ping", 4) != 4)
            abort();
    } else if (a->what == ACT_KILL) {
        pthread_kill(a->target, a->sig);
    } else {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)a->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
            abort();
        sleep_ms(300);
        close(s);
    }
    return NULL;
}

static struct act acts[8];
static pthread_t act_thr[8];
static int nacts;

static void later(int what, int delay_ms, int fd, int sig, int port)
{
    struct act *a = &acts[nacts];
    *a = (struct act){.what = what,
                      .delay_ms = delay_ms,
                      .fd = fd,
                      .sig = sig,
                      .port = port,
                      .target = pthread_self()};
    pthread_create(&act_thr[nacts++], NULL, act_main, a);
}

static void joined(void)
{
    for (int i = 0; i < nacts; i++)
        pthread_join(act_thr[i], NULL);
    nacts = 0;
}

static volatile sig_atomic_t handled;
static int self_pipe_w = -1;
static void on_sig(int sig)
{
    (void)sig;
    handled++;
    if (self_pipe_w >= 0) {
        int e = errno;
        if (write(self_pipe_w, "s", 1) < 0)
            abort();
        errno = e;
    }
}

static void handler(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void unhandle(int sig)
{
    signal(sig, SIG_IGN);
}

static void drain(int fd)
{
    char b[64];
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, 0) == 1 && read(fd, b, sizeof b) > 0)
        ;
}

static int listener(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 4) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) != 0)
        abort();
    *port = ntohs(sa.sin_port);
    return l;
}

/* ---- the snapshot case ---- */

static int pw[2], rp[2], sp[3][2], lsn[2], lport[2], epfd;
static pthread_rwlock_t rw_w = PTHREAD_RWLOCK_INITIALIZER, rw_r = PTHREAD_RWLOCK_INITIALIZER;

#define KEEP __asm__ volatile("" ::: "memory") /* no tail call: keep the frame */

__attribute__((noinline)) static void wait_rdlock(void)
{
    pthread_rwlock_rdlock(&rw_w);
    KEEP;
    pthread_rwlock_unlock(&rw_w);
}
__attribute__((noinline)) static void wait_wrlock(void)
{
    pthread_rwlock_wrlock(&rw_r);
    KEEP;
    pthread_rwlock_unlock(&rw_r);
}
__attribute__((noinline)) static void wait_sleep(void)
{
    sleep(3);
    KEEP;
}
__attribute__((noinline)) static void wait_usleep(void)
{
    usleep(3000000);
    KEEP;
}
__attribute__((noinline)) static void wait_poll(void)
{
    struct pollfd p = {pw[0], POLLIN, 0};
    poll(&p, 1, -1);
    KEEP;
}
__attribute__((noinline)) static void wait_ppoll(void)
{
    struct pollfd p = {pw[0], POLLIN, 0};
    ppoll(&p, 1, NULL, NULL);
    KEEP;
}
__attribute__((noinline)) static void wait_select(void)
{
    fd_set r;
    FD_ZERO(&r);
    FD_SET(pw[0], &r);
    select(pw[0] + 1, &r, NULL, NULL, NULL);
    KEEP;
}
__attribute__((noinline)) static void wait_pselect(void)
{
    fd_set r;
    FD_ZERO(&r);
    FD_SET(pw[0], &r);
    pselect(pw[0] + 1, &r, NULL, NULL, NULL, NULL);
    KEEP;
}
__attribute__((noinline)) static void wait_epoll(void)
{
    struct epoll_event ev;
    epoll_wait(epfd, &ev, 1, -1);
    KEEP;
}
__attribute__((noinline)) static void wait_epoll_p(void)
{
    struct epoll_event ev;
    epoll_pwait(epfd, &ev, 1, -1, NULL);
    KEEP;
}
__attribute__((noinline)) static void wait_epoll_p2(void)
{
    struct epoll_event ev;
    epoll_pwait2(epfd, &ev, 1, NULL, NULL);
    KEEP;
}
__attribute__((noinline)) static void wait_read(void)
{
    char b[8];
    if (read(rp[0], b, sizeof b) < 0)
        abort();
    KEEP;
}
__attribute__((noinline)) static void wait_recv(void)
{
    char b[8];
    if (recv(sp[0][0], b, sizeof b, 0) < 0)
        abort();
    KEEP;
}
__attribute__((noinline)) static void wait_recvfrom(void)
{
    char b[8];
    if (recvfrom(sp[1][0], b, sizeof b, 0, NULL, NULL) < 0)
        abort();
    KEEP;
}
__attribute__((noinline)) static void wait_recvmsg(void)
{
    char b[8];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (recvmsg(sp[2][0], &m, 0) < 0)
        abort();
    KEEP;
}
__attribute__((noinline)) static void wait_accept(void)
{
    int c = accept(lsn[0], NULL, NULL);
    KEEP;
    close(c);
}
__attribute__((noinline)) static void wait_accept4(void)
{
    int c = accept4(lsn[1], NULL, NULL, SOCK_CLOEXEC);
    KEEP;
    close(c);
}

static void (*const snap_waits[])(void) = {
    wait_rdlock, wait_wrlock,   wait_sleep,   wait_usleep,  wait_poll,     wait_ppoll,
    wait_select, wait_pselect,  wait_epoll,   wait_epoll_p, wait_epoll_p2, wait_read,
    wait_recv,   wait_recvfrom, wait_recvmsg, wait_accept,  wait_accept4,
};
#define NSNAP (int)(sizeof snap_waits / sizeof snap_waits[0])

static void *snap_main(void *arg)
{
    snap_waits[(intptr_t)arg]();
    KEEP;
    return NULL;
}

static int snapshot_case(const char *path)
{
    if (pipe(pw) || pipe(rp))
        abort();
    for (int i = 0; i < 3; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]))
            abort();
    lsn[0] = listener(&lport[0]);
    lsn[1] = listener(&lport[1]);
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = pw[0]};
    epoll_ctl(epfd, EPOLL_CTL_ADD, pw[0], &ev);
    pthread_rwlock_wrlock(&rw_w);
    pthread_rwlock_rdlock(&rw_r);
    pthread_t t[NSNAP];
    for (intptr_t i = 0; i < NSNAP; i++)
        pthread_create(&t[i], NULL, snap_main, (void *)i);
    sleep_ms(600);
    if (leakwatch_snapshot(path) != 0)
        fprintf(stderr, "split_io: snapshot failed\n");
    pthread_rwlock_unlock(&rw_w);
    pthread_rwlock_unlock(&rw_r);
    if (write(pw[1], "x", 1) != 1 || write(rp[1], "x", 1) != 1)
        abort();
    for (int i = 0; i < 3; i++)
        if (write(sp[i][1], "x", 1) != 1)
            abort();
    for (int i = 0; i < 2; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)lport[i]),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
            abort();
    }
    for (int i = 0; i < NSNAP; i++)
        if (snap_waits[i] != wait_sleep && snap_waits[i] != wait_usleep)
            pthread_join(t[i], NULL);
    return 0; /* the sleepers end with the process */
}

/* ---- the transparency cases ---- */

static void mux_cases(void)
{
    int a[2], b[2], r;
    int64_t t0;
    if (pipe(a) || pipe(b))
        abort();
    int nfds = (a[0] > b[0] ? a[0] : b[0]) + 1;
    fd_set rd;
    struct timeval tv;

    /* select, never ready: 0, sets cleared, no time left, its length */
    FD_ZERO(&rd);
    FD_SET(a[0], &rd);
    FD_SET(b[0], &rd);
    tv = (struct timeval){0, 300000};
    t0 = now_ms();
    r = select(nfds, &rd, NULL, NULL, &tv);
    printf("select 300 ms, nothing ready: %d, sets clear %s, left %ld.%06ld, lasted: %s\n", r,
           !FD_ISSET(a[0], &rd) && !FD_ISSET(b[0], &rd) ? "yes" : "NO", (long)tv.tv_sec,
           (long)tv.tv_usec, lasted(t0, 300));

    /* select, ready after the split: the sets the program gave are waited
     * on again (b's bit only), the time left is the whole call's */
    FD_ZERO(&rd);
    FD_SET(a[0], &rd);
    FD_SET(b[0], &rd);
    tv = (struct timeval){1, 0};
    later(ACT_WRITE, 250, b[1], 0, 0);
    t0 = now_ms();
    r = select(nfds, &rd, NULL, NULL, &tv);
    printf("select 1 s, ready at 250 ms: %d, a %d b %d, left 400-760 ms: %s\n", r,
           FD_ISSET(a[0], &rd), FD_ISSET(b[0], &rd),
           between((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, 400, 760));
    joined();
    drain(b[0]);

    /* select, ready before the split: the time left is still the whole
     * call's (the first part's remainder plus what it did not cover; the
     * first part's alone would be under 113 ms). The ranges leave room
     * for a loaded machine. */
    FD_ZERO(&rd);
    FD_SET(a[0], &rd);
    FD_SET(b[0], &rd);
    tv = (struct timeval){1, 0};
    later(ACT_WRITE, 30, a[1], 0, 0);
    r = select(nfds, &rd, NULL, NULL, &tv);
    printf("select 1 s, ready at 30 ms: %d, a %d b %d, left 500-975 ms: %s\n", r,
           FD_ISSET(a[0], &rd), FD_ISSET(b[0], &rd),
           between((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, 500, 975));
    joined();
    drain(a[0]);

    /* pselect: the caller's timespec is not written (glibc copies it) */
    FD_ZERO(&rd);
    FD_SET(a[0], &rd);
    struct timespec ts = {0, 300000000};
    t0 = now_ms();
    r = pselect(nfds, &rd, NULL, NULL, &ts, NULL);
    printf("pselect 300 ms, nothing ready: %d, set clear %s, timespec %ld.%09ld, lasted: %s\n", r,
           !FD_ISSET(a[0], &rd) ? "yes" : "NO", (long)ts.tv_sec, ts.tv_nsec, lasted(t0, 300));
    FD_ZERO(&rd);
    FD_SET(a[0], &rd);
    FD_SET(b[0], &rd);
    later(ACT_WRITE, 250, a[1], 0, 0);
    r = pselect(nfds, &rd, NULL, NULL, NULL, NULL);
    printf("pselect for ever, ready at 250 ms: %d, a %d b %d\n", r, FD_ISSET(a[0], &rd),
           FD_ISSET(b[0], &rd));
    joined();
    drain(a[0]);

    /* poll */
    struct pollfd p[2] = {{a[0], POLLIN, 0}, {b[0], POLLIN, 0}};
    t0 = now_ms();
    r = poll(p, 2, 300);
    printf("poll 300 ms, nothing ready: %d revents %d %d, lasted: %s\n", r, p[0].revents,
           p[1].revents, lasted(t0, 300));
    later(ACT_WRITE, 250, b[1], 0, 0);
    r = poll(p, 2, -1);
    printf("poll for ever, ready at 250 ms: %d revents %d %d\n", r, p[0].revents, p[1].revents);
    joined();
    drain(b[0]);
    later(ACT_WRITE, 250, b[1], 0, 0);
    t0 = now_ms();
    r = poll(p, 2, 1000);
    printf("poll 1 s, ready at 250 ms: %d revents %d %d, before its timeout: %s\n", r, p[0].revents,
           p[1].revents, now_ms() - t0 < 900 ? "yes" : "NO");
    joined();
    drain(b[0]);

    /* EINTR: poll never restarts, SA_RESTART or not, in either part */
    handler(SIGALRM, 0);
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    r = poll(p, 2, -1);
    printf("poll, handler at 40 ms (no SA_RESTART): %d %s\n", r, strerror(errno));
    joined();
    later(ACT_KILL, 250, 0, SIGALRM, 0);
    errno = 0;
    r = poll(p, 2, 2000);
    printf("poll 2 s, handler at 250 ms: %d %s\n", r, strerror(errno));
    joined();
    handler(SIGALRM, SA_RESTART);
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    r = poll(p, 2, -1);
    printf("poll, handler at 40 ms (SA_RESTART): %d %s\n", r, strerror(errno));
    joined();

    /* ppoll: timespec not written; the call's mask applies to both parts
     * and a signal only the call blocks is handled after it, not between
     * the parts (its handler writes to the pipe polled: handled between
     * the parts it would end the wait at once) */
    ts = (struct timespec){0, 300000000};
    t0 = now_ms();
    r = ppoll(p, 2, &ts, NULL);
    printf("ppoll 300 ms, nothing ready: %d, timespec %ld.%09ld, lasted: %s\n", r, (long)ts.tv_sec,
           ts.tv_nsec, lasted(t0, 300));
    sigset_t m, old;
    sigemptyset(&m);
    sigaddset(&m, SIGHUP);
    handler(SIGHUP, 0);
    self_pipe_w = a[1];
    handled = 0;
    later(ACT_KILL, 50, 0, SIGHUP, 0);
    later(ACT_WRITE, 400, b[1], 0, 0);
    t0 = now_ms();
    r = ppoll(p, 2, NULL, &m);
    int64_t d = now_ms() - t0;
    printf("ppoll masking SIGHUP (sent at 50 ms), b ready at 400 ms: %d revents %d %d, "
           "handled after: %d, waited for b: %s\n",
           r, p[0].revents, p[1].revents, (int)handled, d >= 390 ? "yes" : "NO");
    joined();
    self_pipe_w = -1;
    drain(a[0]);
    drain(b[0]);
    /* pselect's pattern: blocked, unblocked by the call's mask only */
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    handler(SIGUSR1, 0);
    pthread_sigmask(SIG_BLOCK, &m, &old);
    sigemptyset(&m);
    handled = 0;
    later(ACT_KILL, 250, 0, SIGUSR1, 0);
    errno = 0;
    r = ppoll(p, 2, NULL, &m);
    printf("ppoll unblocking SIGUSR1 (sent at 250 ms): %d %s handled %d\n", r, strerror(errno),
           (int)handled);
    joined();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    unhandle(SIGUSR1);
    unhandle(SIGHUP);

    /* epoll */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = b[0]}, out[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev);
    t0 = now_ms();
    r = epoll_wait(ep, out, 2, 300);
    printf("epoll_wait 300 ms, nothing ready: %d, lasted: %s\n", r, lasted(t0, 300));
    later(ACT_WRITE, 250, b[1], 0, 0);
    r = epoll_wait(ep, out, 2, -1);
    printf("epoll_wait for ever, ready at 250 ms: %d fd ok %s\n", r,
           r == 1 && out[0].data.fd == b[0] ? "yes" : "NO");
    joined();
    drain(b[0]);
    t0 = now_ms();
    r = epoll_pwait(ep, out, 2, 300, NULL);
    printf("epoll_pwait 300 ms, nothing ready: %d, lasted: %s\n", r, lasted(t0, 300));
    handler(SIGALRM, 0);
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    r = epoll_wait(ep, out, 2, -1);
    printf("epoll_wait, handler at 40 ms: %d %s\n", r, strerror(errno));
    joined();
    close(ep);
    unhandle(SIGALRM);

    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

/* blocking reads: data as without leakwatch; a handler without SA_RESTART
 * during the first part ends them with EINTR, one with SA_RESTART leaves
 * them blocked until the data comes */
static void io_cases(void)
{
    int a[2], r;
    int64_t t0;
    char buf[16];
    if (pipe(a))
        abort();
    later(ACT_WRITE, 250, a[1], 0, 0);
    memset(buf, 0, sizeof buf);
    r = (int)read(a[0], buf, sizeof buf);
    printf("read pipe, data at 250 ms: %d '%s'\n", r, buf);
    joined();
    handler(SIGALRM, 0);
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    r = (int)read(a[0], buf, sizeof buf);
    printf("read pipe, handler at 40 ms (no SA_RESTART): %d %s\n", r, strerror(errno));
    joined();
    later(ACT_KILL, 250, 0, SIGALRM, 0);
    errno = 0;
    r = (int)read(a[0], buf, sizeof buf);
    printf("read pipe, handler at 250 ms (no SA_RESTART): %d %s\n", r, strerror(errno));
    joined();
    handler(SIGALRM, SA_RESTART);
    handled = 0;
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    later(ACT_WRITE, 300, a[1], 0, 0);
    t0 = now_ms();
    memset(buf, 0, sizeof buf);
    r = (int)read(a[0], buf, sizeof buf);
    printf("read pipe, handler at 40 ms (SA_RESTART), data at 300 ms: %d '%s' handled %d "
           "waited: %s\n",
           r, buf, (int)handled, now_ms() - t0 >= 290 ? "yes" : "NO");
    joined();

    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        abort();
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    later(ACT_WRITE, 300, s[1], 0, 0);
    memset(buf, 0, sizeof buf);
    r = (int)recv(s[0], buf, sizeof buf, 0);
    printf("recv, handler at 40 ms (SA_RESTART), data at 300 ms: %d '%s'\n", r, buf);
    joined();
    handler(SIGALRM, 0);
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    r = (int)recv(s[0], buf, sizeof buf, 0);
    printf("recv, handler at 40 ms (no SA_RESTART): %d %s\n", r, strerror(errno));
    joined();
    later(ACT_WRITE, 250, s[1], 0, 0);
    memset(buf, 0, sizeof buf);
    r = (int)recvfrom(s[0], buf, sizeof buf, 0, NULL, NULL);
    printf("recvfrom, data at 250 ms: %d '%s'\n", r, buf);
    joined();
    later(ACT_WRITE, 250, s[1], 0, 0);
    memset(buf, 0, sizeof buf);
    struct iovec iov = {buf, 2};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    r = (int)recvmsg(s[0], &mh, 0);
    printf("recvmsg 2 bytes, data at 250 ms: %d '%s'\n", r, buf);
    joined();
    drain(s[0]);
    /* non-blocking and zero-length receives are not delayed */
    t0 = now_ms();
    errno = 0;
    r = (int)recv(s[0], buf, sizeof buf, MSG_DONTWAIT);
    printf("recv MSG_DONTWAIT, nothing: %d %s at once: %s\n", r, strerror(errno),
           now_ms() - t0 < 50 ? "yes" : "NO");
    t0 = now_ms();
    r = (int)read(s[0], buf, 0);
    printf("read 0 bytes: %d at once: %s\n", r, now_ms() - t0 < 50 ? "yes" : "NO");
    close(s[0]);
    close(s[1]);

    /* accept */
    int port, l = listener(&port);
    later(ACT_CONNECT, 250, 0, 0, port);
    int c = accept(l, NULL, NULL);
    printf("accept, connection at 250 ms: %s\n", c >= 0 ? "yes" : "NO");
    close(c);
    joined();
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    printf("accept4, handler at 40 ms (no SA_RESTART): %d %s\n", c, strerror(errno));
    joined();
    handler(SIGALRM, SA_RESTART);
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    later(ACT_CONNECT, 250, 0, 0, port);
    c = accept(l, NULL, NULL);
    printf("accept, handler at 40 ms (SA_RESTART), connection at 250 ms: %s\n",
           c >= 0 ? "yes" : "NO");
    close(c);
    joined();
    close(l);
    unhandle(SIGALRM);
    close(a[0]);
    close(a[1]);
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t held;

static void hold(int what, int ms)
{
    struct act *a = &acts[nacts];
    *a = (struct act){.what = what, .l = &rw, .held = &held, .hold_ms = ms};
    pthread_create(&act_thr[nacts++], NULL, act_main, a);
    sem_wait(&held);
}

static void lock_sleep_cases(void)
{
    int64_t t0;
    int r;
    sem_init(&held, 0, 0);
    t0 = now_ms();
    hold(ACT_WRLOCK, 250);
    r = pthread_rwlock_rdlock(&rw);
    printf("rwlock_rdlock, writer for 250 ms: %d after it: %s\n", r,
           now_ms() - t0 >= 249 ? "yes" : "NO");
    pthread_rwlock_unlock(&rw);
    joined();
    t0 = now_ms();
    hold(ACT_RDLOCK, 250);
    r = pthread_rwlock_wrlock(&rw);
    printf("rwlock_wrlock, reader for 250 ms: %d after it: %s\n", r,
           now_ms() - t0 >= 249 ? "yes" : "NO");
    pthread_rwlock_unlock(&rw);
    joined();
    hold(ACT_WRLOCK, 600);
    struct timespec ts = in_ms(CLOCK_REALTIME, 300);
    t0 = now_ms();
    r = pthread_rwlock_timedrdlock(&rw, &ts);
    printf("rwlock_timedrdlock 300 ms, writer for 600 ms: %s lasted: %s\n", strerror(r),
           lasted(t0, 300));
    joined();
    hold(ACT_RDLOCK, 600);
    ts = in_ms(CLOCK_MONOTONIC, 300);
    t0 = now_ms();
    r = pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &ts);
    printf("rwlock_clockwrlock 300 ms, reader for 600 ms: %s lasted: %s\n", strerror(r),
           lasted(t0, 300));
    joined();
    t0 = now_ms();
    hold(ACT_RDLOCK, 250);
    r = pthread_rwlock_rdlock(&rw); /* readers share */
    printf("rwlock_rdlock, reader holding: %d at once: %s\n", r,
           now_ms() - t0 < 240 ? "yes" : "NO");
    pthread_rwlock_unlock(&rw);
    joined();

    /* sleep and usleep: glibc's results and errno */
    errno = 77;
    t0 = now_ms();
    unsigned u = sleep(1);
    printf("sleep 1: %u errno %d lasted: %s\n", u, errno, lasted(t0, 1000));
    handler(SIGALRM, 0);
    later(ACT_KILL, 250, 0, SIGALRM, 0);
    errno = 0;
    u = sleep(2);
    printf("sleep 2, handler at 250 ms: %u %s\n", u, strerror(errno));
    joined();
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    u = sleep(1);
    printf("sleep 1, handler at 40 ms: %u %s\n", u, strerror(errno));
    joined();
    errno = 78;
    t0 = now_ms();
    r = usleep(300000);
    printf("usleep 300 ms: %d errno %d lasted: %s\n", r, errno, lasted(t0, 300));
    later(ACT_KILL, 250, 0, SIGALRM, 0);
    errno = 0;
    r = usleep(1000000);
    printf("usleep 1 s, handler at 250 ms: %d %s\n", r, strerror(errno));
    joined();
    later(ACT_KILL, 40, 0, SIGALRM, 0);
    errno = 0;
    r = usleep(1000000);
    printf("usleep 1 s, handler at 40 ms: %d %s\n", r, strerror(errno));
    joined();
    unhandle(SIGALRM);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        return snapshot_case(argv[1]);
    lock_sleep_cases();
    mux_cases();
    io_cases();
    return 0;
}
