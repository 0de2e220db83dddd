/* hook_socket.h — shared by the socket/fd/poll/timer hook files: lazy
 * resolution of the real libc functions, and the small helpers every hook
 * uses (should this new fd be tracked, blocked-wait bookkeeping).
 *
 * Hooks are thin: forward to the real function, store into lw_fd/lw_timer,
 * restore errno. They never change arguments, return values or errno, and
 * they stay cancellation points by calling the real function.
 */
#ifndef HOOK_SOCKET_H
#define HOOK_SOCKET_H

#include "lw_fd.h"

#include <errno.h>

/* dlsym(RTLD_NEXT, name); NULL when libc lacks it (epoll_pwait2). */
void *lw_fd_dlsym(const char *name);

/* Declare `static ret (*real_name) args` then call LW_RESOLVE(name)(...).
 * Racing first calls both resolve the same address: harmless. */
#define LW_FD_REAL(ret, name, args) static ret(*real_##name) args
#define LW_RESOLVE(name)                                                                      \
    ({                                                                                        \
        __typeof__(real_##name) f_ = __atomic_load_n(&real_##name, __ATOMIC_RELAXED);         \
        if (LW_UNLIKELY(!f_)) {                                                               \
            f_ = (__typeof__(f_))lw_fd_dlsym(#name);                                          \
            __atomic_store_n(&real_##name, f_, __ATOMIC_RELAXED);                             \
        }                                                                                     \
        f_;                                                                                   \
    })

/* Should a freshly created fd be tracked? Initialises leakwatch lazily; fds
 * created inside leakwatch's own code are marked internal instead. */
bool lw_fd_track_ok(int fd);

/* Kind of a socket from socket(2)'s domain/type. */
enum lw_fd_kind lw_fd_sock_kind(int domain, int type);

/* Blocked-wait bookkeeping on one tracked fd (a no-op returning 0 for
 * non-blocking fds or calls). */
uintptr_t lw_fd_wait1(const char *call, struct lw_fd_rec *r, int fd, int64_t timeout_ns,
                      void *caller);
static inline void lw_fd_wait_done(uintptr_t tok)
{
    if (tok) {
        int e = errno;
        lw_wait_end(tok);
        errno = e;
    }
}

#endif
