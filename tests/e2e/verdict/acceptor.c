/* acceptor.c — a long-lived acceptor thread hands each connection to a
 * per-connection thread that serves it and forgets to close it: the
 * connection belongs to the thread that used it, and leaks with it. The
 * listening socket is used by the live acceptor only: not leaked.
 *
 * usage: acceptor DIR   (snapshot DIR/live.json after 3 connections)
 * prints listen_fd=N, conn_fd=N (one per connection) */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NCONN 3
static int lfd;

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 && write(fd, buf, (size_t)n) != n)
        return NULL;
    return NULL; /* the bug: no close(fd) */
}

static void *acceptor_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        printf("conn_fd=%d\n", fd);
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char live[512];
    snprintf(live, sizeof live, "%s/live.json", argv[1]);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 16) ||
        getsockname(lfd, (struct sockaddr *)&a, &len))
        return 3;
    printf("listen_fd=%d\n", lfd);
    pthread_t acc;
    pthread_create(&acc, NULL, acceptor_main, NULL);
    pthread_detach(acc);
    for (int i = 0; i < NCONN; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        char buf[8];
        if (connect(c, (struct sockaddr *)&a, sizeof a) || write(c, "ping", 4) != 4 || read(c, buf, 4) != 4)
            return 3;
        close(c);
    }
    usleep(400 * 1000);
    return leakwatch_snapshot(live) != 0 ? 3 : 0;
}
