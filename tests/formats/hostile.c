/* hostile.c — fixture for the formats tests (tests/formats/): every string
 * the host program controls is hostile. A request scope labelled with
 * markup, script, quotes, a newline and a byte that is not UTF-8 starts a
 * worker named "</script>\"'&<"; the worker starts a poller (ticks on
 * nanosleep forever), arms a periodic timer and sends one datagram on a UDP
 * socket it never closes, then returns. The scope is cancelled explicitly,
 * and main waits past the grace period, so the exit snapshot holds a leaked
 * thread, timer and socket under a dead labelled scope.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch.h"

static void *poller_main(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (;;)
        nanosleep(&ts, NULL);
    return NULL;
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "</script>\"'&<");
    pthread_t p;
    pthread_create(&p, NULL, poller_main, NULL);
    pthread_detach(p);

    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) == 0) {
        struct itimerspec its = {{1, 0}, {1, 0}};
        timer_settime(t, 0, &its, NULL);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0)
        (void)sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof to);
    return NULL;
}

int main(void)
{
    /* The shim keeps a label's first 63 bytes: the hostile part first. */
    leakwatch_ctx_t req = leakwatch_ctx_new("\xff\"</script><script>window.__pwned=1</script>'<b>&amp;\nx");
    leakwatch_ctx_enter(req);
    pthread_t w;
    pthread_create(&w, NULL, worker_main, NULL);
    pthread_join(w, NULL);
    leakwatch_ctx_leave();
    leakwatch_ctx_cancel(req);
    usleep(1300 * 1000); /* past the default grace (1000 ms) */
    return 0;
}
