/* lw_writer.c — when snapshots are taken: the writer thread, the snapshot
 * signal, the control channel's requests, interval, at_start/at_exit,
 * SIGINT/SIGTERM.
 *
 * Owns: a helper thread started with the *real* pthread_create and every
 * signal blocked (never recorded, excluded from /proc scans), the wake-up
 * pipe, leakwatch's signal handlers and the exit snapshot. The snapshot
 * signal is blocked in every program thread (hook_signal.c keeps it so) and
 * unblocked only inside the writer's ppoll, so only the writer ever
 * receives it (docs/design.md §3.5).
 * Must never: format, allocate or lock in a signal handler (they only set a
 * flag or write one byte to the pipe), replace a handler the program
 * installed, report our own handler to the program as its "old" action, or
 * read or write a descriptor number that is no longer ours.
 */
#include "lw_runtime.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int lw_pipe[2] = {-1, -1};
static int lw_pipe_stale[2] = {-1, -1}; /* a forked child's copy of the parent's numbers */
static unsigned long lw_pipe_ino; /* both ends share the pipe inode */
static _Atomic int lw_snap_asked;  /* the snapshot signal arrived */
static _Atomic unsigned lw_writer_laps; /* writer loop turns (lw_sig_claim waits on it) */
static _Atomic int lw_writer_pid; /* pid that owns the running writer */
/* 1 while this process's writer runs, in a page every fork wipes: the
 * every-wait check of lw_writer_ensure is one load, not a getpid system
 * call per blocking send, recv or sleep (2 per TCP round trip). NULL on a
 * kernel without MADV_WIPEONFORK (then getpid, as before). */
static _Atomic int *lw_writer_here;
static lw_lock_t lw_writer_lk = LW_LOCK_INIT;
static _Atomic int lw_exit_state; /* 0 not yet, 1 running, 2 written */
static int lw_sig_once;

/* Signals we handle: the snapshot signal, SIGINT, SIGTERM. */
struct lw_sigslot {
    int sig;
    _Atomic int managed;     /* our handler is installed */
    struct sigaction before; /* what was there before us: the program's "old" */
};
static struct lw_sigslot lw_sigs[3];

void lw_writer_kick(char what)
{
    int fd = lw_pipe[1];
    if (fd >= 0)
        lw_sys(SYS_write, fd, &what, 1); /* full pipe: a snapshot is pending anyway */
}

static void lw_snap_handler(int sig)
{
    long e = errno;
    if (!atomic_load(&lw_sigs[0].managed)) {
        /* the program claimed the signal (sigwait, signalfd) while the
         * writer still had it unblocked: give it back to the process */
        lw_sys(SYS_kill, lw_sys_getpid(), sig, 0);
    } else {
        atomic_store(&lw_snap_asked, 1);
        if (lw_gettid() != atomic_load(&lw_writer_tid))
            lw_writer_kick('s'); /* a thread that never had it blocked */
    }
    errno = (int)e;
}

/* SIGINT/SIGTERM with no program handler: ask the writer for the exit
 * snapshot, wait for it (bounded), then die of the signal as before. */
static void lw_term_handler(int sig)
{
    /* raw pid and tid: in a child forked behind libc's back the cached tid
     * is the parent's thread's (the parent died of the child's SIGTERM),
     * and the writer is the parent's (no snapshot: the child just dies) */
    int pid = lw_sys_getpid();
    if (atomic_load(&lw_writer_pid) == pid && atomic_load(&lw_exit_state) == 0) {
        lw_writer_kick('x');
        uint64_t limit = (uint64_t)lw_opt.exit_grace_ms * 1000000u + 3000000000u;
        for (uint64_t waited = 0; waited < limit && atomic_load(&lw_exit_state) != 2;
             waited += 5000000)
            lw_sys_sleep_ns(5000000);
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    lw_sys6(SYS_rt_sigaction, sig, (long)&dfl, 0, _NSIG / 8, 0, 0);
    lw_sys_tgkill(pid, lw_sys_gettid(), sig);
}

static struct lw_sigslot *lw_slot(int sig)
{
    for (int i = 0; i < 3; i++)
        if (lw_sigs[i].sig == sig && sig > 0)
            return &lw_sigs[i];
    return NULL;
}

/* Is leakwatch's handler still the one installed? sigset(), sysv_signal()
 * and bsd_signal() reach the kernel through glibc's internal sigaction, past
 * our hooks: a program that used them owns the signal now. */
static bool lw_still_ours(int sig)
{
    struct sigaction cur;
    if (!lw_real_sigaction || lw_real_sigaction(sig, NULL, &cur) != 0)
        return true;
    if (cur.sa_flags & SA_SIGINFO)
        return false;
    return cur.sa_handler == lw_snap_handler || cur.sa_handler == lw_term_handler;
}

bool lw_sig_managed(int sig, struct sigaction *prog_old)
{
    struct lw_sigslot *s = lw_slot(sig);
    if (!s || !atomic_load(&s->managed))
        return false;
    if (!lw_still_ours(sig)) {
        lw_sig_release(sig);
        return false;
    }
    if (prog_old)
        *prog_old = s->before;
    return true;
}

void lw_sig_release(int sig)
{
    struct lw_sigslot *s = lw_slot(sig);
    if (!s || !atomic_exchange(&s->managed, 0))
        return;
    if (s == &lw_sigs[0])
        lw_sigmask_own(false);
    if (sig == lw_opt.signo) {
        /* the writer leaves its ppoll and blocks it again; the calling
         * thread gets its own view of the mask back at once, the others
         * at their next mask call (lw_sigmask.c) */
        lw_writer_kick('r');
        lw_sigmask_release_self(sig);
        lw_log_once(&lw_sig_once,
                    "the program installed its own handler for %s; snapshots on that signal are off",
                    lw_signame(sig) ? lw_signame(sig) : "the snapshot signal");
    }
}

bool lw_snapsig_managed(void)
{
    return lw_opt.signo > 0 && atomic_load_explicit(&lw_sigs[0].managed, memory_order_relaxed);
}

/* The program waits for the snapshot signal itself (sigwait*, signalfd):
 * it is the program's now. Our handler stays until the writer has left the
 * ppoll that unblocked the signal (a signal caught meanwhile is sent back
 * to the process by the handler), then the earlier disposition returns. */
void lw_sig_claim(int sig)
{
    struct lw_sigslot *s = lw_slot(sig);
    if (!s || sig != lw_opt.signo || !atomic_exchange(&s->managed, 0))
        return;
    if (s == &lw_sigs[0])
        lw_sigmask_own(false);
    unsigned lap = atomic_load(&lw_writer_laps);
    lw_writer_kick('r');
    if (atomic_load(&lw_writer_pid) == lw_sys_getpid())
        for (int i = 0; i < 200 && atomic_load(&lw_writer_laps) == lap; i++)
            lw_sys_sleep_ns(1000000);
    if (lw_still_ours(sig))
        lw_real_sigaction(sig, &s->before, NULL);
    lw_sigmask_release_self(sig);
    lw_log_once(&lw_sig_once, "the program waits for %s itself; snapshots on that signal are off",
                lw_signame(sig) ? lw_signame(sig) : "the snapshot signal");
}

/* sigwait/signalfd on a set that holds the snapshot signal claim it. */
void lw_sig_claim_set(const sigset_t *set)
{
    int s = lw_snapsig_managed() ? lw_opt.signo : 0;
    if (set && !lw_tls_guard && s && sigismember(set, s) == 1)
        lw_sig_claim(s);
}

static void lw_install(int i, int sig, void (*h)(int), bool also_if_ignored)
{
    struct lw_sigslot *s = &lw_sigs[i];
    struct sigaction old, sa;
    s->sig = sig;
    if (!lw_real_sigaction || lw_real_sigaction(sig, NULL, &old) != 0)
        return;
    bool dfl = !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
    bool ign = !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN;
    if (!dfl && !(ign && also_if_ignored))
        return; /* someone (a constructor) got there first: theirs wins */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    s->before = old;
    if (lw_real_sigaction(sig, &sa, NULL) == 0) {
        atomic_store(&s->managed, 1);
        if (s == &lw_sigs[0])
            lw_sigmask_own(true);
    }
}

void lw_signals_install(void)
{
    if (lw_opt.signo > 0) {
        lw_install(0, lw_opt.signo, lw_snap_handler, true);
        lw_sigmask_init_thread(); /* threads made from here on inherit it */
    }
    if (lw_opt.at_exit) {
        if (lw_opt.signo != SIGINT)
            lw_install(1, SIGINT, lw_term_handler, false);
        if (lw_opt.signo != SIGTERM)
            lw_install(2, SIGTERM, lw_term_handler, false);
    }
}

/* ---- waiting for threads to finish ---- */

struct lw_quiet {
    bool (*match)(struct lw_thread *, void *);
    void *arg;
    int n;
    uint64_t sig;
};

static void lw_quiet_one(struct lw_thread *t, void *arg)
{
    struct lw_quiet *q = arg;
    if (!q->match(t, q->arg))
        return;
    q->n++;
    q->sig = q->sig * 31 + atomic_load(&t->waits) * 2 + (uint64_t)LW_SEQ_RD(t->blocked) +
             (uint64_t)lw_thread_tid(t);
}

int lw_wait_quiet(int timeout_ms, int quiet_ms, bool (*match)(struct lw_thread *, void *),
                  void *arg)
{
    uint64_t start = lw_now_ns(), last_change = start, last_sig = 0;
    bool first = true;
    for (;;) {
        struct lw_quiet q = {match, arg, 0, atomic_load(&lw_stat_state_changes)};
        lw_reg_lock();
        lw_reg_foreach(lw_quiet_one, &q);
        lw_reg_unlock();
        uint64_t now = lw_now_ns();
        if (q.n == 0)
            return 0;
        if (first || q.sig != last_sig) {
            last_sig = q.sig;
            last_change = now;
            first = false;
        }
        if (now - start >= (uint64_t)timeout_ms * 1000000u ||
            now - last_change >= (uint64_t)quiet_ms * 1000000u)
            return q.n;
        lw_sys_sleep_ns(5000000);
    }
}

static bool lw_exit_match(struct lw_thread *t, void *arg)
{
    (void)arg;
    return !t->exited && t->kind != LW_TK_MAIN && t->tid != lw_gettid() && t->created_ns;
}

void lw_exit_snapshot(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&lw_exit_state, &expect, 1))
        return;
    if (lw_running()) {
        int g = lw_tls_guard;
        lw_tls_guard = 1;
        if (lw_opt.exit_grace_ms > 0)
            lw_wait_quiet(lw_opt.exit_grace_ms, 50, lw_exit_match, NULL);
        lw_ctx_cancel(LW_CTX_ROOT, LW_CAUSE_PROCESS_EXIT);
        lw_snapshot_write(LW_TRIG_EXIT, NULL);
        lw_tls_guard = g;
    }
    atomic_store(&lw_exit_state, 2);
}

/* ---- the writer thread ---- */

_Atomic int lw_main_gone;

/* glibc ends a process whose main thread called pthread_exit when the last
 * other thread exits (start_thread's exit(0)); our writer would be that
 * thread and the process would hang as a zombie, deaf to SIGTERM (the
 * writer blocks every signal). Once main is gone the writer looks every
 * 50 ms (a /proc read that stops at the first live thread). */
#define LW_MAIN_GONE_POLL_NS 50000000u

/* Every thread of the process but `me` has finished or is a zombie (stops
 * reading /proc at the first live one). */
static bool lw_only_thread_left(int me)
{
    struct lw_dir d;
    if (lw_dir_open(&d, "/proc/self/task") < 0)
        return false; /* cannot tell: stay */
    bool alone = true;
    int tid;
    while (alone && (tid = lw_dir_next(&d, NULL)) > 0) {
        struct lw_proc p;
        if (tid == me || !lw_proc_read(d.fd, tid, &p, false))
            continue;
        /* a zombie main, or a thread past glibc's last-thread count */
        alone = p.state == 'Z' || p.state == 'X' || p.exiting;
    }
    lw_dir_close(&d);
    return alone;
}

static bool lw_writer_alone(void)
{
    return atomic_load(&lw_main_gone) && lw_only_thread_left(lw_gettid());
}

/* Make the wake-up pipe (both ends above the program's range). */
static int lw_pipe_make(int fds[2], unsigned long *ino)
{
    int p[2];
    if (lw_sys_pipe(p) < 0)
        return -1;
    p[0] = lw_sys_fd_high(p[0]);
    p[1] = lw_sys_fd_high(p[1]);
    struct stat st;
    *ino = lw_sys(SYS_fstat, p[0], &st, 0) == 0 ? (unsigned long)st.st_ino : 0;
    lw_fd_mark_internal(p[0], true);
    lw_fd_mark_internal(p[1], true);
    fds[0] = p[0];
    fds[1] = p[1];
    return 0;
}

static bool lw_fd_is(int fd, unsigned long ino)
{
    struct stat st;
    return fd >= 0 && lw_sys(SYS_fstat, fd, &st, 0) == 0 && S_ISFIFO(st.st_mode) &&
           (unsigned long)st.st_ino == ino;
}

/* The program closed one of the pipe's ends (a close-everything loop) or
 * put its own file on the number: forget those numbers (never close them:
 * they may be the program's now) and make a new pipe. The signal handler
 * and lw_writer_kick read lw_pipe[1] once, so they see the old or the new
 * end. */
static bool lw_pipe_check(void)
{
    bool r_ok = lw_fd_is(lw_pipe[0], lw_pipe_ino), w_ok = lw_fd_is(lw_pipe[1], lw_pipe_ino);
    if (r_ok && w_ok)
        return true;
    int fds[2];
    unsigned long ino;
    if (lw_pipe_make(fds, &ino) < 0)
        return false;
    int old[2] = {lw_pipe[0], lw_pipe[1]};
    lw_pipe_ino = ino;
    __atomic_store_n(&lw_pipe[1], fds[1], __ATOMIC_RELEASE);
    lw_pipe[0] = fds[0];
    for (int i = 0; i < 2; i++) {
        if (old[i] < 0)
            continue;
        if (lw_fd_is_internal(old[i]))
            lw_fd_mark_internal(old[i], false);
        if (i == 0 ? r_ok : w_ok)
            lw_sys_close(old[i]);
    }
    return true;
}

/* A thread is ending by thread exit (return from its start routine,
 * pthread_exit, cancellation). When it is the process's first thread —
 * main, or in a forked child the thread that forked, whose tid is the
 * child's pid — the process now ends when its last thread does, which must
 * not be the writer: CPython >= 3.10 returns from the thread that forked
 * (its child hung as a zombie that ignored SIGTERM). */
void lw_writer_thread_leaving(void)
{
    if (lw_running() && lw_gettid() == lw_sys_getpid()) {
        atomic_store(&lw_main_gone, 1);
        lw_writer_kick('m');
    }
}

static void *lw_writer_main(void *arg)
{
    (void)arg;
    lw_tls_guard = 1; /* nothing this thread does is the program's */
    /* named by itself: pthread_setname_np from the starter writes
     * /proc/self/task/TID/comm, which cost every process ~15 ms of wall
     * time at exit on a loaded machine (a do-nothing start+exit measured
     * 26 ms with it, 11 ms without) */
    lw_sys6(SYS_prctl, PR_SET_NAME, (long)"leakwatch", 0, 0, 0, 0);
    atomic_store(&lw_writer_tid, lw_gettid());
    atomic_store(&lw_writer_starting, 0); /* snapshots can now exclude us */
    uint64_t interval = (uint64_t)lw_opt.interval_ms * 1000000u;
    uint64_t next = interval ? lw_now_ns() + interval : 0;
    bool reopen_wait = lw_ctl_open() == -EAGAIN;
    lw_ctl_sweep(); /* other processes' dead endpoints, a bounded sample */
    for (;;) {
        atomic_fetch_add(&lw_writer_laps, 1);
        /* Every signal blocked, but inside ppoll the snapshot signal while
         * it is ours: the one thread of the process that ever gets it. */
        sigset_t m;
        sigfillset(&m);
        if (lw_snapsig_managed())
            sigdelset(&m, lw_opt.signo);
        struct pollfd p[2] = {{lw_pipe[0], POLLIN, 0}, {lw_ctl_fd(), POLLIN, 0}};
        nfds_t np = p[1].fd >= 0 ? 2 : 1;
        struct timespec ts, *tsp = NULL;
        uint64_t left = UINT64_MAX;
        if (interval) {
            uint64_t now = lw_now_ns();
            left = next > now ? next - now : 0;
        }
        if (atomic_load(&lw_main_gone) && left > LW_MAIN_GONE_POLL_NS)
            left = LW_MAIN_GONE_POLL_NS;
        if (reopen_wait && left > 100000000u)
            left = 100000000u;
        if (atomic_load(&lw_snap_asked))
            left = 0;
        if (left != UINT64_MAX) {
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            tsp = &ts;
        }
        long r = lw_sys6(SYS_ppoll, (long)p, (long)np, (long)tsp, (long)&m, _NSIG / 8, 0);
        bool snap = atomic_exchange(&lw_snap_asked, 0), ex = false, quit = false;
        bool pipe_ev = r > 0 && p[0].revents, ctl_ev = r > 0 && np == 2 && p[1].revents;
        if (pipe_ev && !lw_pipe_check())
            pipe_ev = false;
        if (pipe_ev && (p[0].revents & POLLIN) && lw_fd_is(lw_pipe[0], lw_pipe_ino)) {
            char buf[64];
            long n = lw_sys(SYS_read, lw_pipe[0], buf, sizeof buf);
            for (long i = 0; i < n; i++) {
                snap |= buf[i] == 's';
                ex |= buf[i] == 'x';
                quit |= buf[i] == 'q';
            }
        }
        if (ex)
            lw_exit_snapshot();
        else if (snap)
            lw_snapshot_write(LW_TRIG_SIGNAL, NULL);
        if (quit) {
            atomic_store(&lw_writer_tid, 0);
            break;
        }
        if (ctl_ev || reopen_wait || (r == 0 && np == 1)) {
            lw_ctl_check();
            if (ctl_ev && lw_ctl_fd() >= 0)
                lw_ctl_serve();
            reopen_wait = lw_ctl_open() == -EAGAIN;
        }
        if (interval && lw_now_ns() >= next) {
            char done[LW_PATH_MAX];
            if (atomic_load(&lw_exit_state) == 0 &&
                lw_snapshot_write_path(LW_TRIG_INTERVAL, NULL, done, sizeof done) == 0)
                lw_rotate_interval(done);
            next += interval;
            if (next < lw_now_ns())
                next = lw_now_ns() + interval;
        }
        /* Leave as the last thread: glibc then calls exit(0) here, whose
         * exit snapshot still excludes us (lw_writer_tid stays set). */
        if (lw_writer_alone())
            break;
    }
    return NULL;
}

static void lw_writer_start(void)
{
    /* a forked child: the parent's numbers are not leakwatch's here */
    for (int i = 0; i < 2; i++) {
        if (lw_pipe_stale[i] >= 0 && lw_fd_is_internal(lw_pipe_stale[i]))
            lw_fd_mark_internal(lw_pipe_stale[i], false);
        lw_pipe_stale[i] = -1;
    }
    lw_ctl_forget_stale();
    if (lw_pipe[0] < 0 && lw_pipe_make(lw_pipe, &lw_pipe_ino) < 0) {
        lw_log("cannot create the writer pipe; signal and interval snapshots are off");
        return;
    }
    sigset_t all, old;
    sigfillset(&all);
    lw_real_pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t t;
    atomic_store(&lw_writer_starting, 1);
    int r = lw_real_pthread_create(&t, &attr, lw_writer_main, NULL);
    pthread_attr_destroy(&attr);
    lw_real_pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        atomic_store(&lw_writer_starting, 0);
        lw_log("cannot start the writer thread (%s); signal and interval snapshots are off",
               strerror(r));
        return;
    }
    /* Publish its tid now: until a snapshot knows it, it lists the writer
     * as a foreign program thread, and on a loaded machine the writer may
     * not run for a long time (a forked child snapshotting at once saw it).
     * If unknown, the writer publishes it when it runs and the snapshot
     * waits for that, bounded (lw_snap_threads.c). */
    int tid = lw_pthread_tid(t);
    if (tid > 0) {
        atomic_store(&lw_writer_tid, tid);
        atomic_store(&lw_writer_starting, 0);
    }
    atomic_store(&lw_writer_pid, lw_sys_getpid());
    if (lw_writer_here)
        atomic_store(lw_writer_here, 1);
}

void lw_writer_ensure(void)
{
    /* a vfork child shares the page and its 1: it must start nothing */
    if (LW_LIKELY(lw_writer_here && atomic_load_explicit(lw_writer_here, memory_order_relaxed)))
        return;
    if (!(lw_opt.signo > 0 || lw_opt.interval_ms > 0 || lw_opt.at_exit || lw_opt.channel))
        return;
    if (atomic_load_explicit(&lw_writer_pid, memory_order_relaxed) == lw_sys_getpid())
        return;
    lw_lock(&lw_writer_lk);
    if (atomic_load(&lw_writer_pid) != lw_sys_getpid())
        lw_writer_start();
    lw_unlock(&lw_writer_lk);
}

/* Stop the writer so the process is single-threaded again: unshare(2)
 * with CLONE_NEWUSER and setns(2) into a user or mount namespace fail with
 * EINVAL in a multi-threaded process, and a single-threaded host must not
 * lose them because of our helper. Returns true once the thread is gone
 * (bounded wait); lw_writer_ensure starts a new one. */
bool lw_writer_stop(void)
{
    int pid = lw_sys_getpid();
    if (atomic_load(&lw_writer_pid) != pid)
        return false;
    /* started but not yet running (a program calling unshare first thing,
     * on a loaded machine): its tid is needed to see it go */
    for (int i = 0; i < 40000 && atomic_load(&lw_writer_starting); i++)
        lw_sys_sleep_ns(50000);
    int tid = atomic_load(&lw_writer_tid);
    if (tid == 0)
        return false;
    lw_lock(&lw_writer_lk);
    lw_writer_kick('q');
    bool gone = false;
    for (int i = 0; i < 2000 && !gone; i++) {
        gone = lw_sys_tgkill(pid, tid, 0) == -ESRCH;
        if (!gone)
            lw_sys_sleep_ns(1000000);
    }
    if (gone) {
        atomic_store(&lw_writer_pid, 0);
        if (lw_writer_here)
            atomic_store(lw_writer_here, 0);
    }
    lw_unlock(&lw_writer_lk);
    return gone;
}

void lw_writer_init(void)
{
    /* handlers first: the writer's first ppoll must already let the
     * snapshot signal in (one sent before we ran is pending) */
    lw_signals_install();
    lw_writer_here = lw_mmap_wipeonfork(4096);
    if (lw_opt.signo > 0 || lw_opt.interval_ms > 0 || lw_opt.at_exit || lw_ctl_fd() >= 0)
        lw_writer_start();
    if (lw_opt.channel)
        atexit(lw_ctl_exit); /* runs first: a request during exit finds no endpoint */
}

void lw_writer_after_fork_child(void)
{
    /* the writer thread does not exist here; a fresh pipe keeps the
     * child's wake-ups away from the parent's writer */
    lw_lock_reset(&lw_writer_lk);
    atomic_store(&lw_writer_tid, 0);
    atomic_store(&lw_writer_starting, 0); /* a start in flight was the parent's */
    atomic_store(&lw_main_gone, 0);          /* the forking thread is the child's main */
    /* The child's writer makes its own pipe when it starts: making one
     * here would take the child's lowest free numbers. The parent's
     * numbers stay marked as leakwatch's in the fd table until reused
     * (marking takes a lock, which a child handler must not). */
    int old0 = lw_pipe[0], old1 = lw_pipe[1];
    lw_pipe_stale[0] = old0;
    lw_pipe_stale[1] = old1;
    lw_pipe[1] = -1;
    lw_pipe[0] = -1;
    lw_pipe_ino = 0;
    if (old0 >= 0)
        lw_sys_close(old0);
    if (old1 >= 0)
        lw_sys_close(old1);
    lw_ctl_after_fork_child();
    if (atomic_load(&lw_exit_state) == 1)
        atomic_store(&lw_exit_state, 0);
}
