/* libdl_fixture.c — a library the fixture dlopens; it starts a thread. */
#include <pthread.h>
#include <unistd.h>

__attribute__((noinline)) void *lw_fixture_thread(void *arg)
{
    (void)arg;
    for (;;)
        sleep(1);
    return NULL;
}

void lw_fixture_start(void)
{
    pthread_t t;
    pthread_create(&t, NULL, lw_fixture_thread, NULL);
    pthread_detach(t);
}
