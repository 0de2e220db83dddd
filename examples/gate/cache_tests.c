/* cache_tests.c — a tiny unit-test binary for the CI-gate half of the demo.
 *
 * All its tests pass, but test_cache_warmup starts a background janitor
 * thread and never stops it: the kind of leak a test suite leaves behind
 * unnoticed. `leakwatch-gate -- cache_tests` fails on it;
 * `leakwatch-gate --suppressions=examples/gate/leakwatch.supp -- cache_tests`
 * passes. With --clean the janitor is stopped and joined (no leak).
 *
 * It must never hang: the janitor is only ever left running on purpose.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool stop;
static int cache_entries;

static void *cache_janitor_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&cv, &mu, &until);
        if (cache_entries > 0)
            cache_entries--; /* evict one entry per second */
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static pthread_t janitor;

static int test_cache_put(void)
{
    cache_entries = 3;
    return cache_entries == 3;
}

static int test_cache_warmup(void)
{
    return pthread_create(&janitor, NULL, cache_janitor_main, NULL) == 0;
}

static void *adder_main(void *arg)
{
    int *v = arg;
    *v += 1;
    return NULL;
}

static int test_joined_helper(void)
{
    int v = 41;
    pthread_t t;
    if (pthread_create(&t, NULL, adder_main, &v) != 0)
        return 0;
    pthread_join(t, NULL);
    return v == 42;
}

int main(int argc, char **argv)
{
    bool clean = argc > 1 && strcmp(argv[1], "--clean") == 0;
    struct {
        const char *name;
        int (*fn)(void);
    } tests[] = {
        {"test_cache_put", test_cache_put},
        {"test_cache_warmup", test_cache_warmup},
        {"test_joined_helper", test_joined_helper},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int ok = tests[i].fn();
        printf("%s: %s\n", tests[i].name, ok ? "ok" : "FAILED");
        failed += !ok;
    }
    if (clean) {
        pthread_mutex_lock(&mu);
        stop = true;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        pthread_join(janitor, NULL);
    }
    printf("%d tests, %d failed\n", (int)(sizeof tests / sizeof tests[0]), failed);
    return failed ? 1 : 0;
}
