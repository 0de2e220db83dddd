/* raw_fork.c — a process forked behind libc's back (syscall(SYS_fork), or
 * clone() without CLONE_VM: no pthread_atfork handlers run) is a process of
 * its own: SIGTERM sent to it ends it and nothing else, and its snapshots
 * carry its own pid.
 *
 * usage: raw_fork fork|clone term|exit|snap
 *   term: the parent sends SIGTERM to the child (which has no handler of
 *         its own) and expects it to die of it; the parent lives on.
 *   exit: the child returns through exit(0).
 *   snap: as term, but first the parent sends the child SIGUSR2 and waits
 *         (up to 10 s) for a snapshot file in the current directory named
 *         after the child's pid: the child, which only sleeps, must have
 *         started its own writer at its first wait. Exit 4 if none came.
 * Prints "parent PID child PID"; exit 0 when the child ended as expected
 * and the parent was not hurt.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int mode_term, mode_snap;

/* a file in . whose name holds "-PID-" (the tests' output=lw-%p-%n.json) */
static int snapshot_of(pid_t pid)
{
    char key[32];
    snprintf(key, sizeof key, "-%d-", (int)pid);
    DIR *d = opendir(".");
    int found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL)
        found = strstr(e->d_name, key) != NULL && strstr(e->d_name, ".json") != NULL;
    if (d)
        closedir(d);
    return found;
}

static int child_main(void *arg)
{
    (void)arg;
    if (mode_term) {
        for (int i = 0; i < 1000; i++) /* 10 s: SIGTERM comes first */
            usleep(10000);
        _exit(3);
    }
    exit(0);
}

static char stack[256 * 1024] __attribute__((aligned(16)));

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    mode_snap = strcmp(argv[2], "snap") == 0;
    mode_term = mode_snap || strcmp(argv[2], "term") == 0;
    pid_t pid;
    if (strcmp(argv[1], "clone") == 0) {
        pid = clone(child_main, stack + sizeof stack, SIGCHLD, NULL);
    } else {
        pid = (pid_t)syscall(SYS_fork);
        if (pid == 0)
            child_main(NULL);
    }
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    printf("parent %d child %d\n", (int)getpid(), (int)pid);
    fflush(stdout);
    int snapped = 1;
    if (mode_term) {
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
        if (mode_snap) {
            kill(pid, SIGUSR2);
            struct timespec tick = {0, 10000000};
            for (int i = 0; i < 1000 && !(snapped = snapshot_of(pid)); i++)
                nanosleep(&tick, NULL);
        }
        kill(pid, SIGTERM);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    if (mode_term && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)) {
        fprintf(stderr, "raw_fork: child did not die of SIGTERM (status 0x%x)\n", st);
        return 1;
    }
    if (!mode_term && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "raw_fork: child status 0x%x\n", st);
        return 1;
    }
    if (!snapped) {
        fprintf(stderr, "raw_fork: no snapshot of the child %d after SIGUSR2\n", (int)pid);
        return 4;
    }
    return 0;
}
