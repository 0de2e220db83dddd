/* wl_socketpair_pingpong.c — workload: one-byte ping-pong over an AF_UNIX
 * socketpair, N round trips. The cheapest blocking socket round trip, so the
 * most sensitive to per-call overhead in recv/send hooks. */
#include "lw_bench_net.h"

int main(int argc, char **argv)
{
    long rounds = lwb_size(argc, argv, 50000, 1, 1000000000);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        lwb_die("socketpair: %s", strerror(errno));
    lwb_pingpong("socketpair_pingpong", sv[0], sv[1], rounds);
    return 0;
}
