/* lw_ctl_client.h — asking a running process for a snapshot through its
 * control channel (docs/design.md §3.5), the client side of preload/lw_ctl.c.
 */
#ifndef LW_CTL_CLIENT_H
#define LW_CTL_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* Asks process `pid` (as this process sees it) for a snapshot and waits up
 * to timeout_ms for the shim to be ready and to answer. Follows the image
 * running now: after an exec the new image's endpoint is the one asked.
 * Returns 0 with the path the shim wrote (as the process sees it) in
 * path_out; otherwise a negative errno with a one-line message in err:
 *   -ESRCH      no such process
 *   -EPIPE      it exited before it answered
 *   -ENOTSUP    it is not running under leakwatch (and is not about to)
 *   -EACCES     another user's process: the kernel or the shim refused
 *   -ENOSYS     it runs under leakwatch without a control channel
 *               (channel=0, or no private directory: see its log)
 *   -ETIMEDOUT  no answer before the timeout
 *   -EIO        the shim answered with an error (it could not write one)
 */
int lw_ctl_snapshot(pid_t pid, int timeout_ms, char *path_out, size_t len, char *err,
                    size_t errlen);

#endif
