/* lw_snap_locks.c — turns an untimed lock mark (hook_wait.c) into a blocked
 * wait when a snapshot is taken.
 *
 * A mark says "inside pthread_mutex_lock(obj) since an unknown time"; it is a
 * wait only if the kernel shows the thread asleep in futex on a word inside
 * that lock (a thread that is still acquiring, or a stale mark left by a
 * siglongjmp out of the call, is not). The start of the wait is when the
 * scheduler last ran the thread (/proc/.../sched se.exec_start: a sleeping
 * thread has not run since it blocked), moved to CLOCK_MONOTONIC through the
 * writer's own exec_start, which is "now" on the same clock to within a
 * tick. Without that file (a kernel without CONFIG_SCHED_DEBUG) the
 * snapshot time is used, the latest the wait can have begun, as for waits
 * seen only through /proc.
 * Runs only in the snapshot writer; reads the lock word with a call that
 * fails instead of faulting (the lock may be freed the moment the waiter
 * gets it).
 */
#include "lw_snap.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

void lw_lock_mark_read(struct lw_thread *t, struct lw_lock_mark *mk)
{
    memset(mk, 0, sizeof *mk);
    uintptr_t obj = atomic_load_explicit(&t->lk_obj, memory_order_acquire);
    if (!obj)
        return;
    mk->caller = atomic_load_explicit(&t->lk_caller, memory_order_relaxed);
    mk->kind = atomic_load_explicit(&t->lk_kind, memory_order_relaxed);
    /* cleared meanwhile: no wait; re-marked on the same lock: the fields
     * read belong to that call or the one before, on the same object */
    if (atomic_load_explicit(&t->lk_obj, memory_order_acquire) == obj && mk->kind)
        mk->obj = obj;
}

/* se.exec_start of a thread, in ns of the scheduler's clock; 0 if unknown */
static uint64_t lw_exec_start(int taskfd, int tid)
{
    char path[48], buf[2048];
    snprintf(path, sizeof path, "%d/sched", tid);
    int fd = lw_sys_openat(taskfd, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ssize_t n = lw_sys_read(fd, buf, sizeof buf - 1);
    lw_sys_close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *p = strstr(buf, "se.exec_start");
    if (!p || !(p = strchr(p, ':')))
        return 0;
    while (*++p == ' ')
        ;
    uint64_t ms = 0, frac = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        ms = ms * 10 + (uint64_t)(*p - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
            frac = frac * 10 + (uint64_t)(*p - '0');
    for (; digits < 6; digits++)
        frac *= 10;
    return ms * 1000000u + frac;
}

bool lw_lock_mark_wait(struct lw_lock_clock *clk, int taskfd, int tid,
                       const struct lw_lock_mark *mk, char state, long nr, uintptr_t arg0,
                       uint64_t created_ns, struct lw_blocked *b, uintptr_t *stack)
{
    if (!mk->obj || (state != 'S' && state != 'D') || nr != SYS_futex || arg0 < mk->obj ||
        arg0 >= mk->obj + mk->kind->size)
        return false;
    memset(b, 0, sizeof *b);
    b->call = mk->kind->call;
    b->family = mk->kind->family;
    b->object = mk->obj;
    b->caller = mk->caller;
    b->fd = -1;
    b->timeout_ns = -1;
    b->nstack = 1;
    stack[0] = mk->caller;
#ifdef __GLIBC__
    if (!strcmp(b->family, "mutex")) {
        int owner = 0;
        if (lw_sys_peek(mk->obj + offsetof(pthread_mutex_t, __data.__owner), &owner,
                        sizeof owner) == 0)
            b->holder_tid = owner & 0x3fffffff; /* FUTEX_TID_MASK: drop robust bits */
    }
#endif
    if (!clk->known) {
        clk->known = true;
        uint64_t self = lw_exec_start(taskfd, lw_gettid());
        clk->now = lw_now_ns();
        clk->offset = self ? (int64_t)(clk->now - self) : 0;
        clk->ok = self != 0;
    }
    uint64_t since = clk->now, ran = clk->ok ? lw_exec_start(taskfd, tid) : 0;
    if (ran && (int64_t)ran + clk->offset < (int64_t)clk->now)
        since = (uint64_t)((int64_t)ran + clk->offset);
    b->since_ns = since < created_ns ? created_ns : since;
    return true;
}
