/* lw_ctl_main.c — build/lw-snapshot, the control-channel client the
 * `leakwatch snapshot` command runs: `lw-snapshot TIMEOUT_MS PID` prints
 * the path the process wrote. Exit status: 0 printed the path; 1 no
 * snapshot (timeout, the process failed to write one or exited); 2 no such
 * process, not under leakwatch, or not ours. Argument checking is the
 * caller's: this helper only refuses what it cannot parse.
 */
#include "lw_ctl_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    char *end1, *end2;
    if (argc != 3)
        goto usage;
    long ms = strtol(argv[1], &end1, 10);
    long pid = strtol(argv[2], &end2, 10);
    if (*end1 || *end2 || ms < 0 || ms > 86400000L || pid <= 0 || pid > 0x7fffffffL)
        goto usage;
    char path[4096], err[1024];
    int r = lw_ctl_snapshot((pid_t)pid, (int)ms, path, sizeof path, err, sizeof err);
    if (r == 0) {
        printf("%s\n", path);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(stderr, "leakwatch: snapshot: %s\n", err);
    return r == -ESRCH || r == -ENOTSUP || r == -EACCES ? 2 : 1;
usage:
    fprintf(stderr, "usage: lw-snapshot TIMEOUT_MS PID\n");
    return 2;
}
