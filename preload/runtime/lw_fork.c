/* lw_fork.c — fork handling: the one pthread_atfork registration.
 *
 * Owns: the order in which every table of leakwatch is made consistent
 * around fork. Prepare takes every lock, outermost first: stack unwinding
 * (the unwinding gate keeps libunwind's own lock free), snapshot, registry,
 * contexts, then the fd and timer tables (leaf locks: nothing is locked
 * while they are held). The parent releases them in reverse. The child
 * resets its caches, keeps only the forking thread's record (the others do
 * not exist there), keeps every fd record (fds are inherited) but drops
 * POSIX timers (they are not), and restarts the writer lazily. Snapshot
 * numbering continues; file names carry the child's pid.
 * Must never: start threads or allocate in the child handler.
 */
#include "lw_runtime.h"

static void lw_fork_prepare(void)
{
    if (!lw_running())
        return;
    lw_stack_fork_prepare();
    lw_snapshot_lock_for_fork(true);
    lw_reg_lock();
    lw_ctx_lock_for_fork(true);
    lw_fd_lock_for_fork(true);
    lw_timer_lock_for_fork(true);
}

static void lw_fork_parent(void)
{
    if (!lw_running())
        return;
    lw_timer_lock_for_fork(false);
    lw_fd_lock_for_fork(false);
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
    lw_main_pid = lw_sys_getpid();
    lw_sys_set_owner(lw_main_pid);
    lw_state_set_main(self); /* the child's main thread is the forking one */
    lw_fd_after_fork_child();
    lw_timer_after_fork_child();
    lw_writer_after_fork_child();
    lw_stack_fork_done(true);
}

/* A fork leakwatch did not see: syscall(SYS_fork) and clone() without
 * CLONE_VM run no atfork handler, so the child still holds the parent's
 * tables (and named its snapshots after the parent, and signalled the
 * parent's thread for its SIGTERM). The places that need this process's
 * own tables (a snapshot, the exit snapshot, starting the writer for a new
 * thread) call this first: in such a child it runs the child sequence now
 * and returns true. A child sharing the parent's memory (vfork,
 * clone(CLONE_VM)) must leave everything as it is (the parent goes on
 * with it): false. A fork we saw, or the process itself: true at the cost
 * of one getpid. */
bool lw_fork_adopt(void)
{
    if (LW_LIKELY(!lw_process_changed()))
        return true;
    if (!lw_running() || lw_sys_vm_shared_with_parent())
        return false;
    lw_fork_child();
    return true;
}

void lw_fork_init(void)
{
    pthread_atfork(lw_fork_prepare, lw_fork_parent, lw_fork_child);
}
