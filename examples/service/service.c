/* service.c — the demo service: a small thread-per-connection TCP server
 * on 127.0.0.1 with a deliberate leak modelled on the classic goroutine-leak
 * incident, for `make demo` and the README.
 *
 * Per request to "/report" the handler thread (handle_request):
 *   - opens an upstream connection to the service's own "upstream" listener
 *     (lookup_upstream) and never closes it          -> leaked socket;
 *   - starts a worker (report_worker_main) that starts a poller
 *     (progress_poller_main) ticking on nanosleep, which never looks at a
 *     cancel flag                                     -> leaked thread, 3 levels;
 *   - starts a cache refresher (cache_refresher_main), then signals it and
 *     joins it before returning: the correctly cancelled path, which must
 *     never appear in a report.
 * "/status" only answers (the warm-up path, leaks nothing).
 *
 * It must never leak anything else: the client connection is closed by the
 * handler and every helper is either joined or detached.
 *
 * Usage: service [--port N] [--port-file FILE]   (port 0 = any free port)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int upstream_port; /* the in-process "upstream" listener */

/* ---- the poller: ticks forever, never checks for cancellation (the bug) */
struct poll_job {
    int request_id;
    unsigned long ticks;
};

static void *progress_poller_main(void *arg)
{
    struct poll_job *job = arg;
    const struct timespec tick = {0, 20 * 1000 * 1000}; /* 20 ms */
    for (;;) {
        /* The bug: no `if (job->cancelled) break;` — nobody tells it to stop. */
        nanosleep(&tick, NULL);
        job->ticks++;
    }
    return NULL;
}

/* ---- the worker: does the work and starts the poller to watch progress */
static void *report_worker_main(void *arg)
{
    struct poll_job *job = arg;
    pthread_t poller;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&poller, &attr, progress_poller_main, job) != 0)
        free(job);
    pthread_attr_destroy(&attr);
    return NULL; /* the worker is done; the poller runs on */
}

/* ---- the correctly cancelled helper: waits with a stop flag, is joined */
struct refresher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *cache_refresher_main(void *arg)
{
    struct refresher *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &until);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- per-request upstream connection, never closed (the second bug) */
static int lookup_upstream(int request_id)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char q[64];
    int n = snprintf(q, sizeof q, "lookup %d\n", request_id);
    if (write(fd, q, (size_t)n) < 0) {
        close(fd);
        return -1;
    }
    return fd; /* The bug: the caller forgets to close it. */
}

static void send_str(int fd, const char *s)
{
    size_t off = 0, len = strlen(s);
    while (off < len) {
        ssize_t w = write(fd, s + off, len - off);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void serve_report(int client, int request_id)
{
    /* Upstream lookup: leaks its socket. */
    (void)lookup_upstream(request_id);

    /* Worker + poller: leaks the poller. */
    struct poll_job *job = calloc(1, sizeof *job);
    if (job) {
        job->request_id = request_id;
        pthread_t worker;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&worker, &attr, report_worker_main, job) != 0)
            free(job);
        pthread_attr_destroy(&attr);
    }

    /* Cache refresher: started, signalled and joined — no leak. */
    struct refresher r = {.stop = false};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_t refresher;
    bool started = pthread_create(&refresher, NULL, cache_refresher_main, &r) == 0;
    if (started) {
        pthread_mutex_lock(&r.mu);
        r.stop = true;
        pthread_cond_signal(&r.cv);
        pthread_mutex_unlock(&r.mu);
        pthread_join(refresher, NULL);
    }
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);

    char reply[64];
    snprintf(reply, sizeof reply, "200 report %d queued\n", request_id);
    send_str(client, reply);
}

struct request {
    int fd;
    int id;
};

static void *handle_request(void *arg)
{
    struct request *req = arg;
    char line[256];
    size_t used = 0;
    while (used < sizeof line - 1) {
        ssize_t r = read(req->fd, line + used, sizeof line - 1 - used);
        if (r <= 0)
            break;
        used += (size_t)r;
        if (memchr(line, '\n', used))
            break;
    }
    line[used] = '\0';
    if (strncmp(line, "GET /report", 11) == 0)
        serve_report(req->fd, req->id);
    else if (strncmp(line, "GET /status", 11) == 0)
        send_str(req->fd, "200 ok\n");
    else
        send_str(req->fd, "404 unknown\n");
    close(req->fd);
    free(req);
    return NULL; /* the request's scope ends here */
}

/* ---- the upstream: accepts and drains lookups; started by main, lives on */
static void *upstream_main(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        /* Keep the upstream side open: it is the leaking client's job to
         * close, and the upstream is a long-lived part of the process. */
    }
}

static int listen_on(int port, int *bound_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *bound_port = ntohs(a.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--port N] [--port-file FILE]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    static int upstream_fd;
    upstream_fd = listen_on(0, &upstream_port);
    if (upstream_fd < 0) {
        perror("service: upstream listener");
        return 1;
    }
    pthread_t up;
    if (pthread_create(&up, NULL, upstream_main, &upstream_fd) != 0) {
        fprintf(stderr, "service: cannot start upstream thread\n");
        return 1;
    }

    int bound;
    int lfd = listen_on(port, &bound);
    if (lfd < 0) {
        perror("service: listen");
        return 1;
    }
    if (port_file) {
        /* Write then rename, so a reader never sees a half-written port. */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", bound) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
            perror("service: port file");
            return 1;
        }
    }
    printf("service: listening on 127.0.0.1:%d (pid %d)\n", bound, (int)getpid());
    fflush(stdout);

    for (int id = 1;; id++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("service: accept");
            return 1;
        }
        struct request *req = malloc(sizeof *req);
        if (!req) {
            close(c);
            continue;
        }
        req->fd = c;
        req->id = id;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, handle_request, req) != 0) {
            close(c);
            free(req);
        }
        pthread_attr_destroy(&attr);
    }
}
