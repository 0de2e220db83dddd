/* timerfd_poller.c — a request arms a periodic timerfd and starts a poller
 * that reads it forever; the request returns. The timerfd is one resource:
 * one timer finding (never also an fd), beside the leaked poller thread.
 *
 * usage: timerfd_poller DIR   (snapshot DIR/live.json)
 * prints tfd=N, poller_tid=N */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void *poller_main(void *arg)
{
    int tfd = (int)(intptr_t)arg;
    printf("poller_tid=%ld\n", (long)syscall(SYS_gettid));
    for (;;) {
        uint64_t n;
        if (read(tfd, &n, sizeof n) != sizeof n)
            return NULL;
    }
}

static void *handle_request(void *arg)
{
    (void)arg;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {.it_interval = {0, 20 * 1000 * 1000}, .it_value = {0, 20 * 1000 * 1000}};
    timerfd_settime(tfd, 0, &its, NULL);
    printf("tfd=%d\n", tfd);
    pthread_t p;
    pthread_create(&p, NULL, poller_main, (void *)(intptr_t)tfd);
    pthread_detach(p);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char live[512];
    snprintf(live, sizeof live, "%s/live.json", argv[1]);
    pthread_t r;
    pthread_create(&r, NULL, handle_request, NULL);
    pthread_join(r, NULL);
    usleep(400 * 1000);
    return leakwatch_snapshot(live) != 0 ? 3 : 0;
}
