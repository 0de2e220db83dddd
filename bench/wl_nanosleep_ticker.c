/* wl_nanosleep_ticker.c — workload: a ticker thread sleeping N times in
 * nanosleep(50 us), like a poller loop. Wall time is dominated by the sleep
 * and timer slack; the CPU time per tick (cpu_ns in the result line) is where
 * a shim's cost shows. */
#include "lw_bench.h"

int main(int argc, char **argv)
{
    long n = lwb_size(argc, argv, 4000, 1, 1000000000);
    struct timespec tick = {0, 50000};
    struct lwb_clock t0 = lwb_clock_now();
    for (long i = 0; i < n; i++) {
        struct timespec rem = tick;
        while (nanosleep(&rem, &rem) != 0)
            if (errno != EINTR)
                lwb_die("nanosleep: %s", strerror(errno));
    }
    struct lwb_clock d = lwb_clock_since(t0);
    lwb_report("nanosleep_ticker", n, d, NULL);
    return 0;
}
