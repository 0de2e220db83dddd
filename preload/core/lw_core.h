/* lw_core.h — the core layer's one header: contexts, thread records and
 * their blocked state, wait-object owners, stacks, options, the log and the
 * process state (active flag, recursion guard, current thread).
 *
 * The first part is what the hooks and the resource tables use on host
 * threads inside interposed calls; functions marked [AS-safe] may also run
 * in signal handlers. The rest is the core's own modules, section by
 * section (see docs/design.md section 3.1).
 * Must never: include a header of a layer above (resources, snapshot,
 * runtime, hooks).
 */
#ifndef LW_CORE_H
#define LW_CORE_H

#include "lw_platform.h"

#include <signal.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define LW_MAX_DEPTH 128

/* Context ids: root is 1, 0 means "none". */
typedef uint32_t lw_ctx_id;
#define LW_CTX_NONE 0u
#define LW_CTX_ROOT 1u

/* True once the shim is initialised and recording; false while disabled,
 * during init, or inside leakwatch's own code on this thread (the
 * recursion guard). Hooks that see false just forward. [AS-safe] */
bool lw_active(void);

/* Recursion guard around leakwatch's own work on this thread (libc calls it
 * makes must not be recorded). Returns false when already inside. [AS-safe] */
bool lw_guard_enter(void);
void lw_guard_leave(void);

/* The calling thread's current context (its own, or one it entered through
 * the API). LW_CTX_ROOT for threads leakwatch knows nothing of. */
lw_ctx_id lw_ctx_current(void);
/* Take/drop a reference so a context outlives its thread while a resource
 * (socket, timer) it owns is alive. */
void lw_ctx_ref(lw_ctx_id id);
void lw_ctx_unref(lw_ctx_id id);
/* Is `c` equal to `ancestor` or one of its descendants? (never for
 * LW_CTX_NONE; leakwatch_verify_ctx counts what lives under a context) */
bool lw_ctx_is_under(lw_ctx_id c, lw_ctx_id ancestor);

/* Lowest common ancestor of two live contexts (docs/design.md §1.2);
 * LW_CTX_NONE when either is no longer live. Takes the context lock: slow
 * paths only. */
lw_ctx_id lw_ctx_lca(lw_ctx_id a, lw_ctx_id b);
/* Is `cur` the context `own` or one of its descendants? A per-thread memo
 * answers repeats without the lock. */
bool lw_ctx_covers(lw_ctx_id own, lw_ctx_id cur);

/* Capture the caller's stack (return addresses, innermost first), skipping
 * `skip` frames of leakwatch itself. Returns the number of frames (<= max).
 * Not AS-safe; may be slow the first time on a thread. */
int lw_stack_capture(uintptr_t *frames, int max, int skip);
/* Frames kept per stack (the stack_depth option). */
int lw_stack_depth(void);

/* One line on leakwatch's log, prefixed "leakwatch[PID]: ". Capped so a
 * repeated message cannot flood the host's stderr. [AS-safe] */
void lw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log only the first time `once` is seen false (it is then set). */
void lw_log_once(int *once, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Blocked-state bookkeeping for a wait on something other than a
 * thread-core primitive (sockets, poll, timerfd reads). `call` is a static
 * string, `family` one of the schema's families. Returns a token to pass to
 * lw_wait_end (0 when not recording). */
#define LW_WAIT_FDS 64 /* fds listed for one poll/select/epoll wait */
struct lw_wait_info {
    const char *call;
    const char *family;
    uintptr_t object;      /* 0 if none */
    int fd;                /* -1 if none */
    const int *fds;        /* poll/select/epoll fds, may be NULL */
    int nfds;
    int64_t timeout_ns;    /* -1 infinite; relative, or a deadline (deadline_clk) */
    lw_ctx_id owner;       /* owner context of the object/fd, LW_CTX_NONE if unknown */
    void *caller;          /* __builtin_return_address(0) of the hook */
    int deadline_clk;      /* 0: timeout_ns is relative; else clockid + 1 and
                            * timeout_ns the absolute deadline on that clock */
};
uintptr_t lw_wait_begin(const struct lw_wait_info *wi);
void lw_wait_end(uintptr_t token);

/* Complete blocked stacks (docs/design.md §3.6). The first wait at a call
 * site records only the caller frame; a hook whose wait can be split waits
 * at most LW_STACK_AFTER_NS first and, if that expires, calls
 * lw_wait_complete (directly, from the hook: the unwind starts there)
 * before it waits on. */
/* About 100 ms, but not a round figure: the thread is briefly awake at
 * the split, and since Linux 6.4 a process-wide signal (an itimer's
 * SIGALRM) goes to a thread of the process that is running when it is
 * sent; a split that coincided with a program's own 100 ms timer changed
 * which thread took its signal (tests/e2e/sockets sendsem, 1 run in 3). */
#define LW_STACK_AFTER_NS 113000000LL
/* Call sites whose blocked stack a thread keeps: an event loop on blocking
 * descriptors waits at three (poll, recv, send), and a loop over more
 * sites than slots never finds its stack and pays a lazy wait's extra
 * readiness poll at every receive (docs/design.md §3.6). */
#define LW_BSITES 4
/* lw_wait_lazy(tok) (below, with the thread record): tok's wait is at a
 * site whose blocked stack is the caller frame alone */
/* Unwinds the whole blocked stack into the active wait's record. resumed:
 * the hook returns to the program as a wake-up (a condition variable's
 * spurious wake-up) and the program's next wait at the same site continues
 * this one (same start time, not counted as a wake-up). */
void lw_wait_complete(uintptr_t token, bool resumed);
/* lim = now on clk + LW_STACK_AFTER_NS; false when the call's own deadline
 * abs (NULL: none) is earlier or invalid (then the call is not split). */
bool lw_wait_split(clockid_t clk, const struct timespec *abs, struct timespec *lim);

/* ---- options (lw_options.c) ---- */
#define LW_PATH_MAX 512
struct lw_options {
    char output[LW_PATH_MAX];
    int at_start;
    int at_exit;
    int exit_grace_ms;
    int signo;
    int interval_ms;
    int interval_keep;
    int stack_depth;
    char log[LW_PATH_MAX];
    int quiet;
    int help;
    int enabled;
    int channel;
};
extern struct lw_options lw_opt;
void lw_options_defaults(struct lw_options *o);
/* Parses "k=v:k=v" into o; each bad item gets one line through `err` (NULL:
 * lw_log). Returns the number of bad items. */
int lw_options_parse(struct lw_options *o, const char *s,
                     void (*err)(const char *msg, void *arg), void *arg);
void lw_options_help(void);
/* Every option's key and value, in table order (the snapshot's "options"
 * object): str for LW_OPTV_STR, num otherwise. */
enum lw_optv { LW_OPTV_STR, LW_OPTV_BOOL, LW_OPTV_INT };
typedef void (*lw_option_fn)(void *arg, const char *key, enum lw_optv type, const char *str,
                             int num);
void lw_options_each(const struct lw_options *o, lw_option_fn fn, void *arg);
const char *lw_signame(int signo);
/* LEAKWATCH_OPTIONS straight from environ (no getenv, no malloc). */
const char *lw_env(const char *name);

/* ---- log (lw_log.c) ---- */
/* "stderr" or a path; quiet: no messages at all (the quiet option).
 * Returns the descriptor it keeps open for a path, or -1. */
int lw_log_open(const char *dest, bool quiet);
void lw_log_reset(void);
int lw_log_count(void);

/* ---- state (lw_state.c) ---- */
enum { LW_ST_OFF = 0, LW_ST_INIT = 1, LW_ST_RUN = 2, LW_ST_DISABLED = 3 };
extern _Atomic int lw_state;
extern LW_TLS int lw_tls_guard;
extern LW_TLS struct lw_thread *lw_self;
extern int lw_main_pid;
extern char lw_init_cwd[LW_PATH_MAX];
extern uint64_t lw_init_ns;
static inline bool lw_running(void)
{
    return LW_LIKELY(atomic_load_explicit(&lw_state, memory_order_relaxed) == LW_ST_RUN);
}
/* lw_active() for the hot hooks: two loads and no call. */
static inline __attribute__((always_inline)) bool lw_active_inline(void)
{
    return lw_running() && LW_LIKELY(!lw_tls_guard);
}
/* The current thread's record, attaching the main thread lazily. */
struct lw_thread *lw_self_get(void);
/* The main thread's record (lw_init.c makes it; a fork child's is the
 * forking thread's). */
void lw_state_set_main(struct lw_thread *t);
/* leakwatch's own writer thread (lw_writer.c starts it and sets these):
 * its tid, and 1 while one is being started (its tid not yet published).
 * Snapshots leave that thread out of the /proc scan. */
extern _Atomic int lw_writer_tid;
extern _Atomic int lw_writer_starting;
/* This process image (lw_ctl.c names them at start-up; every snapshot
 * carries them): 16 hex digits, new at each exec, and the image this exec
 * replaced ("" = none). */
extern char lw_image_id[17];
extern char lw_replaced_image[17];

/* ---- thread records (lw_registry.c) ---- */
#define LW_CTX_STACK 8
enum { LW_TK_MAIN = 0, LW_TK_TRACKED = 1 };
enum { LW_EXIT_NONE = 0, LW_EXIT_RETURN, LW_EXIT_PTHREAD_EXIT, LW_EXIT_CANCELLED };
/* The blocked state is a seqlock's data: written only by its thread,
 * copied by snapshots that retry when the sequence moved. Relaxed atomic
 * word accesses (plain moves on x86-64 and arm64) keep that race-free in
 * the C11 model, so ThreadSanitizer checks it without a suppression. */
#define LW_SEQ_WR(lv, v) __atomic_store_n(&(lv), (v), __ATOMIC_RELAXED)
#define LW_SEQ_RD(lv) __atomic_load_n(&(lv), __ATOMIC_RELAXED)
struct lw_blocked {
    const char *call;
    const char *family;
    uintptr_t object;
    uintptr_t caller;
    int fd;
    int nfds;
    int fds[LW_WAIT_FDS];
    lw_ctx_id owner;
    int holder_tid;
    int join_tid;
    uint64_t since_ns;
    int64_t timeout_ns;
    int deadline_clk; /* as in lw_wait_info: the snapshot makes it relative */
    int nstack;
};
struct lw_thread {
    uint32_t in_use;
    uint32_t filling; /* allocated, fields not yet written: snapshots skip it */
    uint32_t index;
    struct lw_thread *next_free;
    struct lw_thread *hash_next;
    pthread_t pt;
    int hashed;
    int pinned; /* pthread_create has not returned yet: the record stays */
    uint64_t serial; /* allocation number: tells a reused record apart */
    int tid;
    int creator_tid;
    int kind;
    uint64_t created_ns;
    uint64_t exited_ns;
    uint64_t cancel_req_ns;
    uintptr_t start;
    void *(*fn)(void *);
    void *arg;
    lw_ctx_id ctx;
    lw_ctx_id ctx_stack[LW_CTX_STACK];
    int ctx_depth;
    int ctx_overflow;
    uint32_t ctx_bgmask; /* bit i: ctx_stack[i] is LEAKWATCH_BACKGROUND */
    int joined, detached, exited, exit_kind;
    int sigstate; /* creator's snapshot-signal mask state (lw_sigmask.c) */
    char name[16];
    _Atomic uint64_t waits;
    _Atomic uint64_t wakes_since_cancel;
    /* blocked state: written only by the thread itself, read by the
     * snapshot under this seqlock (odd = being written) */
    _Atomic uint32_t seq;
    int blocked;
    struct lw_blocked b;
    /* blocked stacks of the last LW_BSITES call sites (lw_registry.c); the
     * active wait's stack is slot bslot (seqlocked, like b) */
    struct lw_bsite {
        uintptr_t ip, sp; /* call site: hook return address + frame */
        int n;            /* frames in the slot */
        int full;         /* a full unwind, not just the caller */
        uint32_t used;    /* bclock when last waited at: the oldest is replaced */
        int next;         /* the slot waited at after this one last time */
    } bsite[LW_BSITES];
    int bslot;
    uint32_t bclock;
    uint32_t bunwinds; /* full unwinds done for blocked stacks */
    /* a split wait returned to the program as a wake-up (lw_wait_complete
     * resumed): its next wait at the same site and object continues it */
    int bresume;
    uintptr_t bresume_ip, bresume_obj;
    uint64_t bresume_since; /* the continued wait's start */
    /* the active wait cannot outlast LW_STACK_AFTER_NS (its own timeout is
     * shorter): its stack is b.caller alone and no slot was used
     * (docs/design.md §3.6; seqlocked) */
    int bshort;
    /* coarse time from which a short wait may use a site slot again */
    uint64_t bshort_next_ns;
    uintptr_t b_sp; /* frame of the active wait (nesting vs. siglongjmp) */
    int cstack_n;
    uintptr_t stacks[]; /* creation stack [depth], LW_BSITES blocked stack slots [depth] each */
};
static inline uintptr_t *lw_thread_cstack(struct lw_thread *t)
{
    return t->stacks;
}
static inline uintptr_t *lw_thread_bstack(struct lw_thread *t, int slot)
{
    return t->stacks + (1 + slot) * lw_stack_depth();
}
/* The wait that began with token is at a call site whose blocked stack is
 * the caller frame alone: the hook may split it (docs/design.md §3.6).
 * lw_wait_begin sets the token's low bit then, so every hooked wait asks
 * with one test. */
#define LW_TOK_LAZY 1u /* a wait token's low bit (records are 64-byte aligned) */
static inline bool lw_wait_lazy(uintptr_t token)
{
    return token & LW_TOK_LAZY;
}
/* A started thread writes its own tid after its record was published;
 * snapshots read it concurrently (0 = not started yet). */
static inline void lw_thread_set_tid(struct lw_thread *t, int tid)
{
    __atomic_store_n(&t->tid, tid, __ATOMIC_RELAXED);
}
static inline int lw_thread_tid(const struct lw_thread *t)
{
    return __atomic_load_n(&t->tid, __ATOMIC_RELAXED);
}
/* The context stack LEAKWATCH's API enters and leaves (leakwatch_ctx_enter /
 * _leave): the one accessor pair every reader and writer goes through.
 * Past LW_CTX_STACK nested entries the extra levels are only counted
 * (ctx_overflow) and the thread's current context is its own context
 * until they are left again. */
static inline lw_ctx_id lw_thread_current_ctx(const struct lw_thread *t, bool *background)
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
/* Enter `id` on t's stack (a reference is taken while it is there), or
 * only count the entry past LW_CTX_STACK. */
void lw_thread_ctx_push(struct lw_thread *t, lw_ctx_id id, bool background);
/* Leave the innermost entry; -1 when there is none. */
int lw_thread_ctx_pop(struct lw_thread *t);
int lw_registry_init(void);
struct lw_thread *lw_reg_alloc(void); /* zeroed, in_use, filling; NULL when full */
/* The record is filled in: make it visible to lw_reg_foreach (release). */
void lw_reg_publish(struct lw_thread *t);
void lw_reg_free(struct lw_thread *t); /* drops its context ref */
void lw_reg_hash_insert(struct lw_thread *t); /* takes the lock */
/* pthread_create returned: unpin t, hash it (ok) or free it (!ok); frees a
 * record whose detached thread already finished meanwhile. */
void lw_thread_created(struct lw_thread *t, pthread_t pt, bool ok);
struct lw_thread *lw_reg_lookup(pthread_t pt); /* caller holds the lock */
void lw_reg_lock(void);
void lw_reg_unlock(void);
/* Iterate every in-use record; caller holds the lock. */
void lw_reg_foreach(void (*fn)(struct lw_thread *t, void *arg), void *arg);
size_t lw_reg_record_size(void);
/* Thread-exit bookkeeping (any of return, pthread_exit, cancellation). */
void lw_thread_exited(struct lw_thread *t, int kind);
/* Record for pt and its serial (NULL if unknown); takes the lock. */
struct lw_thread *lw_reg_find(pthread_t pt, uint64_t *serial, int *tid);
/* join/detach outcome for a record found before the call (serial checks it
 * is still the same thread's): frees the record when it may go */
void lw_thread_joined(struct lw_thread *t, uint64_t serial);
void lw_thread_detached(struct lw_thread *t, uint64_t serial);
/* Copy the blocked state consistently; returns false when not blocked. */
bool lw_thread_read_blocked(struct lw_thread *t, struct lw_blocked *out, uintptr_t *stack);
/* counters */
extern _Atomic uint64_t lw_stat_created, lw_stat_live, lw_stat_dropped, lw_stat_state_changes;
void lw_registry_after_fork_child(struct lw_thread *keep);
/* extra wait fields the thread hooks set (holder tid, join target) */
uintptr_t lw_wait_begin2(const struct lw_wait_info *wi, int holder_tid, int join_tid);

/* ---- contexts (lw_context.c) ---- */
enum { LW_CK_ROOT = 0, LW_CK_THREAD = 1, LW_CK_EXPLICIT = 2 };
enum { LW_CAUSE_NONE = 0, LW_CAUSE_EXITED, LW_CAUSE_PTHREAD_CANCEL, LW_CAUSE_EXPLICIT,
       LW_CAUSE_PROCESS_EXIT };
#define LW_LABEL_MAX 64
struct lw_ctx_info {
    lw_ctx_id id, parent, origin;
    int kind, cause, background;
    int owner_tid;
    uintptr_t owner_start;
    uint64_t created_ns, cancelled_ns;
    int refs;
    char label[LW_LABEL_MAX];
};
int lw_ctx_init(void);
/* New context under `parent` (LW_CTX_NONE = root), holding one reference
 * for the caller. Returns LW_CTX_NONE when the table is full. */
lw_ctx_id lw_ctx_new(lw_ctx_id parent, int kind, const char *label, int owner_tid,
                     uintptr_t owner_start, bool background);
void lw_ctx_cancel(lw_ctx_id id, int cause);
bool lw_ctx_cancelled(lw_ctx_id id);              /* one load, hot path */
bool lw_ctx_get(lw_ctx_id id, struct lw_ctx_info *out); /* false: not live */
void lw_ctx_set_owner(lw_ctx_id id, int tid);
/* Every live context, in id order; caller-allocated array may be NULL to
 * count. Returns the count. */
size_t lw_ctx_list(struct lw_ctx_info *out, size_t max);
const char *lw_cause_name(int cause);
void lw_ctx_after_fork_child(void);
void lw_ctx_lock_for_fork(bool lock);
extern _Atomic uint64_t lw_stat_ctx_live;

/* ---- wait-object owners (lw_objects.c) ---- */
int lw_objects_init(void);
void lw_obj_set(uintptr_t addr, lw_ctx_id owner);     /* init calls */
void lw_obj_init_here(uintptr_t addr);  /* lw_obj_set(addr, lw_ctx_current()), memoised */
void lw_obj_remove(uintptr_t addr);                   /* destroy calls */
lw_ctx_id lw_obj_owner(uintptr_t addr);            /* snapshot: current owner */
struct lw_obj {
    _Atomic uintptr_t addr; /* 0 empty, 1 tombstone */
    _Atomic lw_ctx_id owner;
};
/* The calling context touched the object (wait, signal, broadcast, post,
 * futex wake): owner := LCA(owner, current context). The memo: this
 * thread's last two objects (a ping-pong waits on one and wakes the other),
 * each with its table slot and the owner it left there, which covered the
 * thread's context; a touch is a no-op while the slot still holds the
 * object with that owner: TLS loads and two loads of the slot. */
void lw_obj_touch_slow(uintptr_t addr);
struct lw_obj_memo {
    uintptr_t addr;
    struct lw_obj *slot;
    lw_ctx_id owner;
};
extern LW_TLS struct lw_obj_memo lw_ot[2];
static inline __attribute__((always_inline)) bool lw_obj_memo_ok(const struct lw_obj_memo *m,
                                                                 uintptr_t addr)
{
    return atomic_load_explicit(&m->slot->addr, memory_order_acquire) == addr &&
           atomic_load_explicit(&m->slot->owner, memory_order_relaxed) == m->owner;
}
/* true: a memo hit, the touch is a no-op */
static inline __attribute__((always_inline)) bool lw_obj_touch_hit(uintptr_t addr)
{
    if (LW_LIKELY(addr == lw_ot[0].addr && addr) && LW_LIKELY(lw_obj_memo_ok(&lw_ot[0], addr)))
        return true;
    return addr == lw_ot[1].addr && addr && lw_obj_memo_ok(&lw_ot[1], addr);
}
static inline __attribute__((always_inline)) void lw_obj_touch(uintptr_t addr)
{
    if (!lw_obj_touch_hit(addr))
        lw_obj_touch_slow(addr);
}
uint32_t lw_obj_probe_count(void); /* table probes by this thread (tests) */
/* *owner := LCA(*owner, cur) (CAS); returns the owner now. */
lw_ctx_id lw_obj_join(_Atomic lw_ctx_id *owner, lw_ctx_id cur);
void lw_obj_cache_reset(void); /* this thread's memo (ctx enter/leave, tests, fork child) */
extern _Atomic uint64_t lw_stat_objects, lw_stat_objects_dropped;

/* ---- stacks (lw_stack.c) ---- */
int lw_stack_init(void);
/* always the unw_step walk (no per-thread cache): blocked stacks */
int lw_stack_capture_walk(uintptr_t *frames, int max, int skip);
/* The same walk run on one shared stack (a parked thread's own stack is
 * only read): use(frames, n, arg) gets the frames under its lock, with
 * every signal blocked. Returns n. */
int lw_stack_capture_alt(void (*use)(const uintptr_t *frames, int n, void *arg), void *arg, int max,
                         int skip);
void lw_stack_fork_prepare(void);
void lw_stack_fork_done(bool child);

/* ---- Python origins of threads (lw_pyorigin.c) ---- */
/* pthread_create, record being filled: when the calling thread holds the
 * GIL, record its Python frames and its threading.Thread's name/target. */
void lw_python_capture(struct lw_thread *t);
/* The record for (index, serial), copied; false when there is none. */
bool lw_python_get(uint32_t index, uint64_t serial, struct lw_pyinfo *out);

#endif
