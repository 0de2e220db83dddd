/* wl_sem_pingpong.c — workload: two threads alternate N times through two
 * POSIX semaphores (sem_post wakes the other side, sem_wait blocks). Measures
 * a shim's sem_wait path. */
#include <semaphore.h>

#include "lw_bench.h"

static sem_t s_ping, s_pong;
static long rounds;

static void *pong(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        while (sem_wait(&s_pong) != 0)
            if (errno != EINTR)
                lwb_die("sem_wait: %s", strerror(errno));
        LWB_CHECK(sem_post(&s_ping));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = lwb_size(argc, argv, 50000, 1, 1000000000);
    LWB_CHECK(sem_init(&s_ping, 0, 0));
    LWB_CHECK(sem_init(&s_pong, 0, 0));
    pthread_t t;
    LWB_CHECK(pthread_create(&t, NULL, pong, NULL));
    struct lwb_clock t0 = lwb_clock_now();
    for (long i = 0; i < rounds; i++) {
        LWB_CHECK(sem_post(&s_pong));
        while (sem_wait(&s_ping) != 0)
            if (errno != EINTR)
                lwb_die("sem_wait: %s", strerror(errno));
    }
    struct lwb_clock d = lwb_clock_since(t0);
    LWB_CHECK(pthread_join(t, NULL));
    LWB_CHECK(sem_destroy(&s_ping));
    LWB_CHECK(sem_destroy(&s_pong));
    lwb_report("sem_pingpong", rounds, d, NULL);
    return 0;
}
