/* epoll_server.c — a Server opens a listener and an epoll set and starts an
 * event-loop thread in epoll_wait; the thread that owns the Server returns
 * without stopping it. The loop thread leaks, and so do the listener and
 * the epoll instance: a listening socket is no exception once nobody live
 * waits on it.
 * mode "stopped": the owner stops and joins the loop and closes both
 * (control: nothing leaks).
 *
 * usage: epoll_server MODE DIR   (snapshot DIR/live.json)
 * prints listen_fd=N, epoll_fd=N, loop_tid=N */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct server {
    int lfd, epfd, stopfd;
    pthread_t loop;
};

static void *event_loop(void *arg)
{
    struct server *s = arg;
    printf("loop_tid=%ld\n", (long)syscall(SYS_gettid));
    for (;;) {
        struct epoll_event ev[8];
        int n = epoll_wait(s->epfd, ev, 8, -1);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == s->stopfd)
                return NULL;
            int c = accept(s->lfd, NULL, NULL);
            if (c >= 0)
                close(c);
        }
    }
}

static void server_start(struct server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 16))
        return;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->stopfd = eventfd(0, EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->lfd};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
    ev.data.fd = s->stopfd;
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev);
    printf("listen_fd=%d\nepoll_fd=%d\n", s->lfd, s->epfd);
    pthread_create(&s->loop, NULL, event_loop, s);
}

static void server_stop(struct server *s)
{
    uint64_t one = 1;
    if (write(s->stopfd, &one, sizeof one) != sizeof one)
        return;
    pthread_join(s->loop, NULL);
    close(s->epfd);
    close(s->stopfd);
    close(s->lfd);
}

static struct server srv;

static void *owner_main(void *arg)
{
    server_start(&srv);
    usleep(20 * 1000);
    if (arg)
        server_stop(&srv);
    return NULL; /* leaky mode: returns with the server still running */
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char live[512];
    snprintf(live, sizeof live, "%s/live.json", argv[2]);
    int stop = strcmp(argv[1], "stopped") == 0;
    pthread_t t;
    pthread_create(&t, NULL, owner_main, stop ? (void *)1 : NULL);
    pthread_join(t, NULL);
    usleep(400 * 1000);
    return leakwatch_snapshot(live) != 0 ? 3 : 0;
}
