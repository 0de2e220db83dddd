/* wl_cond_pingpong.c — workload: two threads hand a turn back and forth N
 * times through one mutex and two condition variables, so every hand-off is
 * a pthread_cond_wait that really blocks and a pthread_cond_signal that wakes
 * it. Measures the blocking-wait path of a shim. */
#include "lw_bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_ping = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_pong = PTHREAD_COND_INITIALIZER;
static long turn;   /* even: ping's turn, odd: pong's turn */
static long rounds;

static void *pong(void *arg)
{
    (void)arg;
    LWB_CHECK(pthread_mutex_lock(&mu));
    for (long i = 0; i < rounds; i++) {
        while ((turn & 1) == 0)
            LWB_CHECK(pthread_cond_wait(&cv_pong, &mu));
        turn++;
        LWB_CHECK(pthread_cond_signal(&cv_ping));
    }
    LWB_CHECK(pthread_mutex_unlock(&mu));
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = lwb_size(argc, argv, 50000, 1, 1000000000);
    pthread_t t;
    LWB_CHECK(pthread_create(&t, NULL, pong, NULL));
    struct lwb_clock t0 = lwb_clock_now();
    LWB_CHECK(pthread_mutex_lock(&mu));
    for (long i = 0; i < rounds; i++) {
        turn++;
        LWB_CHECK(pthread_cond_signal(&cv_pong));
        while (turn & 1)
            LWB_CHECK(pthread_cond_wait(&cv_ping, &mu));
    }
    LWB_CHECK(pthread_mutex_unlock(&mu));
    struct lwb_clock d = lwb_clock_since(t0);
    LWB_CHECK(pthread_join(t, NULL));
    if (turn != 2 * rounds)
        lwb_die("cond_pingpong: turn=%ld, expected %ld", turn, 2 * rounds);
    lwb_report("cond_pingpong", rounds, d, NULL);
    return 0;
}
