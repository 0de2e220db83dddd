/* semcheck.c — the fast paths of the benchmarked hooks must not change what
 * a call does. Drives the *contended* side of every lock/semaphore hook
 * (the trylock-then-record path) and thread exits through pthread_exit and
 * cancellation, and prints one line per outcome (return value, errno).
 * test-bench-semantics runs it plain and under leakwatch and diffs the two
 * outputs, then checks leakwatch's snapshot saw each exit kind.
 *
 * Owns: only this check. Must never: print anything that depends on timing
 * or addresses (the plain and leakwatch outputs are compared byte for byte).
 * Every wait is bounded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch.h"

static void out(const char *what, long rc, int err)
{
    printf("%-34s rc=%ld errno=%d\n", what, rc, err);
    fflush(stdout);
}

static struct timespec in_ms(clockid_t clk, int ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static sem_t go, done;

/* ---- a holder thread: takes the object, signals, waits, releases ---- */
enum { H_MUTEX, H_ROBUST_DIE, H_WRLOCK, H_RDLOCK };
struct holder {
    int kind;
    pthread_mutex_t *m;
    pthread_rwlock_t *l;
};

static void *holder_main(void *p)
{
    struct holder *h = p;
    if (h->kind == H_MUTEX || h->kind == H_ROBUST_DIE)
        pthread_mutex_lock(h->m);
    else if (h->kind == H_WRLOCK)
        pthread_rwlock_wrlock(h->l);
    else
        pthread_rwlock_rdlock(h->l);
    sem_post(&go);
    if (h->kind == H_ROBUST_DIE) {
        usleep(50000); /* the main thread is blocked in lock by now (or soon) */
        return NULL;   /* dies holding a robust mutex */
    }
    while (sem_wait(&done) != 0)
        ;
    if (h->kind == H_MUTEX)
        pthread_mutex_unlock(h->m);
    else
        pthread_rwlock_unlock(h->l);
    return NULL;
}

static pthread_t hold(struct holder *h)
{
    pthread_t t;
    pthread_create(&t, NULL, holder_main, h);
    while (sem_wait(&go) != 0)
        ;
    return t;
}

static void release(pthread_t t)
{
    sem_post(&done);
    pthread_join(t, NULL);
}

/* ---- exits ---- */
static void *exit_main(void *p)
{
    (void)p;
    pthread_exit((void *)7);
}

static void *exit_bypass_main(void *p)
{
    (void)p;
    /* reaches libc's pthread_exit without the interposed name: only the
     * cleanup handler can see this exit */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void (*real_exit)(void *) = libc ? (void (*)(void *))dlsym(libc, "pthread_exit") : NULL;
    if (!real_exit)
        real_exit = pthread_exit;
    real_exit((void *)8);
    return NULL;
}

static sem_t never;
static void *cancel_sem_main(void *p)
{
    (void)p;
    sem_post(&go);
    sem_wait(&never); /* a cancellation point */
    return NULL;
}

int main(int argc, char **argv)
{
    const char *snap = argc > 1 ? argv[1] : NULL;
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    sem_init(&never, 0, 0);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);

    /* plain mutex: contended timedlock times out, contended lock succeeds
     * once released; errno untouched on success */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct holder h = {H_MUTEX, &m, NULL};
    pthread_t t = hold(&h);
    struct timespec ts = in_ms(CLOCK_REALTIME, 20);
    errno = 77;
    int rc = pthread_mutex_timedlock(&m, &ts);
    out("mutex_timedlock contended", rc, errno);
    ts = in_ms(CLOCK_MONOTONIC, 20);
    errno = 77;
    rc = pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts);
    out("mutex_clocklock contended", rc, errno);
    errno = 77;
    rc = pthread_mutex_trylock(&m);
    out("mutex_trylock contended", rc, errno);
    release(t);
    errno = 77;
    rc = pthread_mutex_lock(&m);
    out("mutex_lock after release", rc, errno);
    pthread_mutex_unlock(&m);

    /* errorcheck: relock by the owner = EBUSY from trylock, then EDEADLK */
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t em;
    pthread_mutex_init(&em, &ma);
    out("errorcheck lock", pthread_mutex_lock(&em), 0);
    errno = 77;
    rc = pthread_mutex_lock(&em);
    out("errorcheck relock", rc, errno);
    ts = in_ms(CLOCK_REALTIME, 10);
    rc = pthread_mutex_timedlock(&em, &ts);
    out("errorcheck timed relock", rc, errno);
    out("errorcheck unlock", pthread_mutex_unlock(&em), 0);
    out("errorcheck unlock again", pthread_mutex_unlock(&em), 0);

    /* recursive: the owner relocks through trylock */
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_t rm;
    pthread_mutex_init(&rm, &ma);
    out("recursive lock 1", pthread_mutex_lock(&rm), 0);
    out("recursive lock 2", pthread_mutex_lock(&rm), 0);
    out("recursive unlock 1", pthread_mutex_unlock(&rm), 0);
    out("recursive unlock 2", pthread_mutex_unlock(&rm), 0);

    /* robust: owner dies while we are blocked (contended path) ->
     * EOWNERDEAD; then consistent; an uncontended dead owner too */
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_NORMAL);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_t rb;
    pthread_mutex_init(&rb, &ma);
    struct holder hr = {H_ROBUST_DIE, &rb, NULL};
    t = hold(&hr);
    errno = 77;
    rc = pthread_mutex_lock(&rb);
    out("robust lock, owner died", rc, errno);
    pthread_join(t, NULL);
    out("robust consistent", pthread_mutex_consistent(&rb), 0);
    out("robust unlock", pthread_mutex_unlock(&rb), 0);
    t = hold(&hr);
    pthread_join(t, NULL);
    errno = 77;
    rc = pthread_mutex_lock(&rb); /* the trylock path reports it */
    out("robust lock, dead before", rc, errno);
    pthread_mutex_unlock(&rb); /* not made consistent: unrecoverable */
    rc = pthread_mutex_lock(&rb);
    out("robust lock, unrecoverable", rc, errno);

    /* rwlocks: writer holds; timed/clock read and write locks time out;
     * reader holds: rdlock shares, timedwrlock times out */
    pthread_rwlock_t l;
    pthread_rwlock_init(&l, NULL);
    struct holder hw = {H_WRLOCK, NULL, &l};
    t = hold(&hw);
    ts = in_ms(CLOCK_REALTIME, 20);
    errno = 77;
    rc = pthread_rwlock_timedrdlock(&l, &ts);
    out("rwlock_timedrdlock vs writer", rc, errno);
    ts = in_ms(CLOCK_MONOTONIC, 20);
    rc = pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &ts);
    out("rwlock_clockwrlock vs writer", rc, errno);
    out("rwlock_tryrdlock vs writer", pthread_rwlock_tryrdlock(&l), errno);
    release(t);
    out("rwlock_wrlock after release", pthread_rwlock_wrlock(&l), errno);
    out("rwlock_wrlock again (EDEADLK)", pthread_rwlock_wrlock(&l), errno);
    pthread_rwlock_unlock(&l);
    struct holder hd = {H_RDLOCK, NULL, &l};
    t = hold(&hd);
    out("rwlock_rdlock shared", pthread_rwlock_rdlock(&l), errno);
    pthread_rwlock_unlock(&l);
    ts = in_ms(CLOCK_REALTIME, 20);
    out("rwlock_timedwrlock vs reader", pthread_rwlock_timedwrlock(&l, &ts), errno);
    release(t);

    /* semaphores: empty -> timed waits time out with errno ETIMEDOUT; a
     * successful wait leaves errno alone; a bad deadline is EINVAL */
    sem_t s;
    sem_init(&s, 0, 0);
    ts = in_ms(CLOCK_REALTIME, 20);
    errno = 77;
    rc = sem_timedwait(&s, &ts);
    out("sem_timedwait empty", rc, errno);
    ts = in_ms(CLOCK_MONOTONIC, 20);
    errno = 77;
    rc = sem_clockwait(&s, CLOCK_MONOTONIC, &ts);
    out("sem_clockwait empty", rc, errno);
    struct timespec bad = {0, 2000000000L};
    errno = 77;
    rc = sem_timedwait(&s, &bad);
    out("sem_timedwait bad deadline", rc, errno);
    errno = 77;
    rc = sem_trywait(&s);
    out("sem_trywait empty", rc, errno);
    sem_post(&s);
    errno = 77;
    rc = sem_wait(&s);
    out("sem_wait posted", rc, errno);

    /* exits: pthread_exit (hooked and not), cancellation in a wait */
    void *ret = NULL;
    pthread_create(&t, NULL, exit_main, NULL);
    pthread_join(t, &ret);
    out("pthread_exit value", (long)ret, 0);
    pthread_t d1, d2;
    pthread_create(&d1, NULL, exit_bypass_main, NULL);
    pthread_create(&d2, NULL, cancel_sem_main, NULL);
    while (sem_wait(&go) != 0)
        ;
    out("pthread_cancel", pthread_cancel(d2), 0);
    pthread_join(d2, &ret);
    out("cancelled", ret == PTHREAD_CANCELED, 0);
    pthread_join(d1, &ret);
    out("unhooked pthread_exit value", (long)ret, 0);

    /* leakwatch's view (only under the shim): two threads that end the
     * same two ways and are not joined before the snapshot, so their
     * records stay listed with how they exited */
    pthread_t k1, k2;
    pthread_create(&k1, NULL, exit_bypass_main, NULL);
    pthread_create(&k2, NULL, cancel_sem_main, NULL);
    while (sem_wait(&go) != 0)
        ;
    pthread_cancel(k2);
    usleep(100000); /* both gone (not joined: the records stay, exited) */
    if (snap)
        leakwatch_snapshot(snap);
    pthread_join(k1, NULL);
    pthread_join(k2, NULL);
    return 0;
}
