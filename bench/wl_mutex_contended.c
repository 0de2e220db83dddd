/* wl_mutex_contended.c — workload: 4 threads each take one shared mutex N/4
 * times around a tiny critical section. Most acquisitions are uncontended
 * fast paths; the rest block in the kernel. Measures both lock paths of a
 * shim (the uncontended one must stay free of timestamps and unwinding). */
#include "lw_bench.h"

#define NTHREADS 4

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long shared_counter;
static long per_thread;

static void *worker(void *arg)
{
    (void)arg;
    for (long i = 0; i < per_thread; i++) {
        LWB_CHECK(pthread_mutex_lock(&mu));
        shared_counter++;
        LWB_CHECK(pthread_mutex_unlock(&mu));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long n = lwb_size(argc, argv, 4000000, NTHREADS, 4000000000);
    per_thread = n / NTHREADS;
    pthread_t t[NTHREADS];
    struct lwb_clock t0 = lwb_clock_now();
    for (int i = 0; i < NTHREADS; i++)
        LWB_CHECK(pthread_create(&t[i], NULL, worker, NULL));
    for (int i = 0; i < NTHREADS; i++)
        LWB_CHECK(pthread_join(t[i], NULL));
    struct lwb_clock d = lwb_clock_since(t0);
    if (shared_counter != per_thread * NTHREADS)
        lwb_die("mutex_contended: counter=%ld, expected %ld", shared_counter,
                per_thread * NTHREADS);
    lwb_report("mutex_contended", per_thread * NTHREADS, d, NULL);
    return 0;
}
