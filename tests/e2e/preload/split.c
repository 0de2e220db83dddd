/* split.c — fixture for split waits (docs/design.md §3.6): every wait that
 * leakwatch splits to complete a blocked stack (the first wait at a call
 * site, blocked longer than 100 ms) gives the same results, errno, wake-ups
 * and timeouts as without leakwatch. Each case blocks 200-300 ms, past the
 * split, and prints what the program sees; run.py compares the output of a
 * plain run with one under the preload.
 *
 * Usage: split [SNAPSHOT]: with a path, also writes a snapshot (through the
 * API) while six threads are blocked in their first wait since 250 ms.
 */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* "at least MS": elapsed times are printed as a yes/no so the two runs'
 * outputs compare */
static const char *took(int64_t t0, int ms)
{
    int64_t d = now_ms(CLOCK_MONOTONIC) - t0;
    return d >= ms - 1 ? "yes" : "NO";
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;
static sem_t sem;
static unsigned futex_word;

static sem_t held;

static void *poster(void *arg)
{
    intptr_t what = (intptr_t)arg;
    if (what == 3 || what == 5) {
        pthread_mutex_lock(&mu);
        sem_post(&held);
        sleep_ms(what == 3 ? 250 : 600);
        pthread_mutex_unlock(&mu);
        return NULL;
    }
    sleep_ms(250);
    switch (what) {
    case 0:
        sem_post(&sem);
        break;
    case 1: /* signal after unlocking */
        pthread_mutex_lock(&mu);
        flag = 1;
        pthread_mutex_unlock(&mu);
        pthread_cond_signal(&cv);
        break;
    case 2:
        __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        break;
    }
    return (void *)(intptr_t)42;
}

static void on_alarm(int sig)
{
    (void)sig;
}

static pthread_t start_poster(intptr_t what)
{
    pthread_t t;
    pthread_create(&t, NULL, poster, (void *)what);
    return t;
}

/* ---- the snapshot case: threads blocked in their first wait ---- */

static sem_t snap_sem;
static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t snap_cv = PTHREAD_COND_INITIALIZER;
static int snap_go;
static unsigned snap_word;
static pthread_t snap_sleeper;

__attribute__((noinline)) static void wait_sem(void)
{
    sem_wait(&snap_sem);
}

__attribute__((noinline)) static void wait_cond(void)
{
    pthread_mutex_lock(&snap_mu);
    while (!snap_go)
        pthread_cond_wait(&snap_cv, &snap_mu);
    pthread_mutex_unlock(&snap_mu);
}

__attribute__((noinline)) static void wait_futex(void)
{
    while (__atomic_load_n(&snap_word, __ATOMIC_SEQ_CST) == 0)
        syscall(SYS_futex, &snap_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

__attribute__((noinline)) static void wait_sleep(void)
{
    struct timespec ts = {2, 0};
    nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void wait_join(void)
{
    pthread_join(snap_sleeper, NULL);
}

__attribute__((noinline)) static void wait_lock(void)
{
    pthread_mutex_lock(&mu); /* held by main */
    pthread_mutex_unlock(&mu);
}

static void *snap_main(void *arg)
{
    switch ((intptr_t)arg) {
    case 0: wait_sem(); break;
    case 1: wait_cond(); break;
    case 2: wait_futex(); break;
    case 3: wait_sleep(); break;
    case 4: wait_join(); break;
    case 5: wait_lock(); break;
    }
    return NULL;
}

static int snapshot_case(const char *path)
{
    pthread_t t[6];
    sem_init(&snap_sem, 0, 0);
    pthread_mutex_lock(&mu);
    for (intptr_t i = 0; i < 6; i++) {
        pthread_create(&t[i], NULL, snap_main, (void *)i);
        if (i == 3)
            snap_sleeper = t[3];
    }
    sleep_ms(400);
    if (leakwatch_snapshot(path) != 0)
        fprintf(stderr, "split: snapshot failed\n");
    sem_post(&snap_sem);
    pthread_mutex_lock(&snap_mu);
    snap_go = 1;
    pthread_cond_broadcast(&snap_cv);
    pthread_mutex_unlock(&snap_mu);
    __atomic_store_n(&snap_word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &snap_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 6; i++)
        if (i != 4 && i != 3)
            pthread_join(t[i], NULL);
    pthread_join(t[4], NULL); /* it joined the sleeper */
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        return snapshot_case(argv[1]);
    int64_t t0;
    int r;
    struct timespec ts;
    void *ret = NULL;

    sem_init(&sem, 0, 0);
    sem_init(&held, 0, 0);
    /* t0 before each poster starts: its 250 ms must not start earlier */
    t0 = now_ms(CLOCK_MONOTONIC);
    pthread_t p = start_poster(0);
    errno = 77;
    r = sem_wait(&sem);
    printf("sem_wait: %d errno %d after 250 ms: %s\n", r, errno, took(t0, 250));
    pthread_join(p, NULL);

    errno = 78;
    ts = in_ms(CLOCK_REALTIME, 300);
    t0 = now_ms(CLOCK_MONOTONIC);
    r = sem_timedwait(&sem, &ts);
    printf("sem_timedwait: %d errno %s at its deadline: %s\n", r, strerror(errno), took(t0, 300));

    pthread_mutex_lock(&mu);
    t0 = now_ms(CLOCK_MONOTONIC);
    p = start_poster(1);
    int loops = 0;
    while (!flag) {
        r = pthread_cond_wait(&cv, &mu);
        loops++;
        if (r != 0)
            break;
    }
    pthread_mutex_unlock(&mu);
    /* a spurious wake-up may add a loop: only the outcome is printed */
    printf("cond_wait (signal after unlock): %d flag %d after 250 ms: %s\n", r, flag,
           took(t0, 250));
    pthread_join(p, NULL);

    pthread_mutex_lock(&mu);
    ts = in_ms(CLOCK_REALTIME, 300);
    t0 = now_ms(CLOCK_MONOTONIC);
    do
        r = pthread_cond_timedwait(&cv, &mu, &ts);
    while (r == 0);
    pthread_mutex_unlock(&mu);
    printf("cond_timedwait (never signalled): %s at its deadline: %s\n", strerror(r),
           took(t0, 300));

    pthread_mutex_lock(&mu);
    ts = in_ms(CLOCK_MONOTONIC, 300);
    t0 = now_ms(CLOCK_MONOTONIC);
    do
        r = pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &ts);
    while (r == 0);
    pthread_mutex_unlock(&mu);
    printf("cond_clockwait (never signalled): %s at its deadline: %s\n", strerror(r),
           took(t0, 300));

    t0 = now_ms(CLOCK_MONOTONIC);
    p = start_poster(2);
    errno = 79;
    long lr = 0;
    while (__atomic_load_n(&futex_word, __ATOMIC_SEQ_CST) == 0)
        lr = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    printf("futex wait: woken (%s) errno %d after 250 ms: %s\n",
           lr == 0 || (lr == -1 && errno == EAGAIN) ? "yes" : "NO", lr == 0 ? errno : 79,
           took(t0, 250));
    pthread_join(p, NULL);

    t0 = now_ms(CLOCK_MONOTONIC);
    p = start_poster(3); /* holds mu for 250 ms */
    sem_wait(&held);
    r = pthread_mutex_lock(&mu);
    printf("pthread_mutex_lock: %d after the holder's 250 ms: %s\n", r, took(t0, 250));
    pthread_mutex_unlock(&mu);
    pthread_join(p, NULL);

    p = start_poster(5); /* holds mu for 600 ms */
    sem_wait(&held);
    ts = in_ms(CLOCK_REALTIME, 300);
    t0 = now_ms(CLOCK_MONOTONIC);
    r = pthread_mutex_timedlock(&mu, &ts);
    printf("pthread_mutex_timedlock: %s at its deadline: %s\n", strerror(r), took(t0, 300));
    pthread_join(p, NULL);

    t0 = now_ms(CLOCK_MONOTONIC);
    p = start_poster(4); /* returns 42 after 250 ms */
    r = pthread_join(p, &ret);
    printf("pthread_join: %d value %ld after 250 ms: %s\n", r, (long)(intptr_t)ret, took(t0, 250));

    t0 = now_ms(CLOCK_MONOTONIC);
    ts.tv_sec = 0;
    ts.tv_nsec = 250 * 1000000;
    r = nanosleep(&ts, NULL);
    printf("nanosleep 250 ms: %d: %s\n", r, took(t0, 250));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: the sleep ends with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct timespec rem = {0, 0};
    ts.tv_sec = 1;
    ts.tv_nsec = 0;
    ualarm(250000, 0);
    errno = 0;
    r = nanosleep(&ts, &rem);
    long rem_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
    printf("nanosleep 1 s, alarm at 250 ms: %d errno %s, remainder 650-800 ms: %s\n", r,
           strerror(errno), rem_ms >= 650 && rem_ms <= 800 ? "yes" : "NO");

    ts = in_ms(CLOCK_MONOTONIC, 250);
    t0 = now_ms(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    printf("clock_nanosleep absolute 250 ms: %d: %s\n", r, took(t0, 250));
    ts.tv_sec = 0;
    ts.tv_nsec = 250 * 1000000;
    t0 = now_ms(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    printf("clock_nanosleep relative 250 ms: %d: %s\n", r, took(t0, 250));
    return 0;
}
