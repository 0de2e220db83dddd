/* eventfd_pool.c — the owner's event loop reads an eventfd that pool
 * threads (started by request threads) write to when they finish a job:
 * the eventfd belongs to the common ancestor of its users (main's scope),
 * never to whichever thread touched it last.
 *
 * usage: eventfd_pool DIR   (snapshot DIR/live.json after the requests)
 * prints efd=N */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int efd;
static volatile int stopping;

static void *loop_main(void *arg)
{
    (void)arg;
    while (!stopping) {
        struct pollfd p = {.fd = efd, .events = POLLIN};
        if (poll(&p, 1, 50) == 1) {
            uint64_t v;
            if (read(efd, &v, sizeof v) != sizeof v)
                break;
        }
    }
    return NULL;
}

static void *pool_worker(void *arg)
{
    (void)arg;
    usleep(2000);
    uint64_t one = 1;
    if (write(efd, &one, sizeof one) != sizeof one)
        return NULL;
    return NULL;
}

static void *handle_request(void *arg)
{
    (void)arg;
    pthread_t w;
    pthread_create(&w, NULL, pool_worker, NULL);
    pthread_join(w, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char live[512];
    snprintf(live, sizeof live, "%s/live.json", argv[1]);
    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    printf("efd=%d\n", efd);
    pthread_t loop;
    pthread_create(&loop, NULL, loop_main, NULL);
    for (int i = 0; i < 5; i++) {
        pthread_t r;
        pthread_create(&r, NULL, handle_request, NULL);
        pthread_join(r, NULL);
    }
    /* the loop stops reading; the last use is a pool thread's write, from
     * a request that ended (the last toucher; not the owner) */
    stopping = 1;
    pthread_join(loop, NULL);
    pthread_t r;
    pthread_create(&r, NULL, handle_request, NULL);
    pthread_join(r, NULL);
    usleep(400 * 1000);
    if (leakwatch_snapshot(live) != 0)
        return 3;
    close(efd);
    return 0;
}
