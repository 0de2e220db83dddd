/* lw_state.c — initialisation, the active flag and the recursion guard.
 *
 * Owns: the process-wide state machine (off -> init -> running/disabled),
 * the initial-exec TLS guard and the current thread's record pointer.
 * lw_init runs from the constructor or lazily from the first hook (another
 * library's constructor may start threads before ours ran).
 * Must never: allocate through malloc before options say we are enabled,
 * or block a thread that is not initialising for more than ~2 s.
 */
#include "lw_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

_Atomic int lw_state;
LW_TLS int lw_tls_guard;
LW_TLS struct lw_thread *lw_self;
int lw_main_pid;
char lw_init_cwd[LW_PATH_MAX];
uint64_t lw_init_ns;
static _Atomic int lw_init_tid;
static struct lw_thread *lw_main_rec;

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

static void lw_make_main_record(void)
{
    struct lw_thread *t = lw_reg_alloc();
    if (!t)
        return;
    t->kind = LW_TK_MAIN;
    t->tid = lw_sys_getpid();
    t->created_ns = lw_init_ns;
    t->ctx = LW_CTX_ROOT;
    lw_ctx_ref(LW_CTX_ROOT);
    lw_ctx_set_owner(LW_CTX_ROOT, t->tid);
    t->pt = 0;
    lw_reg_publish(t);
    lw_main_rec = t;
    if (lw_gettid() == t->tid) {
        t->pt = pthread_self();
        lw_reg_hash_insert(t);
        lw_self = t;
    }
}

void lw_init(void)
{
    int expect = LW_ST_OFF;
    if (!atomic_compare_exchange_strong(&lw_state, &expect, LW_ST_INIT)) {
        /* Another thread initialising: wait for it (bounded), unless it is
         * this thread coming back through a hook. */
        if (expect == LW_ST_INIT && atomic_load(&lw_init_tid) != lw_gettid()) {
            for (int i = 0; i < 2000 && atomic_load(&lw_state) == LW_ST_INIT; i++)
                lw_sys_sleep_ns(1000000);
        }
        return;
    }
    atomic_store(&lw_init_tid, lw_gettid());
    int saved_errno = errno;
    lw_tls_guard++;
    lw_real_init();
    lw_main_pid = lw_sys_getpid();
    lw_options_defaults(&lw_opt);
    lw_options_parse(&lw_opt, lw_env("LEAKWATCH_OPTIONS"), NULL, NULL);
    lw_log_open(lw_opt.log);
    if (lw_opt.help)
        lw_options_help();
    if (!lw_opt.enabled) {
        atomic_store(&lw_state, LW_ST_DISABLED);
        lw_tls_guard--;
        errno = saved_errno;
        return;
    }
    if (lw_sys(SYS_getcwd, lw_init_cwd, sizeof lw_init_cwd, 0) < 0)
        lw_init_cwd[0] = 0;
    lw_init_ns = lw_now_ns();
    lw_baseline_ns = lw_init_ns;
    if (lw_registry_init() < 0 || lw_ctx_init() < 0) {
        lw_log("cannot allocate its tables; disabled");
        atomic_store(&lw_state, LW_ST_DISABLED);
        lw_tls_guard--;
        errno = saved_errno;
        return;
    }
    if (lw_objects_init() < 0)
        lw_log("cannot allocate the wait-object table; object owners not recorded");
    lw_stack_init();
    lw_make_main_record();
    lw_image_init();
    lw_fork_init();
    atomic_store(&lw_state, LW_ST_RUN);
    lw_writer_init();
    lw_tls_guard--;
    if (lw_opt.at_start)
        lw_snapshot_write(LW_TRIG_START, NULL);
    errno = saved_errno;
}

/* After fork: the child's main record is the forking thread's. */
void lw_state_after_fork_child(struct lw_thread *self)
{
    lw_main_pid = lw_sys_getpid();
    lw_main_rec = self;
}

lw_ctx_id lw_thread_current_ctx(struct lw_thread *t, bool *background)
{
    if (background)
        *background = false;
    if (!t)
        return LW_CTX_ROOT;
    if (t->ctx_depth > 0 && !t->ctx_overflow) {
        int i = t->ctx_depth - 1;
        if (background)
            *background = (t->ctx_bgmask >> i) & 1;
        return t->ctx_stack[i];
    }
    return t->ctx ? t->ctx : LW_CTX_ROOT;
}

lw_ctx_id lw_ctx_current(void)
{
    return lw_thread_current_ctx(lw_self_get(), NULL);
}
