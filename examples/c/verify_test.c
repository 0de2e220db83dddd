/* verify_test.c — using leakwatch.h inside a test binary, the way goleak's
 * VerifyNone is used in Go tests, for the README and `make test-examples`.
 *
 * Each test runs under its own labelled context; leakwatch_verify_ctx()
 * checks only that test's threads, so one leaking test does not blame the
 * others. test_leaky_cache leaves a refresher thread behind; the report
 * names the test by its label. Without the preload every call is a no-op
 * and all tests "pass" (exit 0); under it, exit 1 naming the leaky test.
 * Built with -rdynamic so the verify report (which names functions with
 * dladdr, in-process) can name cache_refresher_main.
 */
#include <leakwatch.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static volatile int stop_refresher;

void *cache_refresher_main(void *arg)
{
    (void)arg;
    const struct timespec tick = {0, 20 * 1000 * 1000};
    while (!stop_refresher)
        nanosleep(&tick, NULL);
    return NULL;
}

static void *adder_main(void *arg)
{
    ++*(int *)arg;
    return NULL;
}

static void test_joined_worker(void)
{
    int v = 1;
    pthread_t t;
    pthread_create(&t, NULL, adder_main, &v);
    pthread_join(t, NULL);
}

void test_leaky_cache(void)
{
    pthread_t t;
    pthread_create(&t, NULL, cache_refresher_main, NULL);
    pthread_detach(t); /* the bug: nobody ever sets stop_refresher */
}

/* Runs one test under a context labelled with its name and checks it. */
static int run_test(const char *name, void (*fn)(void))
{
    leakwatch_ctx_t ctx = leakwatch_ctx_new(name);
    leakwatch_ctx_enter(ctx);
    fn();
    leakwatch_ctx_leave();
    int left = leakwatch_verify_ctx(ctx, 300);
    leakwatch_ctx_cancel(ctx);
    printf("%s: %s (%d thread(s) left)\n", name, left ? "LEAKED" : "ok", left);
    return left != 0;
}

int main(void)
{
    int failed = 0;
    failed += run_test("test_joined_worker", test_joined_worker);
    failed += run_test("test_leaky_cache", test_leaky_cache);
    printf("leakwatch %s; %d test(s) leaked\n", leakwatch_active() ? "active" : "absent", failed);
    return failed ? 1 : 0;
}
