/* lw_ctl_client.h — asking a running process for a snapshot through its
 * control channel (docs/design.md §3.5), the client side of preload/lw_ctl.c.
 */
#ifndef LW_CTL_CLIENT_H
#define LW_CTL_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* Results of lw_ctl_snapshot (negative). */
enum {
    LW_CTL_OK = 0,
    LW_CTL_NOPROC = -1,   /* no such process */
    LW_CTL_NOTLW = -2,    /* it is not running under leakwatch (and is not about to) */
    LW_CTL_DENIED = -3,   /* not ours: the shim or the kernel refused */
    LW_CTL_TIMEOUT = -4,  /* no answer before the timeout */
    LW_CTL_FAILED = -5,   /* the shim answered with an error (err says what) */
    LW_CTL_GONE = -6,     /* the process exited meanwhile */
};

/* Asks process `pid` (as this process sees it) for a snapshot and waits up
 * to timeout_ms for the shim to be ready and to answer. On LW_CTL_OK the
 * path the shim wrote (as the process sees it) is in path_out; otherwise a
 * one-line message is in err. Follows the image running now: after an exec
 * the new image's endpoint is the one asked. */
int lw_ctl_snapshot(pid_t pid, int timeout_ms, char *path_out, size_t len, char *err,
                    size_t errlen);

#endif
