/* client.c — load generator for the demo service: sends N requests to
 * 127.0.0.1:PORT, one connection each, and checks every reply.
 *
 * It never runs under the preload in the demo; it must never hang: every
 * socket has a receive/send timeout.
 *
 * Usage: client PORT N [PATH]     (PATH defaults to /report)
 * Exit: 0 all replies were "200 ...", 1 a request failed, 2 usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int one_request(int port, const char *path, char *reply, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s\n", path);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t used = 0;
    for (;;) {
        ssize_t r = read(fd, reply + used, cap - 1 - used);
        if (r <= 0)
            break;
        used += (size_t)r;
        if (used == cap - 1)
            break;
    }
    reply[used] = '\0';
    close(fd);
    return used > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PORT N [PATH]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int n = atoi(argv[2]);
    const char *path = argc == 4 ? argv[3] : "/report";
    if (port <= 0 || port > 65535 || n < 0) {
        fprintf(stderr, "client: bad port or count\n");
        return 2;
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char reply[256];
        if (one_request(port, path, reply, sizeof reply) == 0 && strncmp(reply, "200", 3) == 0)
            ok++;
        else
            fprintf(stderr, "client: request %d to %s failed\n", i + 1, path);
    }
    printf("client: %d/%d requests to %s answered\n", ok, n, path);
    return ok == n ? 0 : 1;
}
