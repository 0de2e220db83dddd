/* libearly_fixture.c — a library whose constructor starts a thread, linked
 * into early.c so it may run before leakwatch initialises. */
#include <pthread.h>
#include <unistd.h>

__attribute__((noinline)) void *lw_early_thread(void *arg)
{
    (void)arg;
    for (;;)
        usleep(10000);
    return NULL;
}

__attribute__((constructor)) static void lw_early_ctor(void)
{
    pthread_t t;
    pthread_create(&t, NULL, lw_early_thread, NULL);
    pthread_detach(t);
}
