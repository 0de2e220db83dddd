/* lw_init.c — start-up: the one routine that initialises every module.
 *
 * Owns: the order of start-up (real functions, options, log, tables,
 * stacks, the main thread's record, fork handling, the writer) and the
 * at_start snapshot. lw_init runs from the constructor or lazily from the
 * first hook (another library's constructor may start threads before ours
 * ran); a second caller waits for the first, bounded.
 * Must never: allocate through malloc before options say we are enabled,
 * be called back into by the modules it initialises (they read lw_state.c),
 * or block a thread that is not initialising for more than ~2 s.
 */
#include "lw_runtime.h"

#include <errno.h>
#include <sys/syscall.h>

static _Atomic int lw_init_tid;

/* LEAKWATCH_OPTIONS errors: one line each, unless an earlier item said
 * quiet=1. */
static void lw_init_option_error(const char *msg, void *arg)
{
    (void)arg;
    if (!lw_opt.quiet)
        lw_log("%s", msg);
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
    lw_state_set_main(t);
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
    lw_sys_set_owner(lw_main_pid);
    lw_options_defaults(&lw_opt);
    lw_options_parse(&lw_opt, lw_env("LEAKWATCH_OPTIONS"), lw_init_option_error, NULL);
    int log_fd = lw_log_open(lw_opt.log, lw_opt.quiet);
    if (log_fd >= 0)
        lw_fd_mark_internal(log_fd, true); /* the program's close loops leave it */
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
    lw_python_init();
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

/* ---- the exit snapshot's place in exit() (docs/design.md section 3.4) ----
 * exit() runs the atexit handlers (last registered first), then _dl_fini,
 * registered before main ran, which runs every library's destructors.
 * Other libraries tear down their own threads there: libuv.so's destructor
 * joins its threadpool and closes its signal pipe. An exit snapshot taken
 * from an atexit handler registered at start, or from our own destructor
 * (_dl_fini reaches it before libuv's: an unrelated object loaded earlier),
 * saw them all alive. So our destructor registers one more exit handler,
 * not tied to our library (dso NULL: __cxa_finalize of our own object
 * would run it at once); exit() runs handlers registered while it runs,
 * after _dl_fini has returned: the snapshot then follows every library's
 * teardown. Also runs in a forked child that exits: its own exit snapshot,
 * with the child's pid in the file name. */
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static void lw_atexit_late(void *arg)
{
    (void)arg;
    /* in a child forked behind libc's back: its own tables first; a vfork
     * child's exit() takes none (the parent's state is not its own) */
    if (lw_fork_adopt())
        lw_exit_snapshot();
}

__attribute__((destructor)) static void lw_init_fini(void)
{
    if (!lw_opt.at_exit || !lw_running())
        return;
    if (__cxa_atexit(lw_atexit_late, NULL, NULL) != 0)
        lw_atexit_late(NULL); /* no room for a handler: as late as we can */
}
