/* lw_stack.c — stack capture with libunwind.
 *
 * Owns: the caching policy, set on the first capture. UNW_CACHE_GLOBAL shares the
 * unwind-info cache between threads, so a new thread's first unwind does not
 * build (and map) a private cache; unw_backtrace's per-thread trace cache is
 * avoided for the same reason (measured in issue 2: ~120 us and 256 KiB per
 * thread on first use). We walk with unw_init_local + unw_step.
 * Must never: run in a signal handler. Every capture holds the recursion
 * guard (libunwind may take locks, map memory or make its pipe through
 * hooked names: those calls are leakwatch's own).
 */
#define UNW_LOCAL_ONLY
#include "lw_core.h"

#include <libunwind.h>
#include <sys/syscall.h>

static int lw_depth = 32;

int lw_stack_depth(void)
{
    return lw_depth;
}

int lw_stack_init(void)
{
    lw_depth = lw_opt.stack_depth > 0 && lw_opt.stack_depth <= LW_MAX_DEPTH ? lw_opt.stack_depth : 32;
    return 0;
}

/* libunwind is set up by the first capture, not at start: its set-up makes
 * its memory-validation pipe (two descriptors, moved out of the program's
 * range by the pipe2 hook) and reads unwind tables — work and descriptors
 * a process that never captures a stack (one without threads or sockets:
 * most of the processes a build or a test suite starts) should not have.
 * Two first captures at once both set the same policy: harmless. */
static _Atomic int lw_unw_ready;

static void lw_unw_setup(void)
{
    if (LW_LIKELY(atomic_load_explicit(&lw_unw_ready, memory_order_acquire)))
        return;
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_GLOBAL);
    atomic_store_explicit(&lw_unw_ready, 1, memory_order_release);
}

/* Measured on this machine (tests/e2e/preload notes in the report): the
 * unw_step loop costs ~9 us for 10 frames even warm (libunwind locks and
 * looks up unwind info per frame), unw_backtrace ~90 ns once warm but its
 * first use on a thread costs ~190 us and a 256 KiB per-thread trace cache.
 * So: a thread's first LW_FAST_AFTER captures walk with unw_step; a thread
 * that keeps capturing creation stacks (a creator of many threads, an accept
 * loop) switches to unw_backtrace. Blocked stacks always walk (every thread
 * blocks, so the per-thread cache would cost 256 KiB per thread). */
#define LW_FAST_AFTER 2
static LW_TLS unsigned lw_tls_captures;

/* fork: libunwind's global cache has its own lock; a child forked while
 * another thread held it would deadlock on its first unwind. The prepare
 * handler closes the gate and waits (bounded) for running unwinds; captures
 * that arrive meanwhile return no frames. */
static _Atomic int lw_unw_running, lw_unw_gate_closed;
static lw_lock_t lw_alt_lk = LW_LOCK_INIT; /* the shared unwind stack (below) */

static bool lw_unw_enter(void)
{
    atomic_fetch_add(&lw_unw_running, 1);
    if (LW_UNLIKELY(atomic_load(&lw_unw_gate_closed))) {
        atomic_fetch_sub(&lw_unw_running, 1);
        return false;
    }
    lw_tls_guard++;
    lw_unw_setup();
    return true;
}

static void lw_unw_leave(void)
{
    lw_tls_guard--;
    atomic_fetch_sub(&lw_unw_running, 1);
}

void lw_stack_fork_prepare(void)
{
    atomic_store(&lw_unw_gate_closed, 1);
    for (int i = 0; i < 2000 && atomic_load(&lw_unw_running) > 0; i++)
        lw_sys_sleep_ns(10000);
}

void lw_stack_fork_done(bool child)
{
    if (child) {
        atomic_store(&lw_unw_running, 0);
        lw_lock_reset(&lw_alt_lk); /* a capture the bounded wait gave up on */
    }
    atomic_store(&lw_unw_gate_closed, 0);
}

/* The step loop of both walks: the cursor starts in the function that
 * captured the context; step past it plus `skip` callers. */
static __attribute__((always_inline)) inline int lw_steps(unw_cursor_t *c, uintptr_t *frames,
                                                          int max, int skip)
{
    int n = 0, drop = skip;
    while (n < max && unw_step(c) > 0) {
        unw_word_t ip;
        if (unw_get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        if (drop > 0) {
            drop--;
            continue;
        }
        LW_SEQ_WR(frames[n], (uintptr_t)ip); /* may be a blocked stack: see LW_SEQ_WR */
        n++;
    }
    return n;
}

static __attribute__((always_inline)) inline int lw_walk(uintptr_t *frames, int max, int skip)
{
    unw_context_t uc;
    unw_cursor_t c;
    if (max <= 0 || unw_getcontext(&uc) < 0 || unw_init_local(&c, &uc) < 0)
        return 0;
    return lw_steps(&c, frames, max, skip);
}

__attribute__((noinline)) int lw_stack_capture_walk(uintptr_t *frames, int max, int skip)
{
    if (!lw_unw_enter())
        return 0;
    int n = lw_walk(frames, max, skip);
    lw_unw_leave();
    return n;
}

__attribute__((noinline)) int lw_stack_capture(uintptr_t *frames, int max, int skip)
{
    if (max <= 0 || !lw_unw_enter())
        return 0;
    if (lw_tls_captures < LW_FAST_AFTER) {
        lw_tls_captures++;
        int n = lw_walk(frames, max, skip);
        lw_unw_leave();
        return n;
    }
    /* unw_backtrace's first entry is the return address into this function
     * (one more than the walk, whose first step lands in our caller) */
    void *buf[LW_MAX_DEPTH + 16];
    int want = max + skip + 1;
    if (want > (int)(sizeof buf / sizeof buf[0]))
        want = (int)(sizeof buf / sizeof buf[0]);
    int n = unw_backtrace(buf, want);
    lw_unw_leave();
    int k = 0;
    for (int i = skip + 1; i < n && k < max; i++) {
        if (!buf[i])
            break;
        frames[k++] = (uintptr_t)buf[i];
    }
    return k;
}

/* ---- the unwind of a thread blocked past the split, on a shared stack ----
 * A thread blocked longer than LW_STACK_AFTER_NS unwinds once, from inside
 * its wait (docs/design.md §3.6). Walked on the thread's own stack, the
 * context, the cursor, the frame buffer and libunwind's own frames reach a
 * page below anything a thread parked in a wait had touched: ~3.7 KiB of
 * memory per parked thread (10,000 threads blocked once: 107 → 141 MiB).
 * So the context is captured into a shared area and the walk runs on one
 * shared stack, taken under a lock with every signal blocked (a handler
 * must not run on it); the thread's own stack is only read. Captures are
 * rare (once per thread and site) and short, so one stack is enough. */
#define LW_ALT_STACK (128 * 1024)
static char *lw_alt_stack;
static struct {
    unw_context_t uc;
    uintptr_t frames[LW_MAX_DEPTH + 16];
    int max, skip, n;
} lw_alt;

static void lw_alt_walk(void)
{
    unw_cursor_t c;
    /* the cursor starts in lw_stack_capture_alt, which took the context */
    lw_alt.n = unw_init_local(&c, &lw_alt.uc) == 0
                   ? lw_steps(&c, lw_alt.frames, lw_alt.max, lw_alt.skip)
                   : 0;
}

/* Calls fn on the stack whose top is `top` (16-byte aligned), then returns
 * to this one. rbx keeps the old stack pointer (callee-saved, so fn keeps
 * it); everything fn may change is declared clobbered. */
static void lw_call_on_stack(void (*fn)(void), char *top)
{
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %1, %%rsp\n\t"
                     "call *%0\n\t"
                     "mov %%rbx, %%rsp\n\t"
                     :
                     : "r"(fn), "r"(top)
                     : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory",
                       "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#else
    (void)top;
    fn();
#endif
}

__attribute__((noinline)) int lw_stack_capture_alt(void (*use)(const uintptr_t *frames, int n,
                                                               void *arg),
                                                   void *arg, int max, int skip)
{
    if (max <= 0 || !lw_unw_enter())
        return 0;
    if (max > LW_MAX_DEPTH + 16)
        max = LW_MAX_DEPTH + 16;
    sigset_t all, old;
    sigfillset(&all);
    /* raw: glibc's mask calls keep its cancellation and setxid signals */
    lw_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&old, sizeof(long), 0, 0);
    lw_lock(&lw_alt_lk);
    if (!lw_alt_stack)
        lw_alt_stack = lw_mmap(LW_ALT_STACK);
    int n = 0;
    if (lw_alt_stack && unw_getcontext(&lw_alt.uc) == 0) {
        lw_alt.max = max;
        lw_alt.skip = skip;
        lw_alt.n = 0;
        lw_call_on_stack(lw_alt_walk, lw_alt_stack + LW_ALT_STACK);
        n = lw_alt.n;
        if (use)
            use(lw_alt.frames, n, arg);
    }
    lw_unlock(&lw_alt_lk);
    lw_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, sizeof(long), 0, 0);
    lw_unw_leave();
    return n;
}
