/* lw_timer_snap.c — the snapshot's `timers` array: every live timer record
 * with its state refreshed from the kernel (timer_gettime, timerfd_gettime,
 * getitimer) so `armed` and `next_ns` are true at snapshot time even for
 * one-shot timers that have fired since they were armed.
 *
 * Runs only in the snapshot writer; reads records without the table lock
 * (each value read once). Never modifies a timer of the program.
 */
#include "lw_snapshot.h"

#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

static const char *const tk_names[] = {"posix", "timerfd", "alarm", "itimer"};
static const char *const tn_names[] = {"signal", "thread", "thread_id", "none", "fd"};

static uint64_t tv_ns(const struct timeval *t)
{
    return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_usec * 1000ull;
}

/* Ask the kernel: true when it answered (then next and interval are set). */
static bool kernel_state(const struct lw_timer_rec *t, uint64_t *next, uint64_t *interval)
{
    struct itimerspec its;
    struct itimerval itv;
    switch (t->kind) {
    case LW_TIMER_POSIX:
        if (timer_gettime((timer_t)t->handle, &its) != 0)
            return false;
        break;
    case LW_TIMER_TIMERFD:
        if (timerfd_gettime((int)t->handle, &its) != 0)
            return false;
        break;
    case LW_TIMER_ALARM:
    case LW_TIMER_ITIMER:
        if (getitimer((int)t->handle, &itv) != 0)
            return false;
        *next = tv_ns(&itv.it_value);
        *interval = tv_ns(&itv.it_interval);
        return true;
    default:
        return false;
    }
    *next = lw_ts_ns(&its.it_value);
    *interval = lw_ts_ns(&its.it_interval);
    return true;
}

static void write_one(struct lw_snap *s, struct lw_json *w, struct lw_timer_rec *t, uint32_t idx)
{
    uint64_t next = 0, interval = atomic_load_explicit(&t->interval_ns, memory_order_relaxed);
    bool armed = atomic_load_explicit(&t->armed, memory_order_relaxed);
    bool known = kernel_state(t, &next, &interval);
    if (known)
        armed = next != 0;
    lw_json_obj_begin(w);
    lw_json_kint(w, "id", (int64_t)t->id);
    lw_json_kstr(w, "kind", tk_names[t->kind < 4 ? t->kind : 0]);
    lw_json_kint(w, "handle", (int64_t)t->handle);
    lw_json_kint(w, "clock", t->clock);
    lw_json_kstr(w, "notify", tn_names[t->notify < 5 ? t->notify : 3]);
    if (t->signo >= 0)
        lw_json_kint(w, "signo", t->signo);
    else
        lw_json_knull(w, "signo");
    lw_json_key(w, "callback");
    if (t->callback)
        lw_json_frame(s, w, t->callback);
    else
        lw_json_null(w);
    lw_json_kint(w, "context", t->ctx);
    lw_json_kint(w, "creator_tid", t->creator_tid);
    lw_json_kint(w, "created_ns", (int64_t)t->created_ns);
    int st = lw_snap_stack(s, t->frames, (int)t->nframes);
    if (st >= 0)
        lw_json_kint(w, "creation_stack", st);
    else
        lw_json_knull(w, "creation_stack");
    lw_json_kbool(w, "armed", armed);
    lw_json_kint(w, "interval_ns", (int64_t)interval);
    if (known && armed)
        lw_json_kint(w, "next_ns", (int64_t)next);
    else
        lw_json_knull(w, "next_ns");
    lw_json_kint(w, "expirations",
                 (int64_t)atomic_load_explicit(&t->expirations, memory_order_relaxed));
    lw_json_key(w, "helper_tids");
    lw_json_arr_begin(w);
    uint32_t nh = atomic_load_explicit(&t->nhelpers, memory_order_relaxed);
    for (uint32_t h = 0; h < nh && h < LW_TIMER_HELPERS; h++) {
        int tid = atomic_load_explicit(&t->helpers[h], memory_order_relaxed);
        if (tid > 0)
            lw_json_int(w, tid);
    }
    /* glibc's shared SIGEV_THREAD helper thread, when this timer is the one
     * it is attributed to (see lw_timers_owner_of_tid); also listed alone
     * as `service_tid` (an addition) */
    int sys = lw_timer_sys_helper_of(idx);
    if (sys > 0)
        lw_json_int(w, sys);
    lw_json_arr_end(w);
    lw_json_key(w, "service_tid");
    if (sys > 0)
        lw_json_int(w, sys);
    else
        lw_json_null(w);
    lw_json_obj_end(w);
    if (t->ctx)
        lw_snap_ctx(s, t->ctx);
}

void lw_timers_write(struct lw_snap *s, struct lw_json *w)
{
    lw_json_arr_begin(w);
    uint32_t hi = lw_timer_recs ? lw_timer_high() : 0;
    for (uint32_t k = 1; k < hi; k++) {
        struct lw_timer_rec *t = lw_timer_get(k);
        if (t)
            write_one(s, w, t, k);
    }
    lw_json_arr_end(w);
}
