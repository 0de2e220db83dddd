/* hook_timer.c — interposed timer calls: timer_create, timer_settime,
 * timer_delete, timer_getoverrun, timerfd_create, timerfd_settime, alarm,
 * setitimer.
 *
 * SIGEV_THREAD timers get a trampoline (lw_timer.c) in place of the
 * program's function so every notification thread glibc starts is recorded
 * as the timer's; the program's function and value still run unchanged.
 * Must never: change what the program's timers do, or their errno/returns.
 */
#include "lw_hooks.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>


static bool timer_on(void)
{
    if (LW_LIKELY(lw_active()))
        return true;
    if (!lw_guard_enter())
        return false;
    lw_guard_leave();
    lw_init();
    return lw_active();
}

LW_EXPORT int timer_create(clockid_t clk, struct sigevent *evp, timer_t *id)
{
    if (!timer_on() || !id)
        return LW_REAL(timer_create)(clk, evp, id);
    int e = errno;
    int notify = evp ? evp->sigev_notify : SIGEV_SIGNAL;
    enum lw_timer_notify tn = notify == SIGEV_THREAD      ? LW_TN_THREAD
                              : notify == SIGEV_NONE      ? LW_TN_NONE
                              : notify == SIGEV_THREAD_ID ? LW_TN_THREAD_ID
                                                          : LW_TN_SIGNAL;
    int signo = !evp ? SIGALRM : (tn == LW_TN_SIGNAL || tn == LW_TN_THREAD_ID) ? evp->sigev_signo
                                                                               : -1;
    struct sigevent ev;
    struct sigevent *pass = evp;
    uint32_t tramp = 0;
    if (tn == LW_TN_THREAD && evp->sigev_notify_function) {
        ev = *evp;
        tramp = lw_tramp_alloc(evp->sigev_notify_function, evp->sigev_value,
                               &ev.sigev_notify_function, &ev.sigev_value);
        if (tramp)
            pass = &ev;
    }
    bool scan = tn == LW_TN_THREAD && lw_timer_helper_scan_begin();
    errno = e;
    int r = LW_REAL(timer_create)(clk, pass, id);
    e = errno;
    uint32_t idx = 0;
    if (r == 0)
        idx = lw_timer_new(LW_TIMER_POSIX, (uintptr_t)*id, (int)clk, tn, signo,
                           tn == LW_TN_THREAD ? (uintptr_t)evp->sigev_notify_function : 0, 1);
    if (scan)
        lw_timer_helper_scan_end(r == 0, idx);
    if (tramp) {
        if (idx)
            lw_tramp_bind(tramp, idx);
        else if (r != 0)
            lw_tramp_free(tramp);
        /* r == 0 but no record (table full): the trampoline stays bound to
         * no timer and just forwards. */
    }
    errno = e;
    return r;
}

LW_EXPORT int timer_settime(timer_t id, int flags, const struct itimerspec *v,
                            struct itimerspec *old)
{
    int r = LW_REAL(timer_settime)(id, flags, v, old);
    if (r == 0 && v) {
        int e = errno;
        lw_timer_arm(lw_timer_find(LW_TIMER_POSIX, (uintptr_t)id), lw_ts_ns(&v->it_value) != 0,
                     lw_ts_ns(&v->it_interval));
        errno = e;
    }
    return r;
}

LW_EXPORT int timer_delete(timer_t id)
{
    int r = LW_REAL(timer_delete)(id);
    if (r == 0) {
        int e = errno;
        lw_timer_delete(lw_timer_find(LW_TIMER_POSIX, (uintptr_t)id));
        errno = e;
    }
    return r;
}

LW_EXPORT int timer_getoverrun(timer_t id)
{
    int r = LW_REAL(timer_getoverrun)(id);
    if (r > 0) {
        int e = errno;
        lw_timer_expired(lw_timer_find(LW_TIMER_POSIX, (uintptr_t)id), (uint64_t)r);
        errno = e;
    }
    return r;
}

LW_EXPORT int timerfd_create(int clk, int flags)
{
    int fd = LW_REAL(timerfd_create)(clk, flags);
    if (fd < 0)
        return fd;
    int e = errno;
    if (lw_fd_track_ok(fd)) {
        struct lw_fd_rec *r =
            lw_fd_open(fd, LW_FD_TIMERFD, (flags & TFD_NONBLOCK) ? LW_FDF_NONBLOCK : 0, 1);
        uint32_t idx = lw_timer_new(LW_TIMER_TIMERFD, (uintptr_t)fd, clk, LW_TN_FD, -1, 0, 1);
        if (r)
            atomic_store_explicit(&r->timer, idx, memory_order_release);
        else
            lw_timer_delete(idx); /* no fd record would ever end it */
    }
    errno = e;
    return fd;
}

LW_EXPORT int timerfd_settime(int fd, int flags, const struct itimerspec *v,
                              struct itimerspec *old)
{
    int r = LW_REAL(timerfd_settime)(fd, flags, v, old);
    struct lw_fd_rec *rec;
    if (r == 0 && v && (rec = lw_fd_get(fd)) != NULL)
        lw_timer_arm(atomic_load_explicit(&rec->timer, memory_order_relaxed),
                     lw_ts_ns(&v->it_value) != 0, lw_ts_ns(&v->it_interval));
    return r;
}

/* alarm/setitimer: one process-wide timer per kind; arming (re)creates the
 * record under the caller's context, disarming deletes it. */
static void rearm(enum lw_timer_kind kind, int which, uint64_t value_ns, uint64_t interval_ns)
{
    lw_timer_delete(lw_timer_find(kind, (uintptr_t)which));
    if (value_ns == 0 || !timer_on())
        return;
    uint32_t idx = lw_timer_new(kind, (uintptr_t)which,
                                which == ITIMER_REAL     ? CLOCK_REALTIME
                                : which == ITIMER_VIRTUAL ? CLOCK_PROCESS_CPUTIME_ID
                                                          : CLOCK_PROCESS_CPUTIME_ID,
                                LW_TN_SIGNAL,
                                which == ITIMER_REAL     ? SIGALRM
                                : which == ITIMER_VIRTUAL ? SIGVTALRM
                                                          : SIGPROF,
                                0, 2);
    lw_timer_arm(idx, true, interval_ns);
}

LW_EXPORT unsigned alarm(unsigned secs)
{
    unsigned r = LW_REAL(alarm)(secs);
    int e = errno;
    lw_timer_delete(lw_timer_find(LW_TIMER_ITIMER, ITIMER_REAL)); /* same kernel timer */
    rearm(LW_TIMER_ALARM, ITIMER_REAL, (uint64_t)secs * 1000000000ull, 0);
    errno = e;
    return r;
}

LW_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *v, struct itimerval *old)
{
    int r = LW_REAL(setitimer)(which, v, old);
    if (r == 0 && v) {
        int e = errno;
        uint64_t val = (uint64_t)v->it_value.tv_sec * 1000000000ull +
                       (uint64_t)v->it_value.tv_usec * 1000ull;
        uint64_t iv = (uint64_t)v->it_interval.tv_sec * 1000000000ull +
                      (uint64_t)v->it_interval.tv_usec * 1000ull;
        if (which == ITIMER_REAL) /* alarm and ITIMER_REAL share one kernel timer */
            lw_timer_delete(lw_timer_find(LW_TIMER_ALARM, ITIMER_REAL));
        rearm(LW_TIMER_ITIMER, (int)which, val, iv);
        errno = e;
    }
    return r;
}
