/* lw_runtime.h — the runtime layer's one header: start-up (lw_init.c), the
 * fork sequence (lw_fork.c), the writer thread and its triggers
 * (lw_writer.c); lw_api.c exports the public table and declares nothing.
 * Must never: be included by a layer below (snapshot, resources, core,
 * platform): they never call up into the runtime.
 */
#ifndef LW_RUNTIME_H
#define LW_RUNTIME_H

#include "lw_snapshot.h"

/* ---- start-up (lw_init.c) ---- */
/* Lazy initialisation from whichever hook runs first. */
void lw_init(void);

/* ---- writer thread and triggers (lw_writer.c) ---- */
void lw_writer_init(void);
void lw_writer_kick(char what); /* AS-safe */
/* A thread is ending by thread exit; the process's first thread leaving
 * makes the writer leave once it is the last thread (lw_writer.c). */
void lw_writer_thread_leaving(void);
void lw_writer_after_fork_child(void);
/* Start this process's writer thread (and with it the control channel) if
 * it has none: a forked child gets one at its first wait. Cheap when it
 * runs already (two loads). */
void lw_writer_ensure(void);
/* Stop the writer thread (unshare/setns need a single-threaded process);
 * true when it was running and is now gone. */
bool lw_writer_stop(void);
/* main called pthread_exit: the writer must leave once it is alone, or the
 * process never ends (glibc ends it when its last thread exits) */
extern _Atomic int lw_main_gone;
void lw_exit_snapshot(void);
/* sigaction/signal interplay (hook_signal.c asks these) */
bool lw_sig_managed(int sig, struct sigaction *prog_old);
void lw_sig_release(int sig);
bool lw_snapsig_managed(void); /* the snapshot signal is leakwatch's */
void lw_sig_claim(int sig);    /* the program waits for it itself */
void lw_sig_claim_set(const sigset_t *set); /* sigwait/signalfd on a set */

/* ---- the snapshot signal in program threads' masks (lw_sigmask.c) ---- */
/* the writer says whether the snapshot signal is leakwatch's */
void lw_sigmask_own(bool on);
void lw_sigmask_init_thread(void);
int lw_sigmask_state(void); /* to hand to a new thread */
void lw_sigmask_thread_start(int state);
void lw_sigmask_release_self(int sig);
int lw_sigmask_apply(int (*real)(int, const sigset_t *, sigset_t *), int how, const sigset_t *set,
                     sigset_t *old);
/* A signal mask a program passes to a wait (ppoll, pselect, epoll_pwait,
 * sigsuspend): m itself, or a copy in buf with the snapshot signal added
 * while leakwatch owns it, so the wait never ends because of a snapshot. */
const sigset_t *lw_sig_keep_blocked(const sigset_t *m, sigset_t *buf);
void lw_sigpending_view(sigset_t *set);
/* exec/spawn: put the program's view back for an image that will not run
 * leakwatch (returns what to undo if the exec fails); the mask a spawned
 * child should get (false: leave the spawn as it is) */
int lw_sigmask_before_exec(char *const envp[]);
void lw_sigmask_after_exec_failed(int undo);
bool lw_sigmask_for_child(char *const envp[], sigset_t *m);
void lw_signals_install(void);
/* waits for quiescence; returns number of still-alive tracked threads
 * matching filter */
int lw_wait_quiet(int timeout_ms, int quiet_ms, bool (*match)(struct lw_thread *, void *),
                  void *arg);

/* ---- image identity and control channel (lw_ctl.c) ---- */
void lw_image_init(void);          /* lw_init: id, predecessor, endpoint */
int lw_ctl_fd(void);               /* listening descriptor, -1 none */
int lw_ctl_open(void);             /* (re)open the endpoint; -EAGAIN: try later */
void lw_ctl_check(void);           /* forget the endpoint if it is no longer ours */
void lw_ctl_serve(void);           /* answer waiting requests (writer thread) */
void lw_ctl_exit(void);            /* remove our name */
void lw_ctl_after_fork_child(void); /* [AS-safe] */
void lw_ctl_forget_stale(void);     /* a child's writer: the parent's number is not ours */
void lw_ctl_sweep(void);            /* writer start: remove a sample of dead endpoints */

/* ---- fork (lw_fork.c) ---- */
void lw_fork_init(void);
/* This process's tables are leakwatch's to use: true, after running the
 * fork child sequence in a child forked behind libc's back; false in a
 * child sharing its parent's memory (vfork), which must change nothing. */
bool lw_fork_adopt(void);

#endif
