/* wl_poll_pingpong.c — workload: the socketpair ping-pong of
 * wl_socketpair_pingpong with a poll() before every recv, the shape of an
 * event loop. Each side alternates between two blocking call sites; a shim
 * that caches one blocked stack per thread unwinds on every wait here. */
#include "lw_bench_net.h"

int main(int argc, char **argv)
{
    long rounds = lwb_size(argc, argv, 30000, 1, 1000000000);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        lwb_die("socketpair: %s", strerror(errno));
    lwb_poll_first = 1;
    lwb_pingpong("poll_pingpong", sv[0], sv[1], rounds);
    return 0;
}
