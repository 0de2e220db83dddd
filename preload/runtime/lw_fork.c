/* lw_fork.c — fork handling.
 *
 * Owns: the pthread_atfork handlers. The parent takes leakwatch's locks
 * before fork (snapshot, registry, contexts, in that order) so the child
 * inherits consistent tables; the child keeps only the forking thread's
 * record (the others do not exist there), resets its caches and restarts
 * the writer lazily. Snapshot numbering continues; file names carry the
 * child's pid.
 * libunwind's own lock is kept free across fork by closing the unwinding
 * gate in prepare (lw_stack.c).
 * Must never: start threads or allocate in the child handler.
 */
#include "lw_internal.h"

void lw_ctx_lock_for_fork(bool lock);

static void lw_fork_prepare(void)
{
    if (!lw_running())
        return;
    lw_stack_fork_prepare();
    lw_snapshot_lock_for_fork(true);
    lw_reg_lock();
    lw_ctx_lock_for_fork(true);
}

static void lw_fork_parent(void)
{
    if (!lw_running())
        return;
    lw_ctx_lock_for_fork(false);
    lw_reg_unlock();
    lw_snapshot_lock_for_fork(false);
    lw_stack_fork_done(false);
}

static void lw_fork_child(void)
{
    if (!lw_running())
        return;
    lw_sys_after_fork_child();
    lw_snapshot_after_fork_child();
    lw_ctx_after_fork_child();
    struct lw_thread *self = lw_self;
    if (self) {
        self->tid = lw_gettid();
        self->kind = LW_TK_MAIN;
    }
    lw_registry_after_fork_child(self);
    lw_state_after_fork_child(self);
    lw_writer_after_fork_child();
    lw_stack_fork_done(true);
}

void lw_fork_init(void)
{
    pthread_atfork(lw_fork_prepare, lw_fork_parent, lw_fork_child);
}
