/* fd_numbers.c — leakwatch holds no descriptor the program could get.
 *
 * Prints, one line each: the open descriptors below the soft
 * RLIMIT_NOFILE at the start of main; the first number open() returns;
 * the open descriptors after a thread was created and joined and a
 * socketpair made and closed (the shim has unwound a stack by then); and
 * the same after the program closed every descriptor from 3 up, lowered
 * RLIMIT_NOFILE to 64 and did it again. The run script compares the
 * output with the plain run's: it must be identical. Exit 0 unless a call
 * failed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void list_open(const char *what)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    long max = rl.rlim_cur > 1000000 ? 1000000 : (long)rl.rlim_cur;
    printf("%s:", what);
    for (long fd = 0; fd < max; fd++)
        if (fcntl((int)fd, F_GETFD) >= 0)
            printf(" %ld", fd);
    printf("\n");
}

static void *noop(void *arg)
{
    return arg;
}

static int churn(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, noop, NULL) != 0 || pthread_join(t, NULL) != 0)
        return -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    close(sv[0]);
    close(sv[1]);
    return 0;
}

int main(void)
{
    list_open("start");
    int fd = open("/dev/null", O_RDONLY);
    printf("first open: %d\n", fd);
    close(fd);
    if (churn() < 0)
        return 1;
    list_open("after threads and sockets");
    /* a blanket close loop, then a lower limit */
    for (int i = 3; i < 65536; i++)
        close(i);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1;
    if (churn() < 0)
        return 1;
    fd = open("/dev/null", O_RDONLY);
    printf("first open after close-all and RLIMIT_NOFILE=64: %d\n", fd);
    close(fd);
    list_open("after close-all");
    return 0;
}
