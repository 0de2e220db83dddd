/* hook_signal.c — sigaction() and signal(), so the program's own handlers
 * always win over leakwatch's.
 *
 * Owns: the interposed names only; lw_writer.c owns leakwatch's handlers.
 * When the program sets an action for a signal leakwatch is handling
 * (snapshot signal, SIGINT/SIGTERM for the exit snapshot), leakwatch steps
 * aside for good; a query reports the action that was there before
 * leakwatch, never leakwatch's own handler.
 * Must never: change the result or errno of a call for any other signal.
 */
#include "lw_hooks.h"

#include <errno.h>
#include <string.h>

LW_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    LW_ENSURE(sigaction);
    struct sigaction prev;
    if (!lw_sig_managed(sig, &prev))
        return lw_real_sigaction(sig, act, old);
    if (act) {
        int rc = lw_real_sigaction(sig, act, NULL);
        if (rc != 0)
            return rc;
        lw_sig_release(sig);
    }
    if (old)
        *old = prev;
    return 0;
}

typedef void (*lw_sighandler_t)(int);

LW_EXPORT lw_sighandler_t signal(int sig, lw_sighandler_t h)
{
    LW_ENSURE(signal);
    struct sigaction prev;
    if (!lw_sig_managed(sig, &prev))
        // cppcheck-suppress CastIntegerToAddressAtReturn ; it cannot see the list's type
        return lw_real_signal(sig, h);
    /* glibc's signal(): BSD semantics (SA_RESTART, handler stays) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, sig);
    if (lw_real_sigaction(sig, &sa, NULL) != 0)
        return SIG_ERR;
    lw_sig_release(sig);
    return (prev.sa_flags & SA_SIGINFO) ? (lw_sighandler_t)(void *)prev.sa_sigaction
                                        : prev.sa_handler;
}

/* sigset() installs through glibc's internal sigaction, past the hook
 * above, and would return leakwatch's handler as the previous disposition.
 * Forward it, then report what was there before leakwatch. */
LW_EXPORT lw_sighandler_t sigset(int sig, lw_sighandler_t disp)
{
    lw_sighandler_t (*real)(int, lw_sighandler_t) = LW_REAL(sigset);
    if (!real) {
        errno = ENOSYS;
        return SIG_ERR;
    }
    struct sigaction prev;
    if (!lw_sig_managed(sig, &prev)) {
        /* cppcheck 2.10 takes `real` for an int-returning function here */
        // cppcheck-suppress CastIntegerToAddressAtReturn
        return real(sig, disp);
    }
    lw_sighandler_t r = real(sig, disp);
    if (r == SIG_ERR)
        return r;
    if (disp != SIG_HOLD)
        lw_sig_release(sig);
    if (r == SIG_HOLD)
        return r;
    return (prev.sa_flags & SA_SIGINFO) ? (lw_sighandler_t)(void *)prev.sa_sigaction
                                        : prev.sa_handler;
}

/* ---- the snapshot signal in the program's masks (lw_sigmask.c) ----
 * While the snapshot signal is leakwatch's it stays blocked in every
 * program thread, whatever mask the program sets, and every old mask the
 * program reads shows the program's own view of that bit. */

LW_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    return lw_sigmask_apply(LW_REAL(pthread_sigmask), how, set, old);
}

LW_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    return lw_sigmask_apply(LW_REAL(sigprocmask), how, set, old);
}

/* A temporary mask must not let the snapshot signal in either: it would
 * end the wait early (EINTR) in a program thread. */
LW_EXPORT int sigsuspend(const sigset_t *mask)
{
    sigset_t buf;
    return LW_REAL(sigsuspend)(lw_sig_keep_blocked(mask, &buf));
}

LW_EXPORT int sigpending(sigset_t *set)
{
    int r = LW_REAL(sigpending)(set);
    if (r == 0)
        lw_sigpending_view(set);
    return r;
}

/* Waiting for the snapshot signal synchronously means the program owns
 * it: leakwatch steps aside before the wait (as for a handler). */
LW_EXPORT int sigwait(const sigset_t *set, int *sig)
{
    lw_sig_claim_set(set);
    return LW_REAL(sigwait)(set, sig);
}

LW_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    lw_sig_claim_set(set);
    return LW_REAL(sigwaitinfo)(set, info);
}

LW_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *t)
{
    lw_sig_claim_set(set);
    return LW_REAL(sigtimedwait)(set, info, t);
}

LW_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
    lw_sig_claim_set(mask);
    return LW_REAL(signalfd)(fd, mask, flags);
}
