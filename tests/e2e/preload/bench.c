/* bench.c — micro checks for the shim's overhead: thread churn
 * (create+join), condition-variable ping-pong (2 threads), contended mutex
 * (4 threads). Prints "name seconds". Run plain, under fwd.so and under
 * libleakwatch.so (bench.py does that and prints ratios). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *nothing(void *a)
{
    return a;
}

static double churn(int n)
{
    double t0 = now();
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_create(&t, NULL, nothing, NULL);
        pthread_join(t, NULL);
    }
    return now() - t0;
}

static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pc = PTHREAD_COND_INITIALIZER;
static int turn, rounds;

static void *pong(void *a)
{
    (void)a;
    pthread_mutex_lock(&pm);
    for (int i = 0; i < rounds; i++) {
        while (turn != 1)
            pthread_cond_wait(&pc, &pm);
        turn = 0;
        pthread_cond_signal(&pc);
    }
    pthread_mutex_unlock(&pm);
    return NULL;
}

static double pingpong(int n)
{
    rounds = n;
    turn = 0;
    pthread_t t;
    pthread_create(&t, NULL, pong, NULL);
    double t0 = now();
    pthread_mutex_lock(&pm);
    for (int i = 0; i < n; i++) {
        turn = 1;
        pthread_cond_signal(&pc);
        while (turn != 0)
            pthread_cond_wait(&pc, &pm);
    }
    pthread_mutex_unlock(&pm);
    double d = now() - t0;
    pthread_join(t, NULL);
    return d;
}

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;
static int per_thread;

static void *hammer(void *a)
{
    (void)a;
    for (int i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&cm);
        counter++;
        pthread_mutex_unlock(&cm);
    }
    return NULL;
}

static double contended(int n)
{
    per_thread = n;
    pthread_t t[4];
    double t0 = now();
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return now() - t0;
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    if (!strcmp(which, "churn") || !strcmp(which, "all"))
        printf("churn %.6f\n", churn(20000));
    if (!strcmp(which, "pingpong") || !strcmp(which, "all"))
        printf("pingpong %.6f\n", pingpong(200000));
    if (!strcmp(which, "mutex") || !strcmp(which, "all"))
        printf("mutex %.6f\n", contended(500000));
    return 0;
}
