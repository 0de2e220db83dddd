/* unjoined_exit.c — threads that finish just before main returns, never
 * joined nor detached: at the exit snapshot nothing can join them any more,
 * so they are unjoined with no grace period (ThreadSanitizer's "thread
 * leak", its tests thread_leak3.c / thread_leak5.c).
 *
 * usage: unjoined_exit N   (N threads, default 1; N=0 is the control:
 * one thread, joined) */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static void *quick(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1;
    pthread_t t;
    if (n == 0) {
        pthread_create(&t, NULL, quick, NULL);
        pthread_join(t, NULL);
        return 0;
    }
    for (int i = 0; i < n; i++)
        pthread_create(&t, NULL, quick, NULL);
    usleep(200 * 1000);
    return 0;
}
