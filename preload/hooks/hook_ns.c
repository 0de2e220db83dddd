/* hook_ns.c — unshare() and setns(), so leakwatch's helper thread does not
 * take namespaces away from a single-threaded program.
 *
 * Owns: the interposed names only. The kernel refuses unshare(CLONE_NEWUSER)
 * and setns() into a user or mount namespace with EINVAL when the process
 * has more than one thread; leakwatch's writer thread would be that second
 * thread. On EINVAL the writer is stopped, the call retried, and the writer
 * started again (lw_writer.c).
 * Must never: change the result or errno of a call that fails for any
 * other reason, or retry a call that succeeded.
 */
#include "lw_hooks.h"

#include <errno.h>
#include <sched.h>

/* A call just failed: true when it failed only because of our thread and
 * that thread is now gone, so one retry is worth it. errno is kept. */
static bool lw_ns_retry_ready(void)
{
    int e = errno;
    bool retry = e == EINVAL && lw_running() && lw_writer_stop();
    errno = e;
    return retry;
}

/* After the retry: the writer comes back, except after entering a new pid
 * namespace, where the kernel refuses new threads in this process (its
 * children restart the writer lazily, from their first pthread_create).
 * The call's errno is kept. */
static void lw_ns_done(bool new_pid_ns)
{
    int e = errno;
    if (!new_pid_ns)
        lw_writer_ensure();
    errno = e;
}

LW_EXPORT int unshare(int flags)
{
    int (*real)(int) = LW_REAL(unshare);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int r = real(flags);
    if (r == 0 || !lw_ns_retry_ready())
        return r;
    r = real(flags);
    lw_ns_done(flags & CLONE_NEWPID);
    return r;
}

LW_EXPORT int setns(int fd, int nstype)
{
    int (*real)(int, int) = LW_REAL(setns);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int r = real(fd, nstype);
    if (r == 0 || !lw_ns_retry_ready())
        return r;
    r = real(fd, nstype);
    lw_ns_done(nstype == 0 || (nstype & CLONE_NEWPID));
    return r;
}
