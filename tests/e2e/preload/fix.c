/* fix.c — fixture programs for the preload end-to-end tests, one per mode
 * (argv[1]). Each mode writes its snapshots through the API to the paths
 * given on the command line, so the driver (run.py) knows where to look.
 *
 *   chain S1 S2      request -> worker -> poller (nanosleep loop) and a
 *                    worker stuck in pthread_cond_wait; request exits
 *   lifecycle S      cancel target with cancellation disabled, exited but
 *                    never joined, joined and detached threads that finish
 *   fork S           fork from a multithreaded process; child snapshots
 *   exec S           exec itself in mode "execd S"
 *   dlopen LIB S     dlopen LIB, call lw_fixture_start() which starts a thread
 *   many N S         N threads parked on a barrier, one snapshot
 *   errno            prints return values/errno of awkward calls
 *   sigown           installs its own SIGUSR2 handler, raises it
 *   term             sleeps until killed (SIGTERM, no handler)
 *   verify           leakwatch_verify_none / verify_ctx with contexts
 *   sleep MS         sleep, for signal/interval tests
 */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started;

static void wait_started(int n)
{
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
        usleep(1000);
}

static void snap(const char *path)
{
    int r = leakwatch_snapshot(path);
    if (r != 0)
        fprintf(stderr, "fix: snapshot %s failed: %d\n", path, r);
}

/* ---- chain ---- */

__attribute__((noinline)) void *poller_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

__attribute__((noinline)) void *stuck_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pthread_cond_wait(&cv, &mu);
    return NULL;
}

__attribute__((noinline)) void *worker_main(void *arg)
{
    (void)arg;
    pthread_t p, s;
    pthread_create(&p, NULL, poller_main, NULL);
    pthread_create(&s, NULL, stuck_main, NULL);
    pthread_detach(p);
    pthread_detach(s);
    return NULL;
}

__attribute__((noinline)) void *request_main(void *arg)
{
    (void)arg;
    pthread_t w;
    pthread_create(&w, NULL, worker_main, NULL);
    pthread_join(w, NULL);
    return NULL;
}

static int mode_chain(char **av)
{
    pthread_t r;
    pthread_create(&r, NULL, request_main, NULL);
    pthread_join(r, NULL);
    wait_started(2);
    usleep(50000);
    snap(av[0]);
    usleep(150000);
    snap(av[1]);
    return 0;
}

/* ---- lifecycle ---- */

__attribute__((noinline)) void *nocancel_main(void *arg)
{
    (void)arg;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        usleep(5000);
    return NULL;
}

__attribute__((noinline)) void *quick_main(void *arg)
{
    return arg;
}

__attribute__((noinline)) void *exit_main(void *arg)
{
    pthread_exit(arg);
}

__attribute__((noinline)) void *cancelme_main(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void unlock_mu(void *m)
{
    pthread_mutex_unlock(m);
}

__attribute__((noinline)) void *condcancel_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    pthread_cleanup_push(unlock_mu, &mu);
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pthread_cond_wait(&cv, &mu); /* a cancellation point inside the hook */
    pthread_cleanup_pop(1);
    return NULL;
}

static int mode_lifecycle(char **av)
{
    pthread_t a, b, c, d, e, f, g;
    int bad = 0;
    pthread_create(&a, NULL, nocancel_main, NULL);
    wait_started(1);
    pthread_cancel(a);
    pthread_create(&b, NULL, quick_main, NULL); /* exits, never joined */
    pthread_create(&c, NULL, quick_main, NULL); /* joined */
    pthread_join(c, NULL);
    pthread_create(&d, NULL, exit_main, NULL); /* pthread_exit, joined */
    pthread_join(d, NULL);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_create(&e, &at, quick_main, NULL); /* detached, finishes */
    pthread_create(&f, NULL, cancelme_main, NULL); /* cancelled and joined */
    usleep(20000);
    pthread_cancel(f);
    void *rv;
    pthread_join(f, &rv);
    if (rv != PTHREAD_CANCELED) {
        fprintf(stderr, "fix: cancel did not cancel\n");
        bad = 1;
    }
    pthread_create(&g, NULL, condcancel_main, NULL);
    wait_started(2);
    usleep(20000);
    pthread_cancel(g);
    pthread_join(g, &rv);
    if (rv != PTHREAD_CANCELED || pthread_mutex_trylock(&mu) != 0) {
        fprintf(stderr, "fix: cancel inside pthread_cond_wait failed\n");
        bad = 1;
    } else {
        pthread_mutex_unlock(&mu);
    }
    usleep(100000);
    snap(av[0]);
    return bad;
}

/* ---- fork / exec / dlopen ---- */

static volatile int churn_stop;

/* creates threads (and so unwinds) while the main thread forks */
static void *churner_main(void *arg)
{
    (void)arg;
    while (!churn_stop) {
        pthread_t t;
        if (pthread_create(&t, NULL, quick_main, NULL) == 0)
            pthread_join(t, NULL);
    }
    return NULL;
}

static int mode_fork(char **av)
{
    pthread_t p, ch;
    pthread_create(&p, NULL, poller_main, NULL);
    pthread_create(&ch, NULL, churner_main, NULL);
    wait_started(1);
    for (int i = 0; i < 20; i++) { /* forks racing the churner's unwinding */
        pid_t k = fork();
        if (k == 0) {
            pthread_t q;
            pthread_create(&q, NULL, quick_main, NULL);
            pthread_join(q, NULL);
            _exit(0);
        }
        int st = 0;
        waitpid(k, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    churn_stop = 1;
    pthread_join(ch, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t q;
        snap(av[0]);
        /* the child can still start and track threads */
        pthread_create(&q, NULL, quick_main, NULL);
        pthread_join(q, NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("child %d status %d\n", (int)pid, st);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int mode_exec(char *self, char **av)
{
    pthread_t p;
    pthread_create(&p, NULL, poller_main, NULL);
    wait_started(1);
    char *args[] = {self, "execd", av[0], NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}

static int mode_execd(char **av)
{
    pthread_t p;
    pthread_create(&p, NULL, poller_main, NULL);
    wait_started(1);
    snap(av[0]);
    return 0;
}

static int mode_dlopen(char **av)
{
    void *h = dlopen(av[0], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "fix: %s\n", dlerror());
        return 1;
    }
    void (*start)(void) = (void (*)(void))dlsym(h, "lw_fixture_start");
    if (!start)
        return 1;
    start();
    usleep(50000);
    snap(av[1]);
    return 0;
}

/* ---- many threads ---- */

static pthread_barrier_t bar;

static void *many_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&bar);
    return NULL;
}

static int mode_many(char **av)
{
    int n = atoi(av[0]);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    pthread_barrier_init(&bar, NULL, (unsigned)n + 1);
    int made = 0;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t[i], &at, many_main, NULL) != 0)
            break;
        made++;
    }
    if (made != n) {
        fprintf(stderr, "fix: only %d threads\n", made);
        return 2;
    }
    /* on a loaded machine 10,000 threads take a while to reach the barrier */
    wait_started(n);
    usleep(200000);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    snap(av[1]);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("snapshot_ms %.1f\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    return 0;
}

/* ---- uncaught waits: pause() in a tracked thread, a raw clone() thread ---- */

__attribute__((noinline)) void *pauser_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause();
    return NULL;
}

#if defined(__x86_64__)
/* Runs on a raw clone() thread with no TLS of its own: only raw syscalls. */
static int raw_child(void *arg)
{
    (void)arg;
    struct timespec ts = {1, 0};
    for (;;) {
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(SYS_nanosleep), "D"(&ts), "S"(0) : "rcx", "r11", "memory");
    }
    return 0;
}
#endif

static int mode_uncaught(char **av)
{
    pthread_t p;
    pthread_create(&p, NULL, pauser_main, NULL);
#if defined(__x86_64__)
    size_t sz = 64 * 1024;
    char *stack = malloc(sz);
    if (clone(raw_child, stack + sz, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                         CLONE_SYSVSEM, NULL) < 0)
        perror("clone");
#endif
    wait_started(1);
    usleep(50000);
    snap(av[0]);
    _exit(0); /* the raw thread cannot take part in a normal exit */
}

/* ---- one thread in each wait family ---- */

static pthread_mutex_t orphan = PTHREAD_MUTEX_INITIALIZER;
static int futex_word;
static sem_t sem;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

__attribute__((noinline)) void *locker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&orphan); /* and exits holding it */
    return NULL;
}

__attribute__((noinline)) void *mutex_waiter_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&orphan);
    return NULL;
}

__attribute__((noinline)) void *futex_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&futex_word, __ATOMIC_SEQ_CST) == 0)
        syscall(SYS_futex, &futex_word, 128 /* FUTEX_WAIT_PRIVATE */, 0, NULL, NULL, 0);
    return NULL;
}

__attribute__((noinline)) void *sem_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    sem_wait(&sem);
    return NULL;
}

__attribute__((noinline)) void *rw_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    pthread_rwlock_wrlock(&rw);
    return NULL;
}

__attribute__((noinline)) void *joiner_main(void *arg)
{
    pthread_t *target = arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    pthread_join(*target, NULL);
    return NULL;
}

/* ---- deadlock: two threads take two mutexes in opposite orders ---- */

static pthread_mutex_t dl_a = PTHREAD_MUTEX_INITIALIZER, dl_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t dl_bar;

__attribute__((noinline)) void *ab_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dl_a);
    pthread_barrier_wait(&dl_bar);
    pthread_mutex_lock(&dl_b); /* never returns */
    return NULL;
}

__attribute__((noinline)) void *ba_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dl_b);
    pthread_barrier_wait(&dl_bar);
    pthread_mutex_lock(&dl_a); /* never returns */
    return NULL;
}

static int mode_deadlock(char **av)
{
    pthread_t t;
    pthread_barrier_init(&dl_bar, NULL, 2);
    pthread_create(&t, NULL, ab_main, NULL);
    pthread_create(&t, NULL, ba_main, NULL);
    usleep(300000);
    snap(av[0]);
    _exit(0);
}

static int mode_waits(char **av)
{
    pthread_t l, t;
    static pthread_t sem_thread;
    pthread_create(&l, NULL, locker_main, NULL);
    pthread_join(l, NULL);
    sem_init(&sem, 0, 0);
    pthread_rwlock_rdlock(&rw);
    pthread_create(&t, NULL, mutex_waiter_main, NULL);
    pthread_create(&t, NULL, futex_main, NULL);
    pthread_create(&sem_thread, NULL, sem_main, NULL);
    pthread_create(&t, NULL, rw_main, NULL);
    pthread_create(&t, NULL, joiner_main, &sem_thread);
    wait_started(5);
    usleep(300000); /* the untimed lock waits must look 300 ms old */
    snap(av[0]);
    _exit(0);
}

/* ---- exit grace: a thread finishing just after main returns ---- */

static void *finishing_main(void *arg)
{
    (void)arg;
    usleep(100000);
    return NULL;
}

static int mode_grace(void)
{
    pthread_t t;
    pthread_create(&t, NULL, finishing_main, NULL);
    pthread_detach(t);
    pthread_create(&t, NULL, poller_main, NULL);
    return 0;
}

/* ---- churn: detached and joined threads from two creators at once ---- */

static int live_detached;

static void *detached_main(void *arg)
{
    (void)arg;
    __atomic_sub_fetch(&live_detached, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *creator_main(void *arg)
{
    long n = (long)arg;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < n; i++) {
        pthread_t t;
        __atomic_add_fetch(&live_detached, 1, __ATOMIC_SEQ_CST);
        if (pthread_create(&t, &at, detached_main, NULL) != 0)
            __atomic_sub_fetch(&live_detached, 1, __ATOMIC_SEQ_CST);
        if (pthread_create(&t, NULL, quick_main, NULL) == 0) {
            if (i % 2)
                pthread_join(t, NULL);
            else
                pthread_detach(t);
        }
    }
    return NULL;
}

static int mode_churn(char **av)
{
    long n = atol(av[0]);
    pthread_t a, b;
    pthread_create(&a, NULL, creator_main, (void *)n);
    pthread_create(&b, NULL, creator_main, (void *)n);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    while (__atomic_load_n(&live_detached, __ATOMIC_SEQ_CST) > 0)
        usleep(1000);
    usleep(50000); /* detached threads finish their exit path */
    snap(av[1]);
    return 0;
}

/* ---- errno and return values ---- */

static void on_alarm(int s)
{
    (void)s;
}

static int mode_errno(void)
{
    int r;
    r = pthread_join(pthread_self(), NULL);
    printf("join self: %d\n", r);
    pthread_t q;
    pthread_create(&q, NULL, quick_main, NULL);
    pthread_join(q, NULL);
    pthread_detach(q); /* already joined: undefined in POSIX, glibc gives ESRCH or 0 */

    sem_t s;
    sem_init(&s, 0, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    errno = 0;
    r = sem_timedwait(&s, &ts);
    printf("sem_timedwait: %d errno %s\n", r, strerror(errno));
    errno = 1234;
    r = sem_trywait(&s);
    printf("sem_trywait: %d errno %s\n", r, strerror(errno));
    sem_post(&s);
    errno = 77;
    r = sem_wait(&s);
    printf("sem_wait: %d errno %d\n", r, errno);

    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t em;
    pthread_mutex_init(&em, &ma);
    printf("errorcheck lock: %d\n", pthread_mutex_lock(&em));
    printf("errorcheck relock: %d\n", pthread_mutex_lock(&em));
    printf("errorcheck unlock: %d\n", pthread_mutex_unlock(&em));
    printf("errorcheck unlock again: %d\n", pthread_mutex_unlock(&em));
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_t rm;
    pthread_mutex_init(&rm, &ma);
    printf("recursive: %d %d %d %d\n", pthread_mutex_lock(&rm), pthread_mutex_lock(&rm),
           pthread_mutex_unlock(&rm), pthread_mutex_unlock(&rm));

    pthread_mutex_lock(&mu);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    printf("cond_timedwait: %d\n", pthread_cond_timedwait(&cv, &mu, &ts));
    pthread_mutex_unlock(&mu);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerspec;
    struct sigaction q1;
    sigaction(SIGUSR2, NULL, &q1);
    printf("SIGUSR2 query: %s\n", q1.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
    sigaction(SIGTERM, NULL, &q1);
    printf("SIGTERM query: %s\n", q1.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
    (void)old;
    alarm(1);
    struct timespec req = {3, 0}, rem = {0, 0};
    errno = 0;
    r = nanosleep(&req, &rem);
    printf("nanosleep: %d errno %s rem_ok %d\n", r, strerror(errno),
           rem.tv_sec >= 1 && rem.tv_sec <= 2);
    errno = 0;
    r = usleep(1000);
    printf("usleep: %d errno %d\n", r, errno);
    errno = 0;
    long sr = syscall(202 /* SYS_futex */, (void *)0, 0 /* FUTEX_WAIT */, 0, NULL);
    printf("futex bad addr: %ld errno %s\n", sr, strerror(errno));
    return 0;
}

/* ---- signals ---- */

static volatile sig_atomic_t got;
static void on_usr2(int s)
{
    (void)s;
    got = 1;
}

static int mode_sigown(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, &old);
    printf("old: %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
    raise(SIGUSR2);
    usleep(100000);
    printf("handler ran: %d\n", (int)got);
    return got ? 0 : 1;
}

static int mode_sleep(char **av)
{
    pthread_t p;
    pthread_create(&p, NULL, poller_main, NULL);
    wait_started(1);
    printf("ready\n");
    fflush(stdout);
    /* a caught snapshot signal interrupts a sleep (EINTR) like any caught
     * signal: sleep on until the deadline */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long want = atol(av[0]);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= want)
            break;
        usleep((useconds_t)(want - ms) * 1000);
    }
    return 0;
}

/* ---- verify ---- */

__attribute__((noinline)) void *short_main(void *arg)
{
    (void)arg;
    usleep(50000);
    return NULL;
}

__attribute__((noinline)) void *forever_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;)
        pthread_cond_wait(&cv, &mu);
    return NULL;
}

static int mode_verify(char **av, int na)
{
    leakwatch_baseline();
    pthread_t t;
    pthread_create(&t, NULL, short_main, NULL);
    pthread_detach(t);
    int n1 = leakwatch_verify_none(2000);
    leakwatch_ctx_t ctx = leakwatch_ctx_new("test_leaky");
    leakwatch_ctx_enter(ctx);
    pthread_create(&t, NULL, forever_main, NULL);
    pthread_detach(t);
    leakwatch_ctx_leave();
    leakwatch_ctx_t clean = leakwatch_ctx_new("test_clean");
    leakwatch_ctx_enter(clean);
    pthread_create(&t, NULL, short_main, NULL);
    pthread_detach(t);
    leakwatch_ctx_leave();
    int n2 = leakwatch_verify_ctx(ctx, 1000);
    int n3 = leakwatch_verify_ctx(clean, 1000);
    leakwatch_ctx_cancel(ctx);
    leakwatch_ctx_enter(LEAKWATCH_BACKGROUND);
    pthread_create(&t, NULL, forever_main, NULL);
    pthread_detach(t);
    leakwatch_ctx_leave();
    printf("active %d verify_none %d verify_ctx leaky %d clean %d\n", leakwatch_active(), n1, n2,
           n3);
    if (na > 0) {
        usleep(20000);
        snap(av[0]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *m = argv[1];
    char **av = argv + 2;
    int na = argc - 2;
#define NEED(n)                                                                           \
    if (na < (n)) {                                                                       \
        fprintf(stderr, "fix %s: needs %d arguments\n", m, (n));                          \
        return 2;                                                                         \
    }
    if (!strcmp(m, "chain")) { NEED(2); return mode_chain(av); }
    if (!strcmp(m, "lifecycle")) { NEED(1); return mode_lifecycle(av); }
    if (!strcmp(m, "fork")) { NEED(1); return mode_fork(av); }
    if (!strcmp(m, "exec")) { NEED(1); return mode_exec(argv[0], av); }
    if (!strcmp(m, "execd")) { NEED(1); return mode_execd(av); }
    if (!strcmp(m, "dlopen")) { NEED(2); return mode_dlopen(av); }
    if (!strcmp(m, "many")) { NEED(2); return mode_many(av); }
    if (!strcmp(m, "churn")) { NEED(2); return mode_churn(av); }
    if (!strcmp(m, "uncaught")) { NEED(1); return mode_uncaught(av); }
    if (!strcmp(m, "grace")) return mode_grace();
    if (!strcmp(m, "waits")) { NEED(1); return mode_waits(av); }
    if (!strcmp(m, "deadlock")) { NEED(1); return mode_deadlock(av); }
    if (!strcmp(m, "errno")) return mode_errno();
    if (!strcmp(m, "sigown")) return mode_sigown();
    if (!strcmp(m, "sleep")) { NEED(1); return mode_sleep(av); }
    if (!strcmp(m, "verify")) return mode_verify(av, na);
    fprintf(stderr, "fix: unknown mode %s\n", m);
    return 2;
}
