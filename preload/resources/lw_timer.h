/* lw_timer.h — the timer table: POSIX timers (timer_create), timerfds, alarm
 * and setitimer; the SIGEV_THREAD trampoline pool; attribution of glibc's
 * timer threads to timers.
 *
 * Timer operations are not hot paths: one lock (lw_lock_t) guards the table. The
 * expiration counters and helper tids are updated lock-free (they are bumped
 * on glibc's helper threads and timerfd reads). No malloc, no stdio.
 */
#ifndef LW_TIMER_H
#define LW_TIMER_H

#include "lw_core.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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
