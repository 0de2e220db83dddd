/* wl_tcp_pingpong.c — workload: one-byte echo ping-pong over a loopback TCP
 * connection (TCP_NODELAY), N round trips. Measures a shim's socket
 * creation, accept/connect and blocking recv/send paths. */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "lw_bench_net.h"

int main(int argc, char **argv)
{
    long rounds = lwb_size(argc, argv, 30000, 1, 1000000000);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0)
        lwb_die("socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &alen))
        lwb_die("bind/listen on 127.0.0.1: %s", strerror(errno));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a))
        lwb_die("connect: %s", strerror(errno));
    int s = accept(ls, NULL, NULL);
    if (s < 0)
        lwb_die("accept: %s", strerror(errno));
    close(ls);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    lwb_pingpong("tcp_pingpong", c, s, rounds);
    return 0;
}
