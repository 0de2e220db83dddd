/* libtorture_dl.c — a library whose constructor starts threads (one
 * detached that exits at once, one joinable parked until the destructor)
 * so dlopen/dlclose in a loop exercises thread records whose start
 * routines live in code that is later unmapped. Test code only. */
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop;
static pthread_t parked;
static int started;

static void *quick(void *arg) { return arg; }

static void *park(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return arg;
}

__attribute__((constructor)) static void dl_init(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, quick, NULL) == 0)
        pthread_detach(t);
    stop = 0;
    started = pthread_create(&parked, NULL, park, NULL) == 0;
}

__attribute__((destructor)) static void dl_fini(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(parked, NULL);
    /* the detached thread may still be running quick(): give it time to
     * leave this library's code before it is unmapped */
    usleep(2000);
}

int torture_dl_ping(void)
{
    return started ? 42 : 0;
}
