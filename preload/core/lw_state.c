/* lw_state.c — the process-wide state every layer reads: the active flag,
 * the recursion guard, the current thread's record and context, and which
 * thread is leakwatch's own.
 *
 * Owns: the state machine's variable (off -> init -> running/disabled;
 * lw_init.c drives it), the initial-exec TLS guard, the current thread's
 * record pointer (the main thread's attached lazily), the current-context
 * accessor, the writer thread's tid (lw_writer.c sets it; snapshots skip
 * that thread).
 * Must never: call up into the runtime (it is called from every layer),
 * allocate, or lock.
 */
#include "lw_core.h"


_Atomic int lw_state;
LW_TLS int lw_tls_guard;
LW_TLS struct lw_thread *lw_self;
int lw_main_pid;
char lw_init_cwd[LW_PATH_MAX];
uint64_t lw_init_ns;
static struct lw_thread *lw_main_rec;
_Atomic int lw_writer_tid;
_Atomic int lw_writer_starting;
char lw_image_id[17];
char lw_replaced_image[17];

bool lw_active(void)
{
    return lw_running() && !lw_tls_guard;
}

bool lw_guard_enter(void)
{
    if (lw_tls_guard)
        return false;
    lw_tls_guard = 1;
    return true;
}

void lw_guard_leave(void)
{
    lw_tls_guard = 0;
}

struct lw_thread *lw_self_get(void)
{
    struct lw_thread *t = lw_self;
    if (LW_LIKELY(t != NULL))
        return t;
    /* The main thread's record is made by whichever thread initialised. */
    if (lw_main_rec && lw_gettid() == lw_sys_getpid() && lw_main_rec->tid == lw_gettid() &&
        !lw_main_rec->exited) {
        lw_self = lw_main_rec;
        return lw_main_rec;
    }
    return NULL;
}

void lw_state_set_main(struct lw_thread *t)
{
    lw_main_rec = t;
}

lw_ctx_id lw_ctx_current(void)
{
    return lw_thread_current_ctx(lw_self_get(), NULL);
}
