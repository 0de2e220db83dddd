/* fork_from_thread.c — a child forked from a worker thread ends when that
 * thread returns.
 *
 * In the child the forking thread is the only thread; when it returns from
 * its start routine glibc ends the process (the last thread's exit). The
 * child starts and joins one thread first, so a preloaded shim has started
 * whatever helper it starts on a first pthread_create; that helper must not
 * keep the child alive. CPython >= 3.10 does exactly this
 * (test_threading's test_3_join_in_forked_from_thread).
 * Exit 0: the child exited 0 within the bound; 1 otherwise (it is killed).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *noop(void *arg)
{
    return arg;
}

static void *forker(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return (void *)1;
    }
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, noop, NULL) == 0)
            pthread_join(t, NULL);
        return NULL; /* the child's last thread returns: the child ends */
    }
    /* parent: wait up to 10 s */
    for (int i = 0; i < 1000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return NULL;
            fprintf(stderr, "fork_from_thread: child ended with status 0x%x\n", st);
            return (void *)1;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "fork_from_thread: child still running after 10 s (hang)\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return (void *)1;
}

int main(void)
{
    pthread_t t;
    void *ret = (void *)1;
    if (pthread_create(&t, NULL, forker, NULL) != 0)
        return 1;
    pthread_join(t, &ret);
    return ret ? 1 : 0;
}
