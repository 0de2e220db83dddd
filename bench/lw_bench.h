/* lw_bench.h — helpers shared by the benchmark workloads in bench/.
 *
 * Owns: argument parsing, the monotonic clock and the one result line every
 * workload prints ("bench NAME ops=N elapsed_ns=T ..."), which bench/run.py
 * parses. Must never depend on leakwatch: the same binaries run plain, under
 * the floor interposer, under leakwatch, under ThreadSanitizer and valgrind.
 */
#ifndef LW_BENCH_H
#define LW_BENCH_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t lwb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) of the whole process so far. Reported beside the
 * wall time because on a shared machine it moves far less than wall time
 * when other processes compete for the CPUs. */
static inline uint64_t lwb_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* One measured interval: wall and CPU time. */
struct lwb_clock {
    uint64_t wall, cpu;
};

static inline struct lwb_clock lwb_clock_now(void)
{
    struct lwb_clock c = {lwb_now_ns(), lwb_cpu_ns()};
    return c;
}

static inline struct lwb_clock lwb_clock_since(struct lwb_clock start)
{
    struct lwb_clock now = lwb_clock_now(), d = {now.wall - start.wall, now.cpu - start.cpu};
    return d;
}

static inline void lwb_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* A failed pthread/libc call in a benchmark is a broken benchmark: stop
 * loudly rather than report a meaningless time. */
#define LWB_CHECK(call)                                                      \
    do {                                                                     \
        int lwb_rc_ = (call);                                                \
        if (lwb_rc_ != 0)                                                    \
            lwb_die("%s:%d: %s failed: %s", __FILE__, __LINE__, #call,      \
                    strerror(lwb_rc_ > 0 ? lwb_rc_ : errno));                \
    } while (0)

/* argv[1] is the size (operations, threads...); `def` when absent. */
static inline long lwb_size(int argc, char **argv, long def, long min, long max)
{
    if (argc < 2)
        return def;
    char *end = NULL;
    errno = 0;
    long v = strtol(argv[1], &end, 10);
    if (errno || end == argv[1] || *end || v < min || v > max)
        lwb_die("size must be an integer in [%ld, %ld], got '%s'", min, max, argv[1]);
    return v;
}

/* The one line bench/run.py reads. `extra` may be NULL. */
static inline void lwb_report(const char *name, long ops, struct lwb_clock d, const char *extra)
{
    double s = (double)d.wall / 1e9;
    printf("bench %s ops=%ld elapsed_ns=%llu cpu_ns=%llu ops_per_s=%.0f%s%s\n", name, ops,
           (unsigned long long)d.wall, (unsigned long long)d.cpu, s > 0 ? (double)ops / s : 0.0,
           extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

#endif
