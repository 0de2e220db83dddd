/* sockets_fixture — real programs for the sockets/timers end-to-end tests.
 * `sockets_fixture SCENARIO DIR` runs one scenario and writes snapshots
 * DIR/snap-N.json through leakwatch_snapshot() (a no-op without the
 * preload). It prints `key=value` facts (tids, fds, ports) on stdout for the
 * driver to match against the snapshots. Every wait is bounded. */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int snaps;
static int listen_fd, listen_port;

static void die(const char *what)
{
    fprintf(stderr, "fixture: %s: %s\n", what, strerror(errno));
    exit(3);
}

static void snap(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/snap-%d.json", dir, ++snaps);
    if (leakwatch_snapshot(path) != 0)
        fprintf(stderr, "fixture: snapshot %s failed\n", path);
}

static void ms(int n)
{
    struct timespec t = {n / 1000, (long)(n % 1000) * 1000000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void start_listener(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0)
        die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (bind(listen_fd, (void *)&a, sizeof a) || listen(listen_fd, 64) ||
        getsockname(listen_fd, (void *)&a, &l))
        die("bind/listen");
    listen_port = ntohs(a.sin_port);
    printf("listen_fd=%d\nlisten_port=%d\n", listen_fd, listen_port);
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (void *)&a, sizeof a))
        die("connect");
    return fd;
}

static pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg))
        die("pthread_create");
    return t;
}

/* ---- per-request socket (leaked / closed) ---- */
static int close_it;
static void *request(void *arg)
{
    (void)arg;
    int fd = dial();
    if (send(fd, "ping", 4, 0) != 4)
        die("send");
    printf("request_tid=%ld\nrequest_fd=%d\n", (long)syscall(SYS_gettid), fd);
    if (close_it)
        close(fd);
    return NULL;
}

static void scenario_request(int do_close)
{
    close_it = do_close;
    start_listener();
    pthread_join(spawn(request, NULL), NULL);
    ms(50);
    snap();
}

/* ---- accept loop handing sockets to workers ---- */
static int worker_closes;
static void *worker(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0)
        send(fd, buf, (size_t)n, 0);
    printf("worker_tid=%ld\nworker_fd=%d\n", (long)syscall(SYS_gettid), fd);
    if (worker_closes)
        close(fd);
    return NULL;
}

static void *client(void *arg)
{
    (void)arg;
    int fd = dial();
    char buf[16];
    send(fd, "hello", 5, 0);
    recv(fd, buf, sizeof buf, 0);
    close(fd);
    return NULL;
}

static void scenario_accept(int closes)
{
    worker_closes = closes;
    start_listener();
    pthread_t c[3], w[3];
    for (int i = 0; i < 3; i++)
        c[i] = spawn(client, NULL);
    for (int i = 0; i < 3; i++) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            die("accept");
        w[i] = spawn(worker, (void *)(intptr_t)fd);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(c[i], NULL);
        pthread_join(w[i], NULL);
    }
    fflush(stdout);
    ms(50);
    snap();
}

/* ---- poller blocked in recv after its parent exited ---- */
static void *poller(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16];
    printf("poller_tid=%ld\npoller_fd=%d\n", (long)syscall(SYS_gettid), fd);
    fflush(stdout);
    for (;;)
        if (recv(fd, buf, sizeof buf, 0) <= 0)
            break;
    return NULL;
}

static void *poller_parent(void *arg)
{
    (void)arg;
    pthread_detach(spawn(poller, (void *)(intptr_t)dial()));
    return NULL;
}

static void scenario_poller(void)
{
    start_listener();
    pthread_join(spawn(poller_parent, NULL), NULL);
    int peer = accept(listen_fd, NULL, NULL); /* keep the peer open: recv never returns */
    printf("server_fd=%d\n", peer);
    ms(150);
    snap();
}

/* ---- SIGEV_THREAD timer never deleted ---- */
static void tick(union sigval v)
{
    (void)v;
    ms(30); /* longer than the period: a notification thread is usually live */
}

static void *timer_request(void *arg)
{
    (void)arg;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = tick;
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t))
        die("timer_create");
    struct itimerspec its = {{0, 20000000}, {0, 20000000}};
    if (timer_settime(t, 0, &its, NULL))
        die("timer_settime");
    printf("timer_request_tid=%ld\ntimer_handle=%ld\n", (long)syscall(SYS_gettid), (long)t);
    return NULL;
}

static void scenario_sigev_timer(void)
{
    pthread_join(spawn(timer_request, NULL), NULL);
    ms(200);
    snap();
}

/* ---- timerfd ticker thread ---- */
static void *ticker(void *arg)
{
    (void)arg;
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 10000000}, {0, 10000000}};
    timerfd_settime(fd, 0, &its, NULL);
    printf("ticker_tid=%ld\nticker_fd=%d\n", (long)syscall(SYS_gettid), fd);
    fflush(stdout);
    uint64_t n;
    for (;;)
        if (read(fd, &n, sizeof n) != sizeof n)
            break;
    return NULL;
}

static void *ticker_parent(void *arg)
{
    (void)arg;
    pthread_detach(spawn(ticker, NULL));
    return NULL;
}

static void scenario_timerfd(void)
{
    pthread_join(spawn(ticker_parent, NULL), NULL);
    ms(100);
    snap();
    ms(200);
    snap();
}

/* Print "LABEL=TID" (the test finds the thread by it), then block in recv. */
static void *recv_labelled(const char *label, void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8];
    printf("%s=%ld\n", label, (long)syscall(SYS_gettid));
    fflush(stdout);
    recv(fd, buf, sizeof buf, 0);
    return NULL;
}

/* ---- a thread cancelled inside recv: its blocked state must go ---- */
static void *cancel_target(void *arg)
{
    return recv_labelled("cancel_tid", arg);
}

static void scenario_cancel(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair");
    pthread_t t = spawn(cancel_target, (void *)(intptr_t)sv[0]);
    ms(100);
    snap(); /* blocked in recv */
    pthread_cancel(t);
    ms(100); /* exited, not joined yet */
    snap();
    pthread_join(t, NULL);
}

/* ---- epoll and poll waits list their fds ---- */
static void *epoller(void *arg)
{
    (void)arg;
    int sv[2], ep = epoll_create1(0);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = sv[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &e);
    printf("epoll_tid=%ld\nepoll_fd=%d\nepoll_member=%d\n", (long)syscall(SYS_gettid), ep, sv[0]);
    fflush(stdout);
    struct epoll_event out;
    epoll_wait(ep, &out, 1, 5000);
    return NULL;
}

static void scenario_epoll(void)
{
    pthread_t t = spawn(epoller, NULL);
    ms(150);
    snap();
    pthread_cancel(t);
    pthread_join(t, NULL);
}

/* ---- leakwatch_verify_ctx counts sockets and timers under a context ---- */
static void scenario_verify(void)
{
    leakwatch_ctx_t c = leakwatch_ctx_new("verify-test");
    leakwatch_ctx_enter(c);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv); /* two sockets */
    timer_t t;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_MONOTONIC, &ev, &t); /* one timer */
    leakwatch_ctx_leave();
    printf("verify_open=%d\n", leakwatch_verify_ctx(c, 50));
    close(sv[0]);
    timer_delete(t);
    printf("verify_half=%d\n", leakwatch_verify_ctx(c, 50));
    close(sv[1]);
    printf("verify_closed=%d\n", leakwatch_verify_ctx(c, 50));
    snap(); /* so the driver schema-checks a snapshot of this run too */
}

/* ---- fork: the child keeps the fds, not the POSIX timers ---- */
static void scenario_fork(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    timer_t t;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_MONOTONIC, &ev, &t);
    printf("fork_fds=%d,%d\n", sv[0], sv[1]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/child.json", dir);
        leakwatch_snapshot(path);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    snap();
}

/* ---- senders stuck on peers that never read ----
 * Each writer fills its buffer until a blocking send/write/writev blocks
 * for good; their parent thread exits first, so they are leaked. */
static void *send_filler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static char chunk[4096];
    printf("send_tid=%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    for (;;)
        if (send(fd, chunk, sizeof chunk, 0) < 0 && errno != EINTR)
            break;
    return NULL;
}

static void *write_filler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static char chunk[65536];
    struct timeval tv = {7, 0};
    int small = 16384;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small))
        die("setsockopt");
    printf("write_tid=%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    for (;;) /* SO_SNDTIMEO: every 7 s a short count or EAGAIN, then again */
        if (write(fd, chunk, sizeof chunk) < 0 && errno != EAGAIN && errno != EINTR)
            break;
    return NULL;
}

static void *writev_filler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static char a[16384], b[16384];
    struct iovec v[2] = {{a, sizeof a}, {b, sizeof b}};
    printf("writev_tid=%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    for (;;)
        if (writev(fd, v, 2) < 0 && errno != EINTR)
            break;
    return NULL;
}

static int sender_fds[3];
static void *sender_parent(void *arg)
{
    (void)arg;
    pthread_detach(spawn(send_filler, (void *)(intptr_t)sender_fds[0]));
    pthread_detach(spawn(write_filler, (void *)(intptr_t)sender_fds[1]));
    pthread_detach(spawn(writev_filler, (void *)(intptr_t)sender_fds[2]));
    return NULL;
}

static void scenario_send_blocked(void)
{
    int sv[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
        die("socketpair/pipe");
    start_listener();
    int tcp = dial();
    int peer = accept(listen_fd, NULL, NULL); /* kept open, never read */
    if (peer < 0)
        die("accept");
    sender_fds[0] = sv[0];
    sender_fds[1] = tcp;
    sender_fds[2] = p[1];
    printf("send_fd=%d\nsend_pair=%d\nwrite_fd=%d\nwrite_peer_fd=%d\n"
           "writev_fd=%d\nwritev_pair=%d\n",
           sv[0], sv[1], tcp, peer, p[1], p[0]);
    pthread_join(spawn(sender_parent, NULL), NULL);
    ms(400);
    snap();
}

/* ---- SO_RCVTIMEO bounds recv, read and accept ---- */
static void set_timeo(int fd, int name, long sec, long usec)
{
    struct timeval tv = {sec, usec};
    if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv))
        die("setsockopt");
}

static void *timed_recv(void *arg)
{
    return recv_labelled("recv_tid", arg);
}

static void *timed_read(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b[8];
    printf("read_tid=%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    read(fd, b, sizeof b);
    return NULL;
}

static void *timed_accept(void *arg)
{
    (void)arg;
    printf("accept_tid=%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    accept(listen_fd, NULL, NULL);
    return NULL;
}

static void scenario_rcvtimeo(void)
{
    int a[2], b[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) || socketpair(AF_UNIX, SOCK_STREAM, 0, b))
        die("socketpair");
    start_listener();
    set_timeo(a[0], SO_RCVTIMEO, 5, 0);
    set_timeo(b[0], SO_RCVTIMEO, 2, 500000);
    set_timeo(b[0], SO_SNDTIMEO, 9, 0); /* a send timeout does not bound a read */
    set_timeo(listen_fd, SO_RCVTIMEO, 3, 0);
    printf("recv_fd=%d\nread_fd=%d\n", a[0], b[0]);
    pthread_t t[3] = {spawn(timed_recv, (void *)(intptr_t)a[0]),
                      spawn(timed_read, (void *)(intptr_t)b[0]), spawn(timed_accept, NULL)};
    (void)t;
    ms(200);
    snap();
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sockets_fixture SCENARIO DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    dir = argv[2];
    const char *s = argv[1];
    printf("pid=%d\n", getpid());
    if (!strcmp(s, "request_leak"))
        scenario_request(0);
    else if (!strcmp(s, "request_close"))
        scenario_request(1);
    else if (!strcmp(s, "accept_clean"))
        scenario_accept(1);
    else if (!strcmp(s, "accept_forget"))
        scenario_accept(0);
    else if (!strcmp(s, "poller"))
        scenario_poller();
    else if (!strcmp(s, "sigev_timer"))
        scenario_sigev_timer();
    else if (!strcmp(s, "timerfd"))
        scenario_timerfd();
    else if (!strcmp(s, "cancel"))
        scenario_cancel();
    else if (!strcmp(s, "epoll"))
        scenario_epoll();
    else if (!strcmp(s, "fork"))
        scenario_fork();
    else if (!strcmp(s, "verify"))
        scenario_verify();
    else if (!strcmp(s, "send_blocked"))
        scenario_send_blocked();
    else if (!strcmp(s, "rcvtimeo"))
        scenario_rcvtimeo();
    else {
        fprintf(stderr, "unknown scenario %s\n", s);
        return 2;
    }
    fflush(stdout);
    _exit(0); /* leave leaked threads behind without waiting on them */
}
