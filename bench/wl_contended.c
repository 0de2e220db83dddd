/* wl_contended.c — workload: N calls that each take the contended side of
 * one lock or semaphore call, deterministically (no scheduler involved), so
 * that callgrind counts the same work on every run: what a shim adds per
 * contended attempt (BENCHMARKS.md, instructions per operation).
 *
 *   wl_contended MODE N
 *   mutex_timedlock  pthread_mutex_timedlock on a mutex another thread holds,
 *                    deadline already past: EBUSY-then-ETIMEDOUT every call
 *   sem_clockwait    sem_clockwait(CLOCK_MONOTONIC) on a zero semaphore,
 *                    deadline already past (CPython's lock.acquire(timeout=))
 *   sem_timedwait    the same with sem_timedwait (CLOCK_REALTIME)
 *   cond_timedwait   pthread_cond_timedwait, deadline already past (CPython's
 *                    GIL wait, with its monotonic condattr)
 *   sem_lifecycle    the life of the lock CPython allocates per
 *                    Condition.wait: sem_init, sem_wait (free), a contended
 *                    sem_clockwait (deadline past), sem_post, sem_destroy
 *   uncontended      for contrast, the free side: pthread_mutex_lock+unlock,
 *                    sem_post+sem_wait, pthread_cond_signal with no waiter
 * Every call's result is checked. */
#include <semaphore.h>

#include "lw_bench.h"

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static sem_t hold_done, hold_go;

static void *holder(void *arg)
{
    (void)arg;
    LWB_CHECK(pthread_mutex_lock(&held));
    LWB_CHECK(sem_post(&hold_done));
    while (sem_wait(&hold_go) != 0)
        ;
    LWB_CHECK(pthread_mutex_unlock(&held));
    return NULL;
}

static void expect(int rc, int want, const char *what)
{
    if (rc != want)
        lwb_die("%s returned %d (%s), expected %d", what, rc, strerror(rc > 0 ? rc : errno),
                want);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        lwb_die("usage: wl_contended mutex_timedlock|sem_clockwait|sem_timedwait|"
                "cond_timedwait|sem_lifecycle|uncontended N");
    const char *mode = argv[1];
    long n = lwb_size(argc - 1, argv + 1, 1000, 1, 1000000000);
    struct timespec past = {0, 0}; /* the epoch: long past on either clock */
    char name[64];
    snprintf(name, sizeof name, "contended_%s", mode);
    struct lwb_clock t0;
    if (!strcmp(mode, "mutex_timedlock")) {
        pthread_t t;
        LWB_CHECK(sem_init(&hold_done, 0, 0));
        LWB_CHECK(sem_init(&hold_go, 0, 0));
        LWB_CHECK(pthread_create(&t, NULL, holder, NULL));
        while (sem_wait(&hold_done) != 0)
            ;
        t0 = lwb_clock_now();
        for (long i = 0; i < n; i++)
            expect(pthread_mutex_timedlock(&held, &past), ETIMEDOUT, "pthread_mutex_timedlock");
        struct lwb_clock d = lwb_clock_since(t0);
        LWB_CHECK(sem_post(&hold_go));
        LWB_CHECK(pthread_join(t, NULL));
        lwb_report(name, n, d, NULL);
        return 0;
    }
    sem_t s;
    LWB_CHECK(sem_init(&s, 0, 0));
    pthread_cond_t c;
    pthread_condattr_t ca;
    LWB_CHECK(pthread_condattr_init(&ca));
    LWB_CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    LWB_CHECK(pthread_cond_init(&c, &ca));
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    t0 = lwb_clock_now();
    if (!strcmp(mode, "sem_clockwait")) {
        for (long i = 0; i < n; i++)
            expect(sem_clockwait(&s, CLOCK_MONOTONIC, &past) ? errno : 0, ETIMEDOUT,
                   "sem_clockwait");
    } else if (!strcmp(mode, "sem_timedwait")) {
        for (long i = 0; i < n; i++)
            expect(sem_timedwait(&s, &past) ? errno : 0, ETIMEDOUT, "sem_timedwait");
    } else if (!strcmp(mode, "cond_timedwait")) {
        LWB_CHECK(pthread_mutex_lock(&m));
        for (long i = 0; i < n; i++)
            expect(pthread_cond_timedwait(&c, &m, &past), ETIMEDOUT, "pthread_cond_timedwait");
        LWB_CHECK(pthread_mutex_unlock(&m));
    } else if (!strcmp(mode, "sem_lifecycle")) {
        for (long i = 0; i < n; i++) {
            sem_t l;
            LWB_CHECK(sem_init(&l, 0, 1));
            LWB_CHECK(sem_wait(&l)); /* waiter.acquire() at allocation */
            expect(sem_clockwait(&l, CLOCK_MONOTONIC, &past) ? errno : 0, ETIMEDOUT,
                   "sem_clockwait"); /* waiter.acquire(True, timeout) */
            LWB_CHECK(sem_post(&l)); /* notify: waiter.release() */
            LWB_CHECK(sem_destroy(&l));
        }
    } else if (!strcmp(mode, "uncontended")) {
        for (long i = 0; i < n; i++) {
            LWB_CHECK(pthread_mutex_lock(&m));
            LWB_CHECK(pthread_mutex_unlock(&m));
            LWB_CHECK(sem_post(&s));
            LWB_CHECK(sem_wait(&s));
            LWB_CHECK(pthread_cond_signal(&c));
        }
    } else {
        lwb_die("unknown mode '%s'", mode);
    }
    struct lwb_clock d = lwb_clock_since(t0);
    LWB_CHECK(pthread_cond_destroy(&c));
    LWB_CHECK(sem_destroy(&s));
    lwb_report(name, n, d, NULL);
    return 0;
}
