/* badinput — calls every intercepted fd/timer function with bad input and
 * prints "call ret errno" lines. The driver runs it with and without the
 * preload and requires identical output: leakwatch must not change return
 * values or errno (EBADF, EINVAL, ENOTSOCK, EINTR, ...). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SHOW(call)                                                                            \
    do {                                                                                      \
        errno = 0;                                                                            \
        long r_ = (long)(call);                                                               \
        int e_ = errno;                                                                       \
        printf("%-40s ret=%ld errno=%s\n", #call, r_, e_ ? strerrorname_np(e_) : "0");        \
    } while (0)

static void on_alarm(int sig)
{
    (void)sig;
}

int main(void)
{
    char buf[64];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    SHOW(close(-1));
    SHOW(close(987654));
    SHOW(read(-1, buf, 1));
    SHOW(read(987654, buf, 1));
    SHOW(readv(-1, &iov, 1));
    SHOW(write(-1, "x", 1));
    SHOW(recv(-1, buf, 1, 0));
    SHOW(recvfrom(-1, buf, 1, 0, NULL, NULL));
    SHOW(recvmsg(-1, &mh, 0));
    SHOW(send(-1, "x", 1, 0));
    SHOW(sendto(-1, "x", 1, 0, NULL, 0));
    SHOW(sendmsg(-1, &mh, 0));
    SHOW(accept(-1, NULL, NULL));
    SHOW(accept4(-1, NULL, NULL, 0));
    SHOW(connect(-1, (struct sockaddr *)&ss, sl));
    SHOW(shutdown(-1, SHUT_RDWR));
    SHOW(setsockopt(-1, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){1, 0}, sizeof(struct timeval)));
    SHOW(dup(-1));
    SHOW(dup2(-1, 50));
    SHOW(dup3(0, 0, 0));
    SHOW(fcntl(-1, F_GETFL));
    SHOW(fcntl(-1, F_DUPFD, 0));
    SHOW(ioctl(-1, FIONBIO, &(int){1}));
    SHOW(socket(12345, SOCK_STREAM, 0));
    SHOW(socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0, 0}));
    SHOW(pipe2((int[2]){0, 0}, 0x7fff0000));
    SHOW(eventfd(0, 0x7fff0000));
    SHOW(epoll_create(0));
    SHOW(epoll_create1(0x7fff0000));
    SHOW(epoll_ctl(-1, EPOLL_CTL_ADD, 0, NULL));
    SHOW(epoll_wait(-1, &(struct epoll_event){0}, 1, 10));
    SHOW(epoll_pwait(-1, &(struct epoll_event){0}, 1, 10, NULL));
    SHOW(epoll_pwait2(-1, &(struct epoll_event){0}, 1, NULL, NULL));
    SHOW(timer_delete((timer_t)(long)424242));
    SHOW(timer_settime((timer_t)(long)424242, 0, NULL, NULL));
    SHOW(timer_getoverrun((timer_t)(long)424242));
    SHOW(timer_create(12345, NULL, &(timer_t){0}));
    SHOW(timerfd_create(12345, 0));
    SHOW(timerfd_settime(-1, 0, NULL, NULL));
    SHOW(setitimer(12345, NULL, NULL));
    SHOW(select(-1, NULL, NULL, NULL, NULL));
    SHOW(pselect(-1, NULL, NULL, NULL, NULL, NULL));
    SHOW(close_range(10, 5, 0));

    /* a socket: send on a non-connected one, recv on a pipe with flags */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    SHOW(send(s, "x", 1, MSG_NOSIGNAL));
    SHOW(recv(s, buf, 1, MSG_DONTWAIT));
    SHOW(fcntl(s, F_SETFL, O_NONBLOCK));
    SHOW(recv(s, buf, 1, 0));
    SHOW(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, NULL, sizeof(struct timeval))); /* EFAULT */
    SHOW(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){0, -1}, sizeof(struct timeval)));
    SHOW(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){0, 0}, 1));
    SHOW(close(s));
    SHOW(close(s)); /* twice */
    int p[2];
    SHOW(pipe(p));
    SHOW(recv(p[0], buf, 1, 0)); /* ENOTSOCK */
    SHOW(lseek(p[0], 0, SEEK_SET));
    SHOW(fcntl(p[0], F_SETFL, O_NONBLOCK));
    SHOW(read(p[0], buf, 1)); /* EAGAIN */
    struct pollfd pf = {.fd = 987654, .events = POLLIN};
    SHOW(poll(&pf, 1, 10));
    printf("revents=%d\n", pf.revents);
    SHOW(poll(NULL, 0, 0));

    /* EINTR: a blocking read interrupted by a handler without SA_RESTART */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    int q[2];
    pipe(q);
    struct itimerval it = {{0, 0}, {0, 50000}};
    SHOW(setitimer(ITIMER_REAL, &it, NULL));
    SHOW(read(q[0], buf, 1));
    SHOW(alarm(0));
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW(recv(sv[0], buf, 1, 0));
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW(poll(&(struct pollfd){.fd = sv[0], .events = POLLIN}, 1, 2000));
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW(epoll_wait(epoll_create1(0), &(struct epoll_event){0}, 1, 2000));
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW(select(sv[0] + 1, &(fd_set){0}, NULL, NULL, &(struct timeval){2, 0}));
    return 0;
}
