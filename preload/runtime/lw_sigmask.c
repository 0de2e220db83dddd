/* lw_sigmask.c — the snapshot signal stays blocked in every program thread
 * (docs/design.md §3.5).
 *
 * Owns: each thread's two bits about the snapshot signal — `view`, whether
 * the *program* blocked it (what pthread_sigmask/sigprocmask report back as
 * the old mask), and `forced`, whether the real mask blocks it only on
 * leakwatch's behalf — and the rules the mask hooks (hook_signal.c) apply:
 * while leakwatch owns the signal, every mask the program sets keeps it
 * blocked and every old mask it reads shows its own view; once the program
 * takes the signal (its own handler, sigwait, signalfd) each thread gets
 * its view back the next time it touches its mask (the one that took it at
 * once, new threads when they start).
 * At start a program thread's view is "not blocked" even when the real mask
 * came in blocked: the launchers (`leakwatch run`, the gate) and an earlier
 * image of the same process block it on leakwatch's behalf.
 * Must never: change a mask bit other than the snapshot signal's, or the
 * result or errno of a mask call.
 */
#include "lw_runtime.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

LW_TLS int lw_tls_sigview;
LW_TLS int lw_tls_sigforced;

/* The snapshot signal is leakwatch's: set by the writer when its handler
 * is installed, cleared when the program takes the signal (lw_writer.c
 * keeps it equal to its own slot's `managed`). */
static _Atomic int lw_sigmask_owned;

void lw_sigmask_own(bool on)
{
    atomic_store_explicit(&lw_sigmask_owned, on, memory_order_relaxed);
}

static int lw_sigmask_held(void)
{
    return lw_opt.signo > 0 && atomic_load_explicit(&lw_sigmask_owned, memory_order_relaxed)
               ? lw_opt.signo
               : 0;
}

void lw_sigmask_init_thread(void)
{
    int s = lw_sigmask_held();
    if (!s || !lw_real_pthread_sigmask)
        return;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, s);
    lw_real_pthread_sigmask(SIG_BLOCK, &one, NULL);
    lw_tls_sigview = 0;
    lw_tls_sigforced = 1;
}

int lw_sigmask_state(void)
{
    return lw_tls_sigview | lw_tls_sigforced << 1;
}

/* The released case: this thread's real mask still blocks the signal for
 * leakwatch; the program never asked for that. */
static void lw_sigmask_unforce(int (*real)(int, const sigset_t *, sigset_t *), int sig)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    int e = errno;
    real(SIG_UNBLOCK, &one, NULL);
    errno = e;
    lw_tls_sigforced = 0;
}

void lw_sigmask_thread_start(int state)
{
    lw_tls_sigview = state & 1;
    lw_tls_sigforced = (state >> 1) & 1;
    if (lw_tls_sigforced && !lw_sigmask_held() && lw_real_pthread_sigmask && lw_opt.signo > 0)
        lw_sigmask_unforce(lw_real_pthread_sigmask, lw_opt.signo);
}

void lw_sigmask_release_self(int sig)
{
    if (lw_tls_sigforced && lw_real_pthread_sigmask && sig > 0)
        lw_sigmask_unforce(lw_real_pthread_sigmask, sig);
}

int lw_sigmask_apply(int (*real)(int, const sigset_t *, sigset_t *), int how, const sigset_t *set,
                     sigset_t *old)
{
    if (lw_tls_guard)
        return real(how, set, old);
    int s = lw_sigmask_held();
    if (LW_LIKELY(!s)) {
        if (LW_UNLIKELY(lw_tls_sigforced) && lw_opt.signo > 0)
            lw_sigmask_unforce(real, lw_opt.signo);
        return real(how, set, old);
    }
    int view = lw_tls_sigview, nview = view;
    sigset_t mine;
    const sigset_t *use = set;
    if (set && (how == SIG_BLOCK || how == SIG_UNBLOCK || how == SIG_SETMASK)) {
        bool in = sigismember(set, s) == 1;
        if (how == SIG_BLOCK)
            nview = view || in;
        else if (how == SIG_UNBLOCK)
            nview = view && !in;
        else
            nview = in;
        if (how != SIG_BLOCK && in != (how == SIG_SETMASK)) {
            mine = *set;
            if (how == SIG_UNBLOCK)
                sigdelset(&mine, s);
            else
                sigaddset(&mine, s);
            use = &mine;
        }
    }
    int r = real(how, use, old);
    if (r != 0)
        return r;
    if (old) {
        int e = errno;
        if (view)
            sigaddset(old, s);
        else
            sigdelset(old, s);
        errno = e;
    }
    lw_tls_sigview = nview;
    lw_tls_sigforced = !nview;
    return r;
}

const sigset_t *lw_sig_keep_blocked(const sigset_t *m, sigset_t *buf)
{
    int s;
    if (!m || lw_tls_guard || !(s = lw_sigmask_held()) || sigismember(m, s) == 1)
        return m;
    *buf = *m;
    sigaddset(buf, s);
    return buf;
}

void lw_sigpending_view(sigset_t *set)
{
    int s;
    if (set && !lw_tls_guard && (s = lw_sigmask_held()))
        sigdelset(set, s);
}

/* ---- exec and spawn (hook_exec.c): no allocation, no lock, no TLS
 * writes: these run in vfork children too ---- */

static void lw_opt_quiet(const char *msg, void *arg)
{
    (void)msg;
    (void)arg;
}

/* Will the image started with this environment run leakwatch with the same
 * snapshot signal? Then leakwatch's block must stay (a signal sent while
 * it loads waits). */
static bool lw_exec_keeps(char *const envp[])
{
    const char *pre = NULL, *opts = NULL;
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
            pre = *e + 11;
        else if (strncmp(*e, "LEAKWATCH_OPTIONS=", 18) == 0)
            opts = *e + 18;
    }
    if (!pre || !strstr(pre, "libleakwatch"))
        return false;
    struct lw_options o;
    lw_options_defaults(&o);
    if (opts)
        lw_options_parse(&o, opts, lw_opt_quiet, NULL);
    return o.enabled && o.signo == lw_opt.signo;
}

/* The snapshot signal if this thread's real mask blocks it for leakwatch
 * alone and the new image will not take it over; 0 otherwise. */
static int lw_exec_unblock(char *const envp[])
{
    int s = lw_opt.signo;
    if (s <= 0 || lw_tls_sigview || !lw_tls_sigforced || lw_exec_keeps(envp))
        return 0;
    return s;
}

int lw_sigmask_before_exec(char *const envp[])
{
    int e = errno, s = lw_exec_unblock(envp);
    if (s) {
        uint64_t one = 1ull << (s - 1);
        lw_sys6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&one, 0, sizeof one, 0, 0);
    }
    errno = e;
    return s;
}

void lw_sigmask_after_exec_failed(int s)
{
    if (s <= 0)
        return;
    int e = errno;
    uint64_t one = 1ull << (s - 1);
    lw_sys6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&one, 0, sizeof one, 0, 0);
    errno = e;
}

bool lw_sigmask_for_child(char *const envp[], sigset_t *m)
{
    int e = errno, s = lw_exec_unblock(envp);
    bool r = s && lw_real_pthread_sigmask && lw_real_pthread_sigmask(SIG_BLOCK, NULL, m) == 0;
    if (r)
        sigdelset(m, s);
    errno = e;
    return r;
}
