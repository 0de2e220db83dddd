/* lw_core.h — the small internal API every part of the shim may use.
 *
 * Everything here is callable from interposed functions on arbitrary host
 * threads; functions marked [AS-safe] may also run in signal handlers.
 */
#ifndef LW_CORE_H
#define LW_CORE_H

#include "lw_platform.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_MAX_DEPTH 128

/* Context ids: root is 1, 0 means "none". */
typedef uint32_t lw_ctx_id;
#define LW_CTX_NONE 0u
#define LW_CTX_ROOT 1u

/* True once the shim is initialised and recording; false while disabled,
 * during init, or inside leakwatch's own code on this thread (the
 * recursion guard). Hooks that see false just forward. [AS-safe] */
bool lw_active(void);

/* Recursion guard around leakwatch's own work on this thread (libc calls it
 * makes must not be recorded). Returns false when already inside. [AS-safe] */
bool lw_guard_enter(void);
void lw_guard_leave(void);

/* The calling thread's current context (its own, or one it entered through
 * the API). LW_CTX_ROOT for threads leakwatch knows nothing of. */
lw_ctx_id lw_ctx_current(void);
/* Take/drop a reference so a context outlives its thread while a resource
 * (socket, timer) it owns is alive. */
void lw_ctx_ref(lw_ctx_id id);
void lw_ctx_unref(lw_ctx_id id);
/* Is `c` equal to `ancestor` or one of its descendants? (never for
 * LW_CTX_NONE; leakwatch_verify_ctx counts what lives under a context) */
bool lw_ctx_is_under(lw_ctx_id c, lw_ctx_id ancestor);

/* Lowest common ancestor of two live contexts (docs/design.md §1.2);
 * LW_CTX_NONE when either is no longer live. Takes the context lock: slow
 * paths only. */
lw_ctx_id lw_ctx_lca(lw_ctx_id a, lw_ctx_id b);
/* Is `cur` the context `own` or one of its descendants? A per-thread memo
 * answers repeats without the lock. */
bool lw_ctx_covers(lw_ctx_id own, lw_ctx_id cur);

/* Start this process's writer thread (and with it the control channel) if
 * it has none: a forked child gets one at its first wait. Cheap when it
 * runs already (two loads). */
void lw_writer_ensure(void);

/* A signal mask a program passes to a wait (ppoll, pselect, epoll_pwait,
 * sigsuspend): m itself, or a copy in buf with the snapshot signal added
 * while leakwatch owns it, so the wait never ends because of a snapshot. */
const sigset_t *lw_sig_keep_blocked(const sigset_t *m, sigset_t *buf);

/* Capture the caller's stack (return addresses, innermost first), skipping
 * `skip` frames of leakwatch itself. Returns the number of frames (<= max).
 * Not AS-safe; may be slow the first time on a thread. */
int lw_stack_capture(uintptr_t *frames, int max, int skip);
/* Frames kept per stack (the stack_depth option). */
int lw_stack_depth(void);

/* One line on leakwatch's log, prefixed "leakwatch[PID]: ". Capped so a
 * repeated message cannot flood the host's stderr. [AS-safe] */
void lw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log only the first time `once` is seen false (it is then set). */
void lw_log_once(int *once, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lazy initialisation from whichever hook runs first. */
void lw_init(void);

/* Blocked-state bookkeeping for a wait on something other than a
 * thread-core primitive (sockets, poll, timerfd reads). `call` is a static
 * string, `family` one of the schema's families. Returns a token to pass to
 * lw_wait_end (0 when not recording). */
#define LW_WAIT_FDS 64 /* fds listed for one poll/select/epoll wait */
struct lw_wait_info {
    const char *call;
    const char *family;
    uintptr_t object;      /* 0 if none */
    int fd;                /* -1 if none */
    const int *fds;        /* poll/select/epoll fds, may be NULL */
    int nfds;
    int64_t timeout_ns;    /* -1 infinite */
    lw_ctx_id owner;       /* owner context of the object/fd, LW_CTX_NONE if unknown */
    void *caller;          /* __builtin_return_address(0) of the hook */
};
uintptr_t lw_wait_begin(const struct lw_wait_info *wi);
void lw_wait_end(uintptr_t token);

#endif
