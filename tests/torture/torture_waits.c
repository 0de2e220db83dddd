/* torture_waits.c — the blocking-call half of the torture host program:
 * cancellation points still cancel, signals still interrupt (EINTR) or
 * restart (SA_RESTART), timeouts still time out, error paths keep their
 * return value and errno, the program's own signal handlers stay its own,
 * and a program that blocks every signal is left alone.
 * Every line printed is deterministic; run.py diffs plain vs leakwatch.
 * Must never: print timing-dependent values.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <linux/futex.h>
#include <netinet/in.h>

static int sp[2];       /* socketpair nobody writes to */
static int pp[2];       /* pipe nobody writes to */
static int lsock = -1;  /* listening socket nobody connects to */
static int epfd = -1;
static sem_t sem;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_t forever;
static _Atomic int futex_word;

static void setup(void)
{
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    if (pipe(pp) != 0)
        exit(3);
    lsock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(lsock, (struct sockaddr *)&a, sizeof a);
    listen(lsock, 1);
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = pp[0]};
    epoll_ctl(epfd, EPOLL_CTL_ADD, pp[0], &ev);
    sem_init(&sem, 0, 0);
}

static void *forever_main(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

/* One blocking call per case; returns its result, errno in *err. */
typedef long (*call_fn)(int *err);
static void unlock_mu(void *arg) { pthread_mutex_unlock(arg); }

static long c_read(int *e) { char c; long r = read(pp[0], &c, 1); *e = errno; return r; }
static long c_recv(int *e) { char c; long r = recv(sp[0], &c, 1, 0); *e = errno; return r; }
static long c_accept(int *e) { long r = accept(lsock, NULL, NULL); *e = errno; return r; }
static long c_poll(int *e) { struct pollfd p = {pp[0], POLLIN, 0}; long r = poll(&p, 1, -1); *e = errno; return r; }
static long c_ppoll(int *e) { struct pollfd p = {pp[0], POLLIN, 0}; long r = ppoll(&p, 1, NULL, NULL); *e = errno; return r; }
static long c_select(int *e)
{
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(pp[0], &rs);
    long r = select(pp[0] + 1, &rs, NULL, NULL, NULL);
    *e = errno;
    return r;
}
static long c_epoll(int *e) { struct epoll_event ev; long r = epoll_wait(epfd, &ev, 1, -1); *e = errno; return r; }
static long c_nanosleep(int *e) { struct timespec ts = {30, 0}; long r = nanosleep(&ts, &ts); *e = errno; return r; }
static long c_clock_nanosleep(int *e) { struct timespec ts = {30, 0}; long r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts); *e = errno; return r; }
static long c_sleep(int *e) { long r = sleep(30) > 0; *e = errno; return r; }
/* 30 s like the others (glibc takes >= 1 s): only a signal may end it */
static long c_usleep(int *e) { long r = usleep(30000000); *e = errno; return r; }
static long c_sem_wait(int *e) { long r = sem_wait(&sem); *e = errno; return r; }
static long c_sem_timedwait(int *e) { struct timespec ts = in_ms(30000); long r = sem_timedwait(&sem, &ts); *e = errno; return r; }
static long c_pause(int *e) { long r = pause(); *e = errno; return r; }
static long c_futex(int *e) { long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0); *e = errno; return r; }
static long c_cond(int *e)
{
    pthread_mutex_lock(&mu);
    pthread_cleanup_push(unlock_mu, &mu);
    pthread_cond_wait(&cv, &mu);
    pthread_cleanup_pop(1);
    *e = 0;
    return 0;
}
static long c_cond_timed(int *e)
{
    struct timespec ts = in_ms(30000);
    pthread_mutex_lock(&mu);
    pthread_cleanup_push(unlock_mu, &mu);
    pthread_cond_timedwait(&cv, &mu, &ts);
    pthread_cleanup_pop(1);
    *e = 0;
    return 0;
}
static long c_join(int *e) { long r = pthread_join(forever, NULL); *e = 0; return r; }
static long c_sigwait(int *e)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 3);
    int sig;
    long r = sigwait(&s, &sig);
    *e = 0;
    return r;
}

/* Where each call sleeps in the kernel, so mode_eintr can signal it only
 * once it is really blocked there: the syscalls it may use and what its
 * first argument must be (A_ANY: not checked). */
#ifdef SYS_poll
#define NR_POLL SYS_poll
#else
#define NR_POLL SYS_ppoll
#endif
#ifdef SYS_select
#define NR_SELECT SYS_select
#else
#define NR_SELECT SYS_pselect6
#endif
#ifdef SYS_epoll_wait
#define NR_EPOLL_WAIT SYS_epoll_wait
#else
#define NR_EPOLL_WAIT SYS_epoll_pwait
#endif
#ifdef SYS_pause
#define NR_PAUSE SYS_pause
#else
#define NR_PAUSE SYS_rt_sigsuspend
#endif
#ifdef SYS_accept
#define NR_ACCEPT SYS_accept
#else
#define NR_ACCEPT SYS_accept4
#endif
#define NR1(a) {a, -1}
#define NR2(a, b) {a, b}
#define NR_SLEEPS NR2(SYS_nanosleep, SYS_clock_nanosleep)
enum arg0 { A_ANY, A_PIPE, A_SOCK, A_LSOCK, A_EPFD, A_NFDS, A_SEM, A_FUTEX };

static const struct {
    const char *name;
    call_fn fn;
    int eintr;   /* interrupted by a handler without SA_RESTART */
    long nr[2];  /* syscalls it blocks in (-1: none; SYS_read is 0) */
    enum arg0 a0;
} calls[] = {
    {"read", c_read, 1, NR1(SYS_read), A_PIPE},
    {"recv", c_recv, 1, NR1(SYS_recvfrom), A_SOCK},
    {"accept", c_accept, 1, NR2(NR_ACCEPT, SYS_accept4), A_LSOCK},
    {"poll", c_poll, 1, NR2(NR_POLL, SYS_ppoll), A_ANY},
    {"ppoll", c_ppoll, 1, NR1(SYS_ppoll), A_ANY},
    {"select", c_select, 1, NR2(NR_SELECT, SYS_pselect6), A_NFDS},
    {"epoll_wait", c_epoll, 1, NR2(NR_EPOLL_WAIT, SYS_epoll_pwait), A_EPFD},
    {"nanosleep", c_nanosleep, 1, NR_SLEEPS, A_ANY},
    {"clock_nanosleep", c_clock_nanosleep, 1, NR_SLEEPS, A_ANY},
    {"sleep", c_sleep, 1, NR_SLEEPS, A_ANY},
    {"usleep", c_usleep, 1, NR_SLEEPS, A_ANY},
    {"sem_wait", c_sem_wait, 1, NR1(SYS_futex), A_SEM},
    {"sem_timedwait", c_sem_timedwait, 1, NR1(SYS_futex), A_SEM},
    {"pause", c_pause, 1, NR2(NR_PAUSE, SYS_rt_sigsuspend), A_ANY},
    {"futex", c_futex, 1, NR1(SYS_futex), A_FUTEX},
    {"pthread_cond_wait", c_cond, 0, NR1(-1), A_ANY},
    {"pthread_cond_timedwait", c_cond_timed, 0, NR1(-1), A_ANY},
    {"pthread_join", c_join, 0, NR1(-1), A_ANY},
    {"sigwait", c_sigwait, 0, NR1(-1), A_ANY},
};
#define NCALLS (sizeof calls / sizeof calls[0])

/* ---- cancel: every call is a cancellation point and still cancels ---- */

struct job {
    call_fn fn;
    atomic_int cleaned, started, done;
    atomic_int tid; /* set with started */
    long ret;
    int err;
};

static void cleanup(void *arg) { atomic_store(&((struct job *)arg)->cleaned, 1); }

static void *job_main(void *arg)
{
    struct job *j = arg;
    pthread_cleanup_push(cleanup, j);
    atomic_store(&j->tid, (int)syscall(SYS_gettid));
    atomic_store(&j->started, 1);
    j->ret = j->fn(&j->err);
    pthread_cleanup_pop(0);
    atomic_store(&j->done, 1);
    return NULL;
}

static int mode_cancel(void)
{
    for (size_t i = 0; i < NCALLS; i++) {
        if (calls[i].fn == c_futex)
            continue; /* syscall(SYS_futex) is not a cancellation point */
        struct job j = {.fn = calls[i].fn};
        pthread_t t;
        pthread_create(&t, NULL, job_main, &j);
        while (!atomic_load(&j.started))
            usleep(1000);
        usleep(20000);
        pthread_cancel(t);
        void *r;
        pthread_join(t, &r);
        printf("cancel %-22s canceled %d cleanup %d\n", calls[i].name, r == PTHREAD_CANCELED,
               atomic_load(&j.cleaned));
    }
    return 0;
}

/* ---- eintr / restart: a handler for SIGUSR1, with or without
 * SA_RESTART, interrupts each call as it does without leakwatch.
 * No sleeps decide anything: the signal is sent once the thread is seen
 * blocked in the call's syscall (/proc), delivery is seen through the
 * handler's counter, and "restarted" means the thread was seen blocked in
 * the call again after its handler ran. (Sending signals for a fixed time
 * and calling whatever had not returned "restarted" flaked under load.) */

static atomic_int hits;
static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&hits, 1); }

/* The syscall thread TID sleeps in now and its first argument, from
 * /proc/self/task/TID/syscall ("NR ARG0 ..." while blocked in a syscall,
 * "running" or "-1 ..." otherwise); -1 when it is not blocked in one. */
int read_task_file(int tid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return 1;
}

static long blocked_syscall(int tid, unsigned long *arg0)
{
    char buf[256];
    if (!read_task_file(tid, "syscall", buf, sizeof buf))
        return -1;
    char *end;
    long nr = strtol(buf, &end, 10);
    if (end == buf || *end != ' ')
        return -1;
    *arg0 = strtoul(end + 1, NULL, 16);
    return nr;
}

/* Is the thread asleep inside calls[i] (not, say, in a lock on its way)? */
static int in_call(size_t i, int tid)
{
    unsigned long a;
    long nr = blocked_syscall(tid, &a);
    if (nr < 0)
        return 0;
    int ok = 0;
    for (int k = 0; k < 2; k++)
        ok |= calls[i].nr[k] == nr;
    switch (calls[i].a0) {
    case A_ANY: break;
    case A_PIPE: ok &= a == (unsigned long)pp[0]; break;
    case A_SOCK: ok &= a == (unsigned long)sp[0]; break;
    case A_LSOCK: ok &= a == (unsigned long)lsock; break;
    case A_EPFD: ok &= a == (unsigned long)epfd; break;
    case A_NFDS: ok &= a == (unsigned long)pp[0] + 1; break;
    case A_SEM: ok &= a >= (uintptr_t)&sem && a < (uintptr_t)(&sem + 1); break;
    case A_FUTEX: ok &= a == (uintptr_t)&futex_word; break;
    }
    return ok;
}

/* The thread's voluntary context switches: one more each time it goes
 * back to sleep. -1 if unreadable. */
static long vcsw(int tid)
{
    char buf[2048];
    if (!read_task_file(tid, "status", buf, sizeof buf))
        return -1;
    char *p = strstr(buf, "\nvoluntary_ctxt_switches:");
    return p ? strtol(p + 26, NULL, 10) : -1;
}

#define WAIT_LIMIT_MS 10000 /* only a hang reaches it */

/* Wait (bounded, for hangs only) until cond(arg) holds; returns it. */
static int wait_for(int (*cond)(void *), void *arg)
{
    for (int k = 0; k < WAIT_LIMIT_MS * 5; k++) {
        if (cond(arg))
            return 1;
        usleep(200);
    }
    return cond(arg);
}

struct watch {
    struct job *j;
    size_t i;
    int h0;       /* handler count before the signal */
    long v0;      /* voluntary switches while blocked before the signal */
};
static int w_blocked(void *arg)
{
    struct watch *w = arg;
    return atomic_load(&w->j->done) || in_call(w->i, atomic_load(&w->j->tid));
}
static int w_handled(void *arg)
{
    struct watch *w = arg;
    return atomic_load(&hits) != w->h0;
}
/* after the signal: returned, or asleep in the call again (restarted);
 * the switch count rules out having seen it before it woke */
static int w_settled(void *arg)
{
    struct watch *w = arg;
    int tid = atomic_load(&w->j->tid);
    return atomic_load(&w->j->done) || (in_call(w->i, tid) && vcsw(tid) > w->v0);
}
static int w_done(void *arg) { return atomic_load(&((struct watch *)arg)->j->done); }

/* Under leakwatch: its snapshot signal (SIGUSR2), sent to the process
 * while a program thread is blocked in the call, is received by
 * leakwatch's own thread only (docs/design.md §3.5): the call neither
 * returns nor even wakes (its voluntary switch count does not move). NULL
 * if so, else what went wrong. The plain run never sends the snapshot
 * signal, so only a failure changes the output. */
static int usr2_shared_pending(void)
{
    char buf[4096];
    if (!read_task_file(getpid(), "status", buf, sizeof buf))
        return 1;
    char *p = strstr(buf, "\nShdPnd:");
    return p ? (strtoull(p + 8, NULL, 16) >> (SIGUSR2 - 1)) & 1 : 1;
}
static int w_usr2_taken(void *arg)
{
    (void)arg;
    return !usr2_shared_pending();
}
static const char *snapshot_signal_unseen(struct watch *w)
{
    int tid = atomic_load(&w->j->tid);
    w->v0 = vcsw(tid);
    if (w->v0 < 0 || kill(getpid(), SIGUSR2) != 0)
        return "SNAPSHOT SIGNAL NOT SENT";
    if (!wait_for(w_usr2_taken, w))
        return "SNAPSHOT SIGNAL NOT TAKEN";
    if (atomic_load(&w->j->done))
        return "SNAPSHOT SIGNAL INTERRUPTED";
    if (vcsw(tid) != w->v0 || !in_call(w->i, tid))
        return "SNAPSHOT SIGNAL WOKE IT";
    return NULL;
}

/* wake a restarted call the ordinary way; returns the connecting socket
 * (-1 if none), -2 when the pipe or socketpair cannot be written */
static int wake_all(void)
{
    if (write(pp[1], "x", 1) != 1 || send(sp[1], "x", 1, 0) != 1)
        return -2;
    sem_post(&sem);
    atomic_store(&futex_word, 1);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(lsock, (struct sockaddr *)&a, &al);
    connect(c, (struct sockaddr *)&a, al);
    return c;
}

static int mode_eintr(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
    int lw = leakwatch_active();
    for (size_t i = 0; i < NCALLS; i++) {
        if (!calls[i].eintr)
            continue;
        struct job j = {.fn = calls[i].fn};
        struct watch w = {.j = &j, .i = i};
        pthread_t t;
        pthread_create(&t, NULL, job_main, &j);
        while (!atomic_load(&j.started))
            usleep(1000);
        const char *how = NULL;
        int c = -1;
        if (!wait_for(w_blocked, &w) || atomic_load(&j.done)) {
            how = "NOT BLOCKED"; /* never slept in its syscall: see calls[] */
            goto finish;
        }
        /* every call: the snapshot signal never reaches a program thread */
        if (lw)
            how = snapshot_signal_unseen(&w);
        if (how)
            goto finish;
        how = "returned";
        w.h0 = atomic_load(&hits);
        w.v0 = vcsw(atomic_load(&j.tid));
        pthread_kill(t, SIGUSR1);
        if (!wait_for(w_handled, &w)) {
            how = "SIGNAL NOT HANDLED";
            goto finish;
        }
        if (!wait_for(w_settled, &w)) {
            how = "NEITHER RETURNED NOR BLOCKED";
            goto finish;
        }
        if (!atomic_load(&j.done)) {
            how = "restarted";
            c = wake_all();
            if (c == -2)
                return 3;
            if (!wait_for(w_done, &w))
                how = "STUCK";
        }
finish:
        if (!atomic_load(&j.done))
            pthread_cancel(t);
        if (c >= 0)
            close(c);
        pthread_join(t, NULL);
        /* fds returned by accept differ (leakwatch holds a pipe): 0/1 */
        printf("%s %-18s %s ret %ld errno %s\n", restart ? "restart" : "eintr", calls[i].name, how,
               j.ret > 0 ? 1 : j.ret, j.ret < 0 ? strerrorname_np(j.err) : "-");
        /* drain whatever woke it */
        char buf[8];
        while (recv(sp[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
            ;
        fcntl(pp[0], F_SETFL, O_NONBLOCK);
        while (read(pp[0], buf, sizeof buf) > 0)
            ;
        fcntl(pp[0], F_SETFL, 0);
        while (sem_trywait(&sem) == 0)
            ;
        atomic_store(&futex_word, 0);
        int s;
        fcntl(lsock, F_SETFL, O_NONBLOCK);
        while ((s = accept(lsock, NULL, NULL)) >= 0)
            close(s);
        fcntl(lsock, F_SETFL, 0);
    }
    return 0;
}

/* ---- timeouts and error paths: value and errno exactly as plain ---- */

#define SHOW(name, expr)                                                                  \
    do {                                                                                  \
        errno = 0;                                                                        \
        long r_ = (long)(expr);                                                           \
        int e_ = errno;                                                                   \
        printf("%-34s ret %-3ld errno %s\n", name, r_ < 0 ? -1 : r_,                     \
               e_ ? strerrorname_np(e_) : "0");                                           \
    } while (0)
#define SHOWRC(name, expr)                                                                \
    do {                                                                                  \
        int rc_ = (expr);                                                                 \
        printf("%-34s rc %s\n", name, rc_ ? strerrorname_np(rc_) : "0");                \
    } while (0)

static void *hold_main(void *arg)
{
    pthread_mutex_lock(arg);
    pause();
    return NULL;
}

static int mode_timeouts(void)
{
    struct timespec ts = in_ms(20), bad = {0, -1}, mono;
    SHOW("sem_timedwait", sem_timedwait(&sem, &ts));
    SHOW("sem_timedwait bad timespec", sem_timedwait(&sem, &bad));
    clock_gettime(CLOCK_MONOTONIC, &mono);
    mono.tv_nsec += 20000000;
    if (mono.tv_nsec >= 1000000000) {
        mono.tv_sec++;
        mono.tv_nsec -= 1000000000;
    }
    SHOW("sem_clockwait", sem_clockwait(&sem, CLOCK_MONOTONIC, &mono));
    SHOW("sem_trywait", sem_trywait(&sem));
    pthread_mutex_lock(&mu);
    ts = in_ms(20);
    SHOWRC("pthread_cond_timedwait", pthread_cond_timedwait(&cv, &mu, &ts));
    SHOWRC("pthread_cond_timedwait bad", pthread_cond_timedwait(&cv, &mu, &bad));
    pthread_mutex_unlock(&mu);
    static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
    pthread_t h;
    pthread_create(&h, NULL, hold_main, &held);
    while (pthread_mutex_trylock(&held) == 0)
        pthread_mutex_unlock(&held), usleep(1000);
    ts = in_ms(20);
    SHOWRC("pthread_mutex_timedlock", pthread_mutex_timedlock(&held, &ts));
    SHOWRC("pthread_mutex_trylock", pthread_mutex_trylock(&held));
    pthread_mutex_t ec;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&ec, &ma);
    pthread_mutex_lock(&ec);
    SHOWRC("errorcheck relock", pthread_mutex_lock(&ec));
    pthread_mutex_unlock(&ec);
    SHOWRC("errorcheck unlock unowned", pthread_mutex_unlock(&ec));
    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_rdlock(&rw);
    ts = in_ms(20);
    SHOWRC("pthread_rwlock_timedwrlock", pthread_rwlock_timedwrlock(&rw, &ts));
    pthread_rwlock_unlock(&rw);
    ts = in_ms(20);
    SHOWRC("pthread_timedjoin_np", pthread_timedjoin_np(forever, NULL, &ts));
    SHOWRC("pthread_tryjoin_np", pthread_tryjoin_np(forever, NULL));
    SHOWRC("pthread_join self", pthread_join(pthread_self(), NULL));
    struct pollfd p = {pp[0], POLLIN, 0};
    SHOW("poll timeout", poll(&p, 1, 20));
    struct timeval tv = {0, 20000};
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(pp[0], &rs);
    SHOW("select timeout", select(pp[0] + 1, &rs, NULL, NULL, &tv));
    printf("select leaves tv %ld.%06ld, fd set %d\n", (long)tv.tv_sec, (long)tv.tv_usec,
           FD_ISSET(pp[0], &rs));
    struct epoll_event ev;
    SHOW("epoll_wait timeout", epoll_wait(epfd, &ev, 1, 20));
    struct timeval rt = {0, 20000};
    setsockopt(sp[0], SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
    char c;
    SHOW("recv SO_RCVTIMEO", recv(sp[0], &c, 1, 0));
    SHOW("recv MSG_DONTWAIT", recv(sp[0], &c, 1, MSG_DONTWAIT));
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 4);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    struct timespec z20 = {0, 20000000};
    SHOW("sigtimedwait", sigtimedwait(&s, NULL, &z20));
    SHOW("nanosleep bad", nanosleep(&bad, NULL));
    SHOWRC("clock_nanosleep bad clock", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &z20, NULL));
    SHOW("futex timeout", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &z20, NULL, 0));
    SHOW("futex value changed", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 5, &z20, NULL, 0));
    /* error paths of intercepted fd calls */
    SHOW("read bad fd", read(-1, &c, 1));
    SHOW("write bad fd", write(12345, &c, 1));
    SHOW("close bad fd", close(-1));
    SHOW("accept not socket", accept(pp[0], NULL, NULL));
    SHOW("recv not socket", recv(pp[0], &c, 1, 0));
    SHOW("send bad fd", send(-5, "x", 1, 0));
    SHOW("socket bad type", socket(AF_INET, 999, 0));
    SHOW("socket bad family", socket(12345, SOCK_STREAM, 0));
    SHOW("dup2 bad fd", dup2(-1, 5));
    SHOW("dup3 same fd", dup3(pp[0], pp[0], 0));
    SHOW("fcntl bad cmd", fcntl(pp[0], 123456));
    SHOW("epoll_ctl bad fd", epoll_ctl(epfd, EPOLL_CTL_ADD, -1, &ev));
    SHOW("epoll_create1 bad flag", epoll_create1(12345));
    nfds_t huge = (nfds_t)1 << 40;
    __asm__ volatile("" : "+r"(huge)); /* hide the bogus size from the compiler */
    SHOW("poll bad nfds", poll(&p, huge, 0));
    int sc = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons(1)};
    SHOW("connect refused", connect(sc, (struct sockaddr *)&a, sizeof a));
    close(sc);
    SHOW("timerfd_create bad clock", timerfd_create(12345, 0));
    timer_t tm;
    SHOW("timer_create bad clock", timer_create(12345, NULL, &tm));
    SHOW("timerfd_settime bad fd", timerfd_settime(-1, 0, NULL, NULL));
    SHOW("sem_init too big", sem_init(&sem, 0, 0xffffffffu));
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_t t;
    SHOWRC("pthread_attr_setstacksize tiny", pthread_attr_setstacksize(&at, 16));
    pthread_attr_setstacksize(&at, (size_t)1 << 46);
    int rc = pthread_create(&t, &at, forever_main, NULL);
    printf("pthread_create huge stack          rc %s\n", rc ? "error" : "0");
    SHOW("sigaction bad signal", sigaction(0, NULL, NULL));
    SHOW("sigaction SIGKILL", sigaction(SIGKILL, &(struct sigaction){.sa_handler = SIG_IGN}, NULL));
    SHOW("signal bad", signal(12345, SIG_IGN) == SIG_ERR);
    return 0;
}

/* ---- ownsig: the program's own SIGUSR2/SIGINT/SIGTERM handlers, set
 * with sigaction, signal() and sigset(), keep working and keep reporting
 * themselves as the installed action ---- */

static atomic_int got[65];
static void on_sig(int sig) { atomic_fetch_add(&got[sig], 1); }
static void on_info(int sig, siginfo_t *si, void *uc) { (void)si, (void)uc; atomic_fetch_add(&got[sig], 1); }

static int mode_ownsig(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, NULL, &old);
    printf("SIGUSR2 before: %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
    sigaction(SIGUSR2, &sa, NULL);
    void (*prev)(int) = signal(SIGINT, on_sig);
    printf("SIGINT before: %s\n", prev == SIG_DFL ? "SIG_DFL" : "other");
    /* sigset() goes through glibc's internal sigaction, past the hook */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    prev = sigset(SIGTERM, on_sig);
#pragma GCC diagnostic pop
    printf("SIGTERM before: %s\n", prev == SIG_DFL ? "SIG_DFL" : "other");
    for (int i = 0; i < 3; i++) {
        raise(SIGUSR2);
        raise(SIGINT);
        raise(SIGTERM);
        kill(getpid(), SIGUSR2);
    }
    usleep(20000);
    printf("handled USR2 %d INT %d TERM %d\n", atomic_load(&got[SIGUSR2]),
           atomic_load(&got[SIGINT]), atomic_load(&got[SIGTERM]));
    sigaction(SIGUSR2, NULL, &old);
    printf("SIGUSR2 now: %s\n", (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_info ? "mine" : "NOT MINE");
    sigaction(SIGINT, NULL, &old);
    printf("SIGINT now: %s\n", old.sa_handler == on_sig ? "mine" : "NOT MINE");
    sigaction(SIGTERM, NULL, &old);
    printf("SIGTERM now: %s\n", old.sa_handler == on_sig ? "mine" : "NOT MINE");
    /* give SIGTERM back to the default and die of it, as a program may */
    signal(SIGTERM, SIG_DFL);
    fflush(stdout);
    raise(SIGTERM);
    return 0;
}

/* ---- blockall: every thread blocks every signal; signals stay pending ---- */

static void *blocked_main(void *arg)
{
    (void)arg;
    usleep(100000);
    return NULL;
}

static int mode_blockall(void)
{
    sigset_t all, pend;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, blocked_main, NULL);
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGINT);
    kill(getpid(), SIGTERM);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    sigpending(&pend);
    printf("pending USR2 %d INT %d TERM %d\n", sigismember(&pend, SIGUSR2),
           sigismember(&pend, SIGINT), sigismember(&pend, SIGTERM));
    /* exit with them still pending and blocked: no snapshot-signal
     * action may run now */
    return 0;
}

int torture_waits_main(int argc, char **argv)
{
    const char *m = argv[1];
    (void)argc;
    if (!strcmp(m, "blockall"))
        return mode_blockall(); /* before any thread exists */
    setup();
    pthread_create(&forever, NULL, forever_main, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 3);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    if (!strcmp(m, "cancel"))
        return mode_cancel();
    if (!strcmp(m, "eintr"))
        return mode_eintr(0);
    if (!strcmp(m, "restart"))
        return mode_eintr(1);
    if (!strcmp(m, "timeouts"))
        return mode_timeouts();
    if (!strcmp(m, "ownsig"))
        return mode_ownsig();
    fprintf(stderr, "torture: unknown mode %s\n", m);
    return 2;
}
