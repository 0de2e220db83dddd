/* udp_shared.c — a metrics UDP socket created by main and used by many
 * short-lived request threads: its owner is their common ancestor (main's
 * scope), so it is not leaked when the requests end. A per-request socket
 * used only inside one request still leaks with it.
 *
 * usage: udp_shared DIR   (snapshot DIR/live.json once the requests ended)
 * prints metrics_fd=N, request_fd=N (the per-request leak), sink_port=N */
#define _GNU_SOURCE
#include <leakwatch.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int metrics_fd;
static struct sockaddr_in sink;

static void *handle_request(void *arg)
{
    int leak = arg != NULL;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "requests:1|c");
    sendto(metrics_fd, msg, (size_t)n, 0, (struct sockaddr *)&sink, sizeof sink);
    if (leak) { /* a per-request socket, used here only and never closed */
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&sink, sizeof sink);
        printf("request_fd=%d\n", fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char live[512];
    snprintf(live, sizeof live, "%s/live.json", argv[1]);
    int sinkfd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sink, 0, sizeof sink);
    sink.sin_family = AF_INET;
    sink.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sink;
    if (bind(sinkfd, (struct sockaddr *)&sink, sizeof sink) || getsockname(sinkfd, (struct sockaddr *)&sink, &len))
        return 3;
    metrics_fd = socket(AF_INET, SOCK_DGRAM, 0);
    printf("metrics_fd=%d\nsink_port=%d\n", metrics_fd, ntohs(sink.sin_port));
    for (int i = 0; i < 6; i++) {
        pthread_t t;
        pthread_create(&t, NULL, handle_request, i == 5 ? (void *)1 : NULL);
        pthread_join(t, NULL);
    }
    usleep(400 * 1000);
    if (leakwatch_snapshot(live) != 0)
        return 3;
    close(metrics_fd);
    close(sinkfd);
    return 0;
}
