/* session_leak.c — C example for the README and `make test-examples`.
 *
 * handle_session (a request thread, joined by main) starts a listener that
 * waits on a condition variable the session owns, then returns without ever
 * signalling it: the listener is leaked (its scope ended, and the cond's
 * owner is gone, so it is not a parked pool worker). stats_flush_main exits
 * at once but is never joined (unjoined: its stack is leaked).
 * audit_writer_main is started and joined: it must never be reported.
 * The expected report facts are in session_leak.expect.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct session {
    pthread_mutex_t mu;
    pthread_cond_t has_message;
    int messages;
};

static void *session_listener_main(void *arg)
{
    struct session *s = arg;
    pthread_mutex_lock(&s->mu);
    while (s->messages == 0)
        pthread_cond_wait(&s->has_message, &s->mu); /* nobody signals any more */
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *handle_session(void *arg)
{
    (void)arg;
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->has_message, NULL);
    pthread_t listener;
    if (pthread_create(&listener, NULL, session_listener_main, s) == 0)
        pthread_detach(listener);
    return NULL; /* the bug: returns without closing the session */
}

static void *stats_flush_main(void *arg)
{
    (void)arg;
    return NULL;
}

static void *audit_writer_main(void *arg)
{
    (void)arg;
    usleep(1000);
    return NULL;
}

int main(void)
{
    pthread_t t, stats, audit;
    if (pthread_create(&t, NULL, handle_session, NULL) != 0)
        return 1;
    pthread_join(t, NULL);
    if (pthread_create(&stats, NULL, stats_flush_main, NULL) != 0) /* never joined */
        return 1;
    if (pthread_create(&audit, NULL, audit_writer_main, NULL) != 0)
        return 1;
    pthread_join(audit, NULL);
    usleep(300 * 1000); /* past the example's 100 ms grace */
    puts("session_leak: done");
    return 0;
}
