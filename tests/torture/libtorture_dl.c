/* libtorture_dl.c — a library whose constructor starts threads (one
 * detached that exits at once, one joinable parked until the destructor)
 * so dlopen/dlclose in a loop exercises thread records whose start
 * routines live in code that is later unmapped. Test code only. */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop;
static pthread_t parked;
static int started;

static volatile int quick_tid;

static void *quick(void *arg)
{
    __atomic_store_n(&quick_tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    return arg;
}

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
    quick_tid = 0;
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
    /* the detached thread may not even have reached quick() yet (a loaded
     * machine, or a shim's trampoline first): wait until it has run and is
     * gone before this library's code is unmapped (bounded: 10 s) */
    for (int i = 0; i < 100000; i++) {
        int tid = __atomic_load_n(&quick_tid, __ATOMIC_SEQ_CST);
        if (tid && syscall(SYS_tgkill, getpid(), tid, 0) != 0)
            break;
        usleep(100);
    }
    quick_tid = 0;
}

int torture_dl_ping(void)
{
    return started ? 42 : 0;
}
