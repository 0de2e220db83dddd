/* lw_bench_net.h — the byte ping-pong shared by the socket workloads: an echo
 * thread reads one byte and writes it back, the main thread sends and waits
 * for the echo, N times. Uses recv/send (the calls a shim watches for sockets)
 * and never leaves a thread or fd behind. */
#ifndef LW_BENCH_NET_H
#define LW_BENCH_NET_H

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lw_bench.h"

struct lwb_echo {
    int fd;
    long rounds;
};

/* poll before every recv, as an event loop does: two waits per receive at
 * two call sites (wl_poll_pingpong) */
static int lwb_poll_first;

static inline void lwb_xfer(int fd, char *b, int is_send)
{
    for (;;) {
        if (!is_send && lwb_poll_first) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                lwb_die("poll: %s", strerror(errno));
        }
        ssize_t r = is_send ? send(fd, b, 1, 0) : recv(fd, b, 1, 0);
        if (r == 1)
            return;
        if (r < 0 && errno == EINTR)
            continue;
        lwb_die("%s: %s", is_send ? "send" : "recv", r == 0 ? "peer closed" : strerror(errno));
    }
}

static inline void *lwb_echo_main(void *arg)
{
    struct lwb_echo *e = arg;
    char b;
    for (long i = 0; i < e->rounds; i++) {
        lwb_xfer(e->fd, &b, 0);
        lwb_xfer(e->fd, &b, 1);
    }
    return NULL;
}

/* Runs the ping-pong between `client` (this thread) and `server` (an echo
 * thread), closes both, prints the result line as `name`. */
static inline void lwb_pingpong(const char *name, int client, int server, long rounds)
{
    struct lwb_echo e = {server, rounds};
    pthread_t t;
    LWB_CHECK(pthread_create(&t, NULL, lwb_echo_main, &e));
    char b = 'x';
    struct lwb_clock t0 = lwb_clock_now();
    for (long i = 0; i < rounds; i++) {
        lwb_xfer(client, &b, 1);
        lwb_xfer(client, &b, 0);
    }
    struct lwb_clock d = lwb_clock_since(t0);
    LWB_CHECK(pthread_join(t, NULL));
    close(client);
    close(server);
    lwb_report(name, rounds, d, NULL);
}

#endif
