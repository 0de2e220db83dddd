/* wl_block_release.c — workload: start N threads that each block once on a
 * condition variable, release them all with one broadcast, join them all.
 * Measures the cost a shim adds to thread creation plus one blocking wait per
 * thread (first wait on a fresh thread: where lazy per-thread set-up shows).
 *
 * Usage: wl_block_release N [HOLD_S [spawner]]. With HOLD_S the threads stay
 * blocked after "ready" is printed until stdin reaches EOF or HOLD_S seconds
 * pass: the process the snapshot, gdb and eu-stack measurements look at.
 * With "spawner" the N threads are started by a short-lived thread that
 * exits before they are released, so leakwatch sees them as leaked
 * candidates (their creator's context is cancelled) — the realistic case
 * for snapshot and analyzer cost.
 */
#include <poll.h>
#include <unistd.h>

#include "lw_bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_go = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_ready = PTHREAD_COND_INITIALIZER;
static long nready;
static int go;

static void *blocker(void *arg)
{
    (void)arg;
    LWB_CHECK(pthread_mutex_lock(&mu));
    if (++nready % 64 == 0)
        LWB_CHECK(pthread_cond_signal(&cv_ready));
    while (!go)
        LWB_CHECK(pthread_cond_wait(&cv_go, &mu));
    LWB_CHECK(pthread_mutex_unlock(&mu));
    return NULL;
}

/* Waits for EOF on stdin, at most hold_s seconds. */
static void hold(long hold_s)
{
    uint64_t end = lwb_now_ns() + (uint64_t)hold_s * 1000000000ull;
    char buf[64];
    for (;;) {
        uint64_t now = lwb_now_ns();
        if (now >= end)
            return;
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = poll(&p, 1, (int)((end - now) / 1000000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        ssize_t n = read(0, buf, sizeof buf);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            return;
    }
}

struct spawn {
    pthread_t *t;
    long n;
};

static void *spawner(void *arg)
{
    struct spawn *sp = arg;
    for (long i = 0; i < sp->n; i++)
        LWB_CHECK(pthread_create(&sp->t[i], NULL, blocker, NULL));
    return NULL;
}

int main(int argc, char **argv)
{
    long n = lwb_size(argc, argv, 2000, 1, 100000);
    long hold_s = 0;
    if (argc > 2 && (hold_s = atol(argv[2])) <= 0)
        lwb_die("HOLD_S must be a positive number of seconds, got '%s'", argv[2]);
    int use_spawner = argc > 3 && strcmp(argv[3], "spawner") == 0;
    if (argc > 3 && !use_spawner)
        lwb_die("third argument must be 'spawner', got '%s'", argv[3]);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    if (!t)
        lwb_die("out of memory for %ld thread ids", n);
    struct lwb_clock t0 = lwb_clock_now();
    if (use_spawner) {
        struct spawn sp = {t, n};
        pthread_t st;
        LWB_CHECK(pthread_create(&st, NULL, spawner, &sp));
        LWB_CHECK(pthread_join(st, NULL));
    } else {
        for (long i = 0; i < n; i++)
            LWB_CHECK(pthread_create(&t[i], NULL, blocker, NULL));
    }
    LWB_CHECK(pthread_mutex_lock(&mu));
    while (nready < n) {
        /* Signalled every 64 arrivals; a timed wait covers the remainder. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        int rc = pthread_cond_timedwait(&cv_ready, &mu, &ts);
        if (rc && rc != ETIMEDOUT)
            lwb_die("pthread_cond_timedwait: %s", strerror(rc));
    }
    LWB_CHECK(pthread_mutex_unlock(&mu));
    struct lwb_clock d_start = lwb_clock_since(t0);
    if (hold_s) {
        printf("ready %ld pid %ld\n", n, (long)getpid());
        fflush(stdout);
        hold(hold_s);
    }
    struct lwb_clock t_rel = lwb_clock_now();
    LWB_CHECK(pthread_mutex_lock(&mu));
    go = 1;
    LWB_CHECK(pthread_cond_broadcast(&cv_go));
    LWB_CHECK(pthread_mutex_unlock(&mu));
    for (long i = 0; i < n; i++)
        LWB_CHECK(pthread_join(t[i], NULL));
    struct lwb_clock d_rel = lwb_clock_since(t_rel);
    free(t);
    char extra[96];
    snprintf(extra, sizeof extra, "start_block_ns=%llu release_join_ns=%llu",
             (unsigned long long)d_start.wall, (unsigned long long)d_rel.wall);
    /* The held interval is not part of the measured time. */
    struct lwb_clock d = {d_start.wall + d_rel.wall, d_start.cpu + d_rel.cpu};
    lwb_report("block_release", n, d, extra);
    return 0;
}
