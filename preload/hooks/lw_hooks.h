/* lw_hooks.h — the hooks layer: what every hooks/ file includes.
 *
 * Owns: the hooks' declarations, generated from the interception list
 * (lw_intercept.h: a definition that disagrees with its entry does not
 * compile), and the small helpers the fd/socket/timer hooks share (should
 * this new fd be tracked, blocked-wait bookkeeping on one fd).
 * Hooks are thin: guard, forward to the real function (LW_REAL), a
 * fixed-size store into the layers below, errno restored. They never
 * change arguments, return values or errno, and they stay cancellation
 * points by calling the real function.
 * Must never: be included outside hooks/.
 */
#ifndef LW_HOOKS_H
#define LW_HOOKS_H

#include "lw_runtime.h"

#include <errno.h>

#define LW_HOOK_DECL(ret, name, params, version) LW_EXPORT ret name params;
LW_INTERCEPTS(LW_HOOK_DECL)
#undef LW_HOOK_DECL

/* Should a freshly created fd be tracked? Initialises leakwatch lazily; fds
 * created inside leakwatch's own code are marked internal instead. */
bool lw_fd_track_ok(int fd);

/* Kind of a socket from socket(2)'s domain/type. */
enum lw_fd_kind lw_fd_sock_kind(int domain, int type);

/* Blocked-wait bookkeeping on one tracked fd (a no-op returning 0 for
 * non-blocking fds or calls). */
uintptr_t lw_fd_wait1(const char *call, struct lw_fd_rec *r, int fd, int64_t timeout_ns,
                      void *caller);
/* Split waits (docs/design.md §3.6). lw_split_restarts: would the kernel
 * have restarted the untimed call after the handler that just ended a
 * split's first part with EINTR (every handler that can run on the thread
 * has SA_RESTART)? lw_fd_split: the first part of a blocking receive or
 * accept at a lazy site (a readiness wait; read: sockets and pipes, the
 * others sockets only); false: return -1/EINTR. */
bool lw_split_restarts(void);
enum lw_split_how { LW_SPLIT_READ, LW_SPLIT_RECV, LW_SPLIT_ACCEPT };
bool lw_fd_split(uintptr_t tok, struct lw_fd_rec *r, int fd, enum lw_split_how how);

static inline void lw_fd_wait_done(uintptr_t tok)
{
    if (tok) {
        int e = errno;
        lw_wait_end(tok);
        errno = e;
    }
}

#endif
