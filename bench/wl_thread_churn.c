/* wl_thread_churn.c — workload: create and join N short threads, one after
 * another. Measures the per-thread cost of pthread_create/exit/join (and, under
 * a shim, its start-routine trampoline and records). Never sleeps or spins. */
#include "lw_bench.h"

static void *short_thread(void *arg)
{
    /* A token of work so the thread is not optimised into nothing. */
    volatile long *p = arg;
    *p += 1;
    return NULL;
}

int main(int argc, char **argv)
{
    long n = lwb_size(argc, argv, 20000, 1, 100000000);
    volatile long counter = 0;
    struct lwb_clock t0 = lwb_clock_now();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        LWB_CHECK(pthread_create(&t, NULL, short_thread, (void *)&counter));
        LWB_CHECK(pthread_join(t, NULL));
    }
    struct lwb_clock d = lwb_clock_since(t0);
    if (counter != n)
        lwb_die("thread_churn: %ld threads ran, expected %ld", (long)counter, n);
    lwb_report("thread_churn", n, d, NULL);
    return 0;
}
