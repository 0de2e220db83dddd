/* wl_timer_churn.c — workload: N times timer_create (CLOCK_MONOTONIC,
 * SIGEV_NONE), arm it for one second with timer_settime, timer_delete. No
 * timer ever fires; this measures a shim's timer bookkeeping per timer. */
#include <signal.h>

#include "lw_bench.h"

int main(int argc, char **argv)
{
    long n = lwb_size(argc, argv, 100000, 1, 1000000000);
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    struct itimerspec its = {.it_value = {1, 0}};
    struct lwb_clock t0 = lwb_clock_now();
    for (long i = 0; i < n; i++) {
        timer_t id;
        if (timer_create(CLOCK_MONOTONIC, &sev, &id))
            lwb_die("timer_create: %s", strerror(errno));
        if (timer_settime(id, 0, &its, NULL))
            lwb_die("timer_settime: %s", strerror(errno));
        if (timer_delete(id))
            lwb_die("timer_delete: %s", strerror(errno));
    }
    struct lwb_clock d = lwb_clock_since(t0);
    lwb_report("timer_churn", n, d, NULL);
    return 0;
}
