/* chanfix.c — programs that make asking for a snapshot hard (run.py drives
 * them under the preload; each prints what it saw, and most wait for a
 * line or EOF on stdin before they exit):
 *   sleep3           sleep(3) in main; prints how long it really slept
 *   wait             print "ready", wait for stdin
 *   leak             start a thread that blocks forever, then wait (a leak
 *                    at exit)
 *   ownusr2 N        own SIGUSR2 (a handler); wait until it ran N times
 *   rewrite          overwrite argv and the environment block in place
 *                    (redis, nginx set their title this way), then wait
 *   masks            set and read masks every way (pthread_sigmask,
 *                    sigprocmask, a new thread's inherited mask,
 *                    sigpending) and print what the program sees of SIGUSR2
 *   sigwait          block SIGUSR2, print "ready", take it with sigwait
 *   daemon PIDFILE   fork; the child setsid()s, closes every descriptor up
 *                    to the limit (close() loop, then a raw close_range),
 *                    reopens 0-2 on /dev/null, writes "PID fds F" to
 *                    PIDFILE and sleeps until PIDFILE.stop exists
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void ready(void)
{
    printf("ready\n");
    fflush(stdout);
}

static void wait_stdin(void)
{
    char buf[64];
    while (read(0, buf, sizeof buf) > 0 && !memchr(buf, '\n', sizeof buf))
        ;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *forever(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

static atomic_int usr2_hits;
static void on_usr2(int sig)
{
    (void)sig;
    atomic_fetch_add(&usr2_hits, 1);
}

static int has2(const sigset_t *s)
{
    return sigismember(s, SIGUSR2) == 1;
}

static void *mask_thread(void *arg)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    printf("thread inherits %d\n", has2(&cur));
    (void)arg;
    return NULL;
}

static int mode_masks(void)
{
    sigset_t one, old, cur, pend;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    printf("start %d\n", has2(&cur));
    pthread_sigmask(SIG_BLOCK, &one, &old);
    printf("block old %d\n", has2(&old));
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    printf("after block %d\n", has2(&cur));
    pthread_t t;
    pthread_create(&t, NULL, mask_thread, NULL);
    pthread_join(t, NULL);
    sigprocmask(SIG_UNBLOCK, &one, &old);
    printf("unblock old %d\n", has2(&old));
    sigemptyset(&cur);
    sigprocmask(SIG_SETMASK, &cur, &old);
    printf("setmask old %d\n", has2(&old));
    sigfillset(&cur);
    pthread_sigmask(SIG_SETMASK, &cur, &old);
    printf("fill old %d\n", has2(&old));
    pthread_create(&t, NULL, mask_thread, NULL);
    pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &old, &cur);
    printf("restore old %d\n", has2(&cur));
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    printf("end %d\n", has2(&cur));
    sigpending(&pend);
    printf("pending %d\n", has2(&pend));
    return 0;
}

static int mode_sigwait(void)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &one, NULL);
    ready();
    int sig = 0;
    int r = sigwait(&one, &sig);
    printf("sigwait %d sig %d\n", r, sig);
    return 0;
}

static int mode_daemon(const char *pidfile)
{
    pid_t p = fork();
    if (p < 0)
        return 1;
    if (p > 0)
        return 0; /* the parent leaves at once, as a daemon's does */
    setsid();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    for (long fd = 0; fd < (long)rl.rlim_cur; fd++)
        close((int)fd);
    int a = open("/dev/null", O_RDWR), b = open("/dev/null", O_RDWR), c = open("/dev/null", O_RDWR);
    /* the kind of loop that goes past every hook */
    syscall(SYS_close_range, 3u, ~0u, 0u);
    char stop[4096];
    snprintf(stop, sizeof stop, "%s.stop", pidfile);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return 1;
    fprintf(f, "%d fds %d %d %d\n", (int)getpid(), a, b, c);
    fclose(f);
    rename(tmp, pidfile);
    for (int i = 0; i < 600 && access(stop, F_OK) != 0; i++) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "sleep3")) {
        ready();
        double t0 = now_s();
        errno = 0;
        unsigned left = sleep(3);
        int e = errno;
        printf("slept %.3f left %u errno %d\n", now_s() - t0, left, e);
        return 0;
    }
    if (!strcmp(m, "wait")) {
        ready();
        wait_stdin();
        return 0;
    }
    if (!strcmp(m, "leak")) {
        pthread_t t;
        pthread_create(&t, NULL, forever, NULL);
        ready();
        wait_stdin();
        return 0;
    }
    if (!strcmp(m, "ownusr2") && argc > 2) {
        int n = atoi(argv[2]);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr2;
        sigaction(SIGUSR2, &sa, NULL);
        ready();
        for (int i = 0; i < 2000 && atomic_load(&usr2_hits) < n; i++) {
            struct timespec ts = {0, 5 * 1000000};
            nanosleep(&ts, NULL);
        }
        printf("got %d\n", atomic_load(&usr2_hits));
        fflush(stdout);
        wait_stdin();
        return 0;
    }
    if (!strcmp(m, "rewrite")) {
        /* argv strings and the environment block are one contiguous area:
         * overwrite all of it, as setproctitle() emulations do */
        char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
        for (char **e = environ; *e; e++)
            if (*e == end + 1)
                end = *e + strlen(*e);
        memset(start, 0, (size_t)(end - start));
        snprintf(start, (size_t)(end - start), "chanfix: rewritten title");
        static char *none[] = {NULL};
        environ = none;
        ready();
        wait_stdin();
        return 0;
    }
    if (!strcmp(m, "masks"))
        return mode_masks();
    if (!strcmp(m, "sigwait"))
        return mode_sigwait();
    if (!strcmp(m, "daemon") && argc > 2)
        return mode_daemon(argv[2]);
    fprintf(stderr, "usage: chanfix sleep3|wait|leak|ownusr2 N|rewrite|daemon PIDFILE\n");
    return 2;
}
