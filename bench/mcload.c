/* mcload.c — a small memcached load generator for the macro benchmark.
 *
 * One thread, epoll, C connections to a memcached text-protocol server, each
 * with one request in flight (closed loop): a get/set mix over K keys with
 * V-byte values, for a fixed duration after a warm-up. Prints the bench
 * result line with ops/s and p50/p99 latency. Owns nothing but its sockets;
 * must never run under the shim itself (bench/run.py starts it plain).
 *
 * Usage: mcload [-h ADDR] -p PORT [-c CONNS] [-d SECONDS] [-w WARMUP_S]
 *               [-g GET_PERCENT] [-k KEYS] [-v VALUE_BYTES] [-P SERVER_PID]
 * With -P, cpu_ns in the result line is the server's CPU time (user+system,
 * all threads, from /proc/PID/stat) over the measured interval: per request it
 * is much steadier than throughput on a machine shared with other work.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lw_bench.h"

#define MAXCONN 256
#define BUFSZ 8192
#define HIST_US 200000 /* 1 us buckets up to 200 ms, then one overflow bucket */

struct conn {
    int fd;
    int is_get;
    size_t have;
    uint64_t sent_at;
    char buf[BUFSZ];
};

static struct conn conns[MAXCONN];
static uint32_t hist[HIST_US + 1];
static char value[4096];
static int nkeys = 1000, vlen = 100, get_pct = 90;
static unsigned rng = 12345;

static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static void send_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            /* Requests are tiny; a full socket buffer means a stuck server. */
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (w <= 0)
            lwb_die("mcload: send: %s", strerror(errno));
        b += w;
        n -= (size_t)w;
    }
}

static void issue(struct conn *c)
{
    char req[4300];
    int key = (int)(next_rand() % (unsigned)nkeys), n;
    c->is_get = (int)(next_rand() % 100) < get_pct;
    if (c->is_get)
        n = snprintf(req, sizeof req, "get key:%06d\r\n", key);
    else
        n = snprintf(req, sizeof req, "set key:%06d 0 0 %d\r\n%s\r\n", key, vlen, value);
    c->have = 0;
    c->sent_at = lwb_now_ns();
    send_all(c->fd, req, (size_t)n);
}

static int ends_with(const struct conn *c, const char *s)
{
    size_t n = strlen(s);
    return c->have >= n && memcmp(c->buf + c->have - n, s, n) == 0;
}

/* 1: complete reply, 0: need more, -1: server error line. */
static int reply_state(const struct conn *c)
{
    if (c->have >= 5 && (memcmp(c->buf, "ERROR", 5) == 0 || memcmp(c->buf, "SERVER", 6) == 0 ||
                         memcmp(c->buf, "CLIENT", 6) == 0))
        return ends_with(c, "\r\n") ? -1 : 0;
    if (c->is_get)
        return ends_with(c, "END\r\n"); /* values are all 'x': no false END */
    return ends_with(c, "\r\n");
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        lwb_die("mcload: bad address '%s'", host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a))
        lwb_die("mcload: connect %s:%d: %s", host, port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Blocking request/reply on conns[0], used to load every key first. */
static void prefill(void)
{
    struct conn *c = &conns[0];
    for (int k = 0; k < nkeys; k++) {
        char req[4300];
        int n = snprintf(req, sizeof req, "set key:%06d 0 0 %d\r\n%s\r\n", k, vlen, value);
        c->is_get = 0;
        c->have = 0;
        send_all(c->fd, req, (size_t)n);
        while (reply_state(c) == 0) {
            ssize_t r = recv(c->fd, c->buf + c->have, BUFSZ - c->have, 0);
            if (r <= 0 && !(r < 0 && errno == EINTR))
                lwb_die("mcload: prefill: %s", r == 0 ? "server closed" : strerror(errno));
            if (r > 0)
                c->have += (size_t)r;
        }
        if (reply_state(c) < 0)
            lwb_die("mcload: prefill: server said %.*s", (int)c->have, c->buf);
    }
}

/* utime + stime of a whole process in ns, 0 if unreadable. */
static uint64_t proc_cpu_ns(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

static long opt_long(const char *s, long min, long max, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < min || v > max)
        lwb_die("mcload: %s must be in [%ld, %ld], got '%s'", what, min, max, s);
    return v;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, nconn = 16, opt;
    long server_pid = 0;
    double dur = 3, warm = 0.5;
    while ((opt = getopt(argc, argv, "h:p:c:d:w:g:k:v:P:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = (int)opt_long(optarg, 1, 65535, "-p PORT"); break;
        case 'c': nconn = (int)opt_long(optarg, 1, MAXCONN, "-c CONNS"); break;
        case 'd': dur = (double)opt_long(optarg, 1, 3600, "-d SECONDS"); break;
        case 'w': warm = (double)opt_long(optarg, 0, 3600, "-w WARMUP_S"); break;
        case 'g': get_pct = (int)opt_long(optarg, 0, 100, "-g GET_PERCENT"); break;
        case 'k': nkeys = (int)opt_long(optarg, 1, 999999, "-k KEYS"); break;
        case 'v': vlen = (int)opt_long(optarg, 1, (long)sizeof value - 1, "-v VALUE_BYTES"); break;
        case 'P': server_pid = opt_long(optarg, 1, 1L << 30, "-P SERVER_PID"); break;
        default: lwb_die("usage: mcload [-h ADDR] -p PORT [-c CONNS] [-d S] [-w S] [-g %%] [-k KEYS] [-v BYTES]");
        }
    }
    if (!port)
        lwb_die("mcload: -p PORT is required");
    memset(value, 'x', (size_t)vlen);
    value[vlen] = '\0';

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        lwb_die("mcload: epoll_create1: %s", strerror(errno));
    for (int i = 0; i < nconn; i++)
        conns[i].fd = connect_to(host, port);
    prefill();
    for (int i = 0; i < nconn; i++) {
        fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev))
            lwb_die("mcload: epoll_ctl: %s", strerror(errno));
        issue(&conns[i]);
    }

    uint64_t start = lwb_now_ns();
    uint64_t t_meas = start + (uint64_t)(warm * 1e9), t_end = t_meas + (uint64_t)(dur * 1e9);
    long ops = 0, errors = 0;
    uint64_t cpu_meas = 0, cpu_end = 0;
    int measuring = 0;
    struct epoll_event evs[MAXCONN];
    for (;;) {
        int n = epoll_wait(ep, evs, MAXCONN, 100);
        if (n < 0 && errno != EINTR)
            lwb_die("mcload: epoll_wait: %s", strerror(errno));
        uint64_t now = lwb_now_ns();
        if (!measuring && now >= t_meas) {
            measuring = 1;
            cpu_meas = proc_cpu_ns(server_pid);
        }
        if (now >= t_end) {
            cpu_end = proc_cpu_ns(server_pid);
            break;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[evs[i].data.u32];
            ssize_t r = recv(c->fd, c->buf + c->have, BUFSZ - c->have, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0)
                lwb_die("mcload: recv: %s", r == 0 ? "server closed the connection" : strerror(errno));
            c->have += (size_t)r;
            int st = reply_state(c);
            if (st == 0) {
                if (c->have == BUFSZ)
                    lwb_die("mcload: reply larger than %d bytes", BUFSZ);
                continue;
            }
            if (c->sent_at >= t_meas) {
                uint64_t us = (now - c->sent_at) / 1000;
                hist[us < HIST_US ? us : HIST_US]++;
                ops++;
                errors += st < 0;
            }
            issue(c);
        }
    }
    struct lwb_clock measured = {t_end - t_meas, cpu_end - cpu_meas};
    long p50 = -1, p99 = -1, seen = 0;
    for (long us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (p50 < 0 && seen * 100 >= ops * 50)
            p50 = us;
        if (p99 < 0 && seen * 100 >= ops * 99) {
            p99 = us;
            break;
        }
    }
    for (int i = 0; i < nconn; i++)
        close(conns[i].fd);
    close(ep);
    char extra[128];
    snprintf(extra, sizeof extra, "p50_us=%ld p99_us=%ld errors=%ld conns=%d", p50, p99, errors, nconn);
    lwb_report("mcload", ops, measured, extra);
    return errors ? 1 : 0;
}
