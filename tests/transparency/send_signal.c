/* send_signal.c — a blocking send that a signal interrupts returns as the
 * kernel's own call does.
 *
 * A TCP connection over loopback; the main thread makes one blocking
 * send() far larger than the socket buffers. A second thread reads the
 * first 100 bytes, sends SIGUSR1 to the main thread ONCE (the handler only
 * sets a flag), waits up to 1 s for the send to return, then reads
 * everything. The kernel's call returns the short count as soon as the
 * handler has run, whenever the signal arrived during the call (a signal
 * landing while the data is being copied is the case a send split into a
 * non-blocking try and a wait gets wrong; ten rounds make it likely).
 * usage: send_signal [restart]  (restart: the handler has SA_RESTART,
 * which does not change that: the call had sent data)
 * Exit 0 when send() returned a short count after the signal, before the
 * reader gave up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BIG (64u << 20)

static pthread_t main_thr;
static int rfd;
static atomic_int sent_signal, send_done, gave_up;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled = 1;
}

static void *reader(void *arg)
{
    (void)arg;
    char buf[65536];
    size_t got = 0;
    while (got < 100) {
        ssize_t n = read(rfd, buf, 100 - got);
        if (n <= 0)
            return NULL;
        got += (size_t)n;
    }
    pthread_kill(main_thr, SIGUSR1);
    atomic_store(&sent_signal, 1);
    for (int i = 0; i < 100 && !atomic_load(&send_done); i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&send_done))
        atomic_store(&gave_up, 1);
    while (read(rfd, buf, sizeof buf) > 0)
        ;
    return NULL;
}

static int round_once(char *big);

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = argc > 1 && strcmp(argv[1], "restart") == 0 ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
    char *big = calloc(1, BIG);
    if (!big)
        return 1;
    main_thr = pthread_self();
    for (int i = 0; i < 10; i++)
        if (round_once(big) != 0)
            return 1;
    return 0;
}

static int round_once(char *big)
{
    atomic_store(&sent_signal, 0);
    atomic_store(&send_done, 0);
    atomic_store(&gave_up, 0);
    handled = 0;

    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        return 1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a))
        return 1;
    rfd = accept(l, NULL, NULL);
    if (rfd < 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    ssize_t n = send(s, big, BIG, 0);
    int e = errno;
    atomic_store(&send_done, 1);
    int fail = 0;
    if (atomic_load(&gave_up)) {
        fprintf(stderr, "send_signal: send() did not return within 1 s of the signal\n");
        fail = 1;
    } else if (n < 0) {
        fprintf(stderr, "send_signal: send() failed: %s\n", strerror(e));
        fail = 1;
    } else if ((size_t)n >= BIG) {
        fprintf(stderr, "send_signal: send() sent everything (signal %d, handled %d)\n",
                atomic_load(&sent_signal), (int)handled);
        fail = 1;
    } else if (!handled) {
        fprintf(stderr, "send_signal: short count %zd without the handler running\n", n);
        fail = 1;
    }
    shutdown(s, SHUT_WR);
    pthread_join(t, NULL);
    close(s);
    close(rfd);
    close(l);
    return fail;
}
