/* vfork_close.c — what a vfork child does to its descriptors is the
 * child's: the parent's records stay.
 *
 * The parent opens a socket it never closes (a leak the exit snapshot must
 * report). A vfork child, which shares the parent's memory until it execs
 * or exits, then dups and closes it and closes every descriptor from 3 up
 * (as CPython's subprocess does with close_fds) before _exit. The run
 * script checks that the parent's exit snapshot still lists the socket at
 * the number printed here, and nothing at the child's dup target.
 * usage: vfork_close [close|close_range|exec]; prints "socket FD dup DUP".
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "close";
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 1;
    int dupfd = 40;
    printf("socket %d dup %d\n", s, dupfd);
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        if (dup2(s, dupfd) < 0)
            _exit(5);
        close(dupfd);
        if (strcmp(how, "close_range") == 0) {
            close_range(3, ~0u, 0);
        } else {
            close(s);
        }
        if (strcmp(how, "exec") == 0)
            execl("/bin/true", "true", (char *)NULL);
        _exit(0);
    }
    if (pid < 0)
        return 1;
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "vfork_close: child status 0x%x\n", st);
        return 1;
    }
    return 0; /* s stays open: the exit snapshot reports it */
}
