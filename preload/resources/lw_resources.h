/* lw_resources.h — the resources layer's one header: the fd/socket table
 * (lw_fd.c) and the timer table (lw_timer.c).
 * Must never: include a header of a layer above (snapshot, runtime, hooks).
 *
 * The fd/socket table: one record per open file description that
 * leakwatch saw created (socket, accept, pipe, eventfd, timerfd, epoll), and
 * a slot per fd number pointing at it (dup aliases share a record).
 *
 * The I/O paths (lw_fd_get, lw_fd_io_in/out, lw_fd_use) take no lock,
 * allocate nothing and use only the coarse clock; the create/close paths take
 * the table's lock. Records live in mmap'd memory that is never unmapped, so a
 * racy reader (snapshot writer, a thread doing I/O on an fd another thread is
 * closing) may read a stale record but never touches freed memory.
 * Never call libc functions that the shim interposes from here.
 */
#ifndef LW_RESOURCES_H
#define LW_RESOURCES_H

#include "lw_core.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum lw_fd_kind {
    LW_FD_OTHER = 0,
    LW_FD_TCP,
    LW_FD_UDP,
    LW_FD_UNIX,
    LW_FD_PIPE,
    LW_FD_EVENTFD,
    LW_FD_TIMERFD,
    LW_FD_EPOLL,
    LW_FD_SIGNALFD,
};

/* flags */
#define LW_FDF_NONBLOCK 0x1u  /* O_NONBLOCK on the open file description */
#define LW_FDF_LISTEN 0x2u    /* accept() was called on it */
#define LW_FDF_CONNECTED 0x4u /* connect() succeeded or it came from accept() */
#define LW_FDF_USED 0x10u     /* used since created: the creator no longer
                               * counts for its owner (lw_fd_use) */

#define LW_FD_SLOTS (1u << 20)  /* fds at or above this are not tracked */
#define LW_FD_RECS (1u << 17)   /* open files tracked at once */
#define LW_FD_STACK 32          /* creation frames kept (min with stack_depth) */
#define LW_FD_EPOLL_MAX 16      /* registrations remembered per epoll fd */
#define LW_FD_SLOT_INTERNAL 0xffffffffu /* slot value: leakwatch's own fd */

struct lw_fd_rec {
    _Atomic uint32_t aliases; /* fds pointing here; 0 = free record */
    uint32_t snap_mark;       /* snapshot generation that already wrote it */
    uint8_t kind;
    _Atomic uint32_t flags;
    /* SO_RCVTIMEO / SO_SNDTIMEO as last set with setsockopt (or inherited
     * by accept): -1 none (block forever), 0 never blocks, else ns */
    _Atomic int64_t rcvtimeo_ns, sndtimeo_ns;
    _Atomic lw_ctx_id owner; /* LCA of the users (the creator until the first
                              * use); holds a context reference */
    lw_ctx_id creator;       /* holds a context reference */
    int creator_tid;
    uint64_t created_ns;
    _Atomic uint64_t last_io_ns;
    _Atomic uint64_t bytes_in;
    _Atomic uint64_t bytes_out;
    _Atomic uint32_t timer;  /* timerfd: timer record index + 1 */
    _Atomic int32_t epoll;   /* epoll fd it was last registered with, -1 none */
    _Atomic int32_t ep_n;    /* epoll records: registered fds */
    _Atomic int32_t ep_fds[LW_FD_EPOLL_MAX];
    /* socketpair()/pipe(): the other end's record and an fd of it; cleared
     * (under the table lock) when either end's record is released */
    _Atomic uint32_t pair;
    _Atomic int32_t pair_fd;
    uint32_t nframes;
    uintptr_t frames[LW_FD_STACK];
};

/* The slot array and record pool (NULL until the first tracked fd). */
extern _Atomic(_Atomic uint32_t *) lw_fd_slots;
extern struct lw_fd_rec *lw_fd_recs;

/* Record for fd, or NULL when the fd is not tracked. Lock-free. */
static inline struct lw_fd_rec *lw_fd_get(int fd)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    if (LW_UNLIKELY(!slots) || (unsigned)fd >= LW_FD_SLOTS)
        return NULL;
    uint32_t v = atomic_load_explicit(&slots[fd], memory_order_acquire);
    if (v == 0 || v == LW_FD_SLOT_INTERNAL)
        return NULL;
    return &lw_fd_recs[v];
}

/* Start tracking a newly created fd (replacing whatever the slot held).
 * Captures the creation stack (`skip` leakwatch frames). Returns the record
 * or NULL when the table is full or the fd is out of range. */
struct lw_fd_rec *lw_fd_open(int fd, enum lw_fd_kind kind, uint32_t flags, int skip);
/* fd `newfd` becomes an alias of `oldfd` (dup*, F_DUPFD). If oldfd is not
 * tracked, newfd is just forgotten. */
void lw_fd_dup(int oldfd, int newfd);
/* The fd was closed (or is about to be): drop the slot, end the record with
 * its last alias. Safe when untracked. */
void lw_fd_close(int fd);
/* Mark an fd as leakwatch's own (never reported as foreign) or unmark it. */
void lw_fd_mark_internal(int fd, bool internal);
bool lw_fd_is_internal(int fd);
/* leakwatch's own descriptors, ascending (at most `max`): the close hooks
 * leave them open when the program closes every descriptor it does not
 * know (docs/design.md section 3.4). */
int lw_fd_own_list(int *out, int max);

/* Hand ownership to `ctx` (reference moved). */
void lw_fd_set_owner(struct lw_fd_rec *r, lw_ctx_id ctx);
/* The calling context used the fd (read, wrote, sent, received, waited on
 * it, registered it in an epoll set): docs/design.md §1.2. The first use
 * takes it from its creator; later ones move the owner to the lowest common
 * ancestor of the users, never to the last one. Free when the user is the
 * owner, nearly free for a descendant (a per-thread memo); the tree walk
 * runs only when a context outside the owner's subtree uses it. */
void lw_fd_use_slow(struct lw_fd_rec *r);
/* The last two records this thread used (a ping-pong reads one fd and
 * writes another), each with its creation time so a recycled record is a
 * miss. Once a thread has used a record its owner covers the thread's
 * context for good (owners only move up), so a hit needs no context
 * lookup. Reset when the thread enters or leaves an API context. */
extern __thread __attribute__((tls_model("initial-exec"))) struct lw_fd_rec *lw_fu_rec[2];
extern __thread __attribute__((tls_model("initial-exec"))) uint64_t lw_fu_born[2];
static inline __attribute__((always_inline)) void lw_fd_use(struct lw_fd_rec *r)
{
    uint64_t born = __atomic_load_n(&r->created_ns, __ATOMIC_RELAXED);
    if (LW_LIKELY((r == lw_fu_rec[0] && born == lw_fu_born[0]) || (r == lw_fu_rec[1] && born == lw_fu_born[1])))
        return;
    lw_fd_use_slow(r);
}
void lw_fd_use_forget(void); /* this thread's memo (API context enter/leave) */
static inline void lw_fd_io_in(struct lw_fd_rec *r, uint64_t n)
{
    lw_fd_use(r);
    /* load+store, not a locked add: two threads doing I/O on one fd at the
     * same instant may lose a count; the hot path stays free of bus locks */
    atomic_store_explicit(&r->bytes_in, atomic_load_explicit(&r->bytes_in, memory_order_relaxed) + n,
                          memory_order_relaxed);
    atomic_store_explicit(&r->last_io_ns, lw_now_coarse_ns(), memory_order_relaxed);
}
static inline void lw_fd_io_out(struct lw_fd_rec *r, uint64_t n)
{
    lw_fd_use(r);
    atomic_store_explicit(&r->bytes_out,
                          atomic_load_explicit(&r->bytes_out, memory_order_relaxed) + n,
                          memory_order_relaxed);
    atomic_store_explicit(&r->last_io_ns, lw_now_coarse_ns(), memory_order_relaxed);
}
static inline void lw_fd_set_flag(struct lw_fd_rec *r, uint32_t f, bool on)
{
    if (on)
        atomic_fetch_or_explicit(&r->flags, f, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&r->flags, ~f, memory_order_relaxed);
}
static inline bool lw_fd_nonblock(const struct lw_fd_rec *r)
{
    return atomic_load_explicit(&r->flags, memory_order_relaxed) & LW_FDF_NONBLOCK;
}
/* Socket timeouts (see rcvtimeo_ns): what a blocking wait reports. */
static inline int64_t lw_fd_rcvtimeo(const struct lw_fd_rec *r)
{
    return atomic_load_explicit(&r->rcvtimeo_ns, memory_order_relaxed);
}
static inline int64_t lw_fd_sndtimeo(const struct lw_fd_rec *r)
{
    return atomic_load_explicit(&r->sndtimeo_ns, memory_order_relaxed);
}
static inline void lw_fd_set_timeo(struct lw_fd_rec *r, bool snd, int64_t ns)
{
    atomic_store_explicit(snd ? &r->sndtimeo_ns : &r->rcvtimeo_ns, ns, memory_order_relaxed);
}
/* SO_RCVTIMEO/SO_SNDTIMEO value -> rcvtimeo_ns convention, as the kernel
 * reads it: {0,0} blocks forever, a negative tv_sec never blocks. */
static inline int64_t lw_fd_timeo_ns(int64_t sec, int64_t usec)
{
    if (sec < 0)
        return 0;
    if (sec == 0 && usec == 0)
        return -1;
    if (sec >= INT64_MAX / 1000000000 - 1)
        return -1; /* centuries: as good as forever, and no overflow */
    return sec * 1000000000 + usec * 1000;
}
/* The two ends of a socketpair()/pipe() (both tracked): link them. */
void lw_fd_link_pair(int fd0, int fd1);
/* An fd of the other end of r's socketpair/pipe while it is open, or -1. */
int lw_fd_pair_fd(const struct lw_fd_rec *r);

/* epoll_ctl bookkeeping on the epoll record `ep` (epoll fd `epfd`). */
void lw_fd_epoll_add(int epfd, int fd);
void lw_fd_epoll_del(int epfd, int fd);
/* Copy the epoll fd then its registered fds into out; returns the count. */
int lw_fd_epoll_fds(int epfd, int *out, int max);

/* Iteration for the snapshot and verify: highest fd ever tracked + 1. */
int lw_fd_high(void);
/* Open files (sockets and other tracked fds) whose owner is `ctx` or a
 * descendant of it. For leakwatch_verify_ctx. */
int lw_fd_count_under(lw_ctx_id ctx);
/* Drop a record whose fd was closed behind our back (fclose, raw syscall):
 * the snapshot writer found it stale. */
void lw_fd_forget(int fd);

/* Fork (lw_fork.c): the table's lock is held across fork; the child keeps
 * the table (fds are inherited) and resets the lock. */
void lw_fd_lock_for_fork(bool lock);
void lw_fd_after_fork_child(void);

/* Snapshot helpers (lw_fd_snap.c): schema name of a kind; socket address
 * as "127.0.0.1:8080", "[::1]:80", "/path" or "@abstract" (false: unnamed). */
struct sockaddr_storage;
const char *lw_fd_kind_name(int kind);
bool lw_fd_format_addr(const struct sockaddr_storage *ss, unsigned len, char *out, size_t cap);

/* ---- timers (lw_timer.c) ----
 * The timer table: POSIX timers (timer_create), timerfds, alarm and
 * setitimer; the SIGEV_THREAD trampoline pool; attribution of glibc's timer
 * threads to timers. Timer operations are not hot paths: one lock
 * (lw_lock_t) guards the table. The expiration counters and helper tids are
 * updated lock-free (they are bumped on glibc's helper threads and timerfd
 * reads). No malloc, no stdio.
 */
#define LW_TIMER_MAX 8192 /* live timers tracked at once */
#define LW_TIMER_HELPERS 8 /* helper tids remembered per timer (most recent) */
#define LW_TRAMP_MAX 4096 /* live SIGEV_THREAD timers with a trampoline */

enum lw_timer_kind { LW_TIMER_POSIX, LW_TIMER_TIMERFD, LW_TIMER_ALARM, LW_TIMER_ITIMER };
enum lw_timer_notify { LW_TN_SIGNAL, LW_TN_THREAD, LW_TN_THREAD_ID, LW_TN_NONE, LW_TN_FD };

struct lw_timer_rec {
    _Atomic uint32_t used;
    uint64_t id; /* unique per process (record ids are never reused) */
    uint8_t kind, notify;
    int signo; /* -1 none */
    int clock;
    uintptr_t handle; /* timer_t value, timerfd fd, or setitimer `which` */
    uintptr_t callback;
    lw_ctx_id ctx; /* holds a context reference */
    int creator_tid;
    uint64_t created_ns;
    _Atomic int armed;
    _Atomic uint64_t interval_ns;
    _Atomic uint64_t expirations;
    _Atomic int helpers[LW_TIMER_HELPERS];
    _Atomic uint32_t nhelpers; /* total runs seen; ring index */
    uint32_t tramp;            /* trampoline index + 1, 0 none */
    uint32_t nframes;
    uintptr_t frames[32];
};

extern struct lw_timer_rec *lw_timer_recs; /* index 0 unused */

/* New record; captures the creation stack (`skip` leakwatch frames).
 * Returns its index (0 when the table is full). */
uint32_t lw_timer_new(enum lw_timer_kind kind, uintptr_t handle, int clock,
                      enum lw_timer_notify notify, int signo, uintptr_t callback, int skip);
/* Index of the live record for (kind, handle), 0 if none. */
uint32_t lw_timer_find(enum lw_timer_kind kind, uintptr_t handle);
/* Change the handle of a record (timer_create learns it after the call). */
void lw_timer_set_handle(uint32_t idx, uintptr_t handle);
void lw_timer_delete(uint32_t idx);
void lw_timer_arm(uint32_t idx, bool armed, uint64_t interval_ns);
void lw_timer_expired(uint32_t idx, uint64_t n);
/* A SIGEV_THREAD notification ran on thread `tid`. */
void lw_timer_helper_ran(uint32_t idx, int tid);
struct lw_timer_rec *lw_timer_get(uint32_t idx);
uint32_t lw_timer_high(void);

/* SIGEV_THREAD: a trampoline record holding the program's function and
 * value; the returned sigevent function/value replace the program's. */
typedef void (*lw_sigev_fn)(union sigval);
/* Fills fn/val with the trampoline to pass to the real timer_create;
 * returns the trampoline index + 1 (0: pool full, pass the program's own). */
uint32_t lw_tramp_alloc(lw_sigev_fn prog_fn, union sigval prog_val, lw_sigev_fn *fn,
                        union sigval *val);
void lw_tramp_bind(uint32_t tramp, uint32_t timer_idx);
void lw_tramp_free(uint32_t tramp);

/* glibc's one SIGEV_THREAD helper thread (blocked in rt_sigtimedwait):
 * true when the caller should diff /proc/self/task around this
 * timer_create (the first SIGEV_THREAD timer of the process). */
bool lw_timer_want_sys_helper(void);
/* Around the real timer_create of a SIGEV_THREAD timer: begin returns true
 * when this call should look for glibc's helper (the first such timer; it
 * then holds the scan lock), end diffs the task list and attributes the
 * new thread to timer `timer_idx` when the call created a timer. */
bool lw_timer_helper_scan_begin(void);
void lw_timer_helper_scan_end(bool created, uint32_t timer_idx);
void lw_timer_sys_helper_found(int tid, uint32_t timer_idx);
/* Record id of the timer owning thread `tid` (0 none). */
uint64_t lw_timers_owner_of_tid(int tid);
/* glibc's helper tid when it is attributed to timer `idx`, else 0. */
int lw_timer_sys_helper_of(uint32_t idx);

int lw_timer_count_under(lw_ctx_id ctx);
/* Fork (lw_fork.c): the table's lock is held across fork. The child drops
 * every record but the timerfds (POSIX timers are not inherited, the fds
 * are) and the glibc helper knowledge. */
void lw_timer_lock_for_fork(bool lock);
void lw_timer_after_fork_child(void);

#endif
