/* lw_platform.h — the bottom layer of the shim: everything below the hooks
 * reaches the kernel and the C library through these (docs/design.md
 * section 3.1).
 *
 * Owns: raw system calls (lw_sys.c), the one lock type every table uses,
 * clocks, thread ids, anonymous memory.
 * Must never: include another layer's header, touch errno (raw calls return
 * -errno), allocate, or call a name the shim interposes. Everything declared
 * here is async-signal-safe unless it says otherwise.
 */
#ifndef LW_PLATFORM_H
#define LW_PLATFORM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define LW_EXPORT __attribute__((visibility("default")))
#define LW_HIDDEN __attribute__((visibility("hidden")))
#define LW_TLS __thread __attribute__((tls_model("initial-exec")))
#define LW_LIKELY(x) __builtin_expect(!!(x), 1)
#define LW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The real functions behind the interposed names (one list). */
#include "lw_intercept.h"

/* ---- raw system calls ---- */
long lw_sys6(long nr, long a, long b, long c, long d, long e, long f);
#define lw_sys(nr, a, b, c) lw_sys6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)
int lw_sys_getpid(void);
int lw_sys_open(const char *path, int flags, int mode);
int lw_sys_openat(int dirfd, const char *path, int flags, int mode);
ssize_t lw_sys_read(int fd, void *buf, size_t n);
int lw_sys_write_all(int fd, const void *buf, size_t n); /* 0 or -errno */
int lw_sys_close(int fd);
int lw_sys_unlink(const char *path);
/* device and inode of path (not following a final symlink): 0 or -errno */
int lw_sys_file_id(const char *path, uint64_t *dev, uint64_t *ino);
int lw_sys_rename_noreplace(const char *from, const char *to); /* 0 or -errno */
int lw_sys_pipe(int fds[2]);
/* fd moved above the program's usual range (close-on-exec); fd itself when
 * no higher number is free */
int lw_sys_fd_high(int fd);
void lw_sys_sleep_ns(uint64_t ns);
int lw_sys_tgkill(int pid, int tid, int sig);
/* The signals pending for the calling thread or its process (sigpending,
 * without the hook that hides leakwatch's own signal). 0 or -errno. */
int lw_sys_sigpending(sigset_t *set);
/* reset the forking thread's tid cache (child after fork) */
void lw_sys_after_fork_child(void);
int lw_sys_gettid(void); /* never cached (signalling after a fork we did not see) */

/* ---- which process: the one leakwatch's tables describe is set at init
 * and in a fork child. lw_process_changed() says this is not it: a fork
 * that ran no atfork handler (syscall(SYS_fork), clone()) or a vfork child
 * sharing that process's memory; code changing shared tables then does
 * nothing (one getpid system call: keep it off the every-call paths). */
void lw_sys_set_owner(int pid);
int lw_sys_owner(void);
bool lw_process_changed(void);
/* In such a child: does it share the parent's memory (vfork,
 * clone(CLONE_VM))? True when the kernel will not say. */
bool lw_sys_vm_shared_with_parent(void);

/* ---- clocks: CLOCK_MONOTONIC ns (precise), a cheap coarse variant for hot
 * paths (CLOCK_MONOTONIC_COARSE, a few ms resolution), wall time ---- */
uint64_t lw_now_ns(void);
uint64_t lw_now_coarse_ns(void);
uint64_t lw_now_realtime_ns(void);

/* ---- timeouts, as a wait's blocked state reports them: ns, -1 = for
 * ever ---- */
static inline uint64_t lw_ts_ns(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}
/* A relative timeout (nanosleep, ppoll, futex without an absolute clock). */
static inline int64_t lw_timeout_rel_ns(const struct timespec *rel)
{
    return rel ? (int64_t)rel->tv_sec * 1000000000 + rel->tv_nsec : -1;
}
/* What is left of an absolute deadline on clock clk, 0 once it has passed.
 * Reads the precise clock (vDSO, ~20 ns; a coarse one lags up to a tick and
 * would overstate the timeout): only timed waits pay it. */
int64_t lw_timeout_abs_ns(clockid_t clk, const struct timespec *abs);

/* ---- thread ids ---- */
extern LW_TLS int lw_tls_tid;
int lw_gettid(void); /* cached per thread */
/* A created thread's kernel tid, before it first runs; 0 if unknown. */
int lw_pthread_tid(pthread_t t);

/* ---- the one lock type of leakwatch's own tables (never the host's
 * mutexes): a futex lock, reset in a fork child by storing LW_LOCK_INIT ---- */
typedef struct {
    _Atomic int v;
} lw_lock_t;
#define LW_LOCK_INIT {0}
void lw_lock(lw_lock_t *l);
void lw_unlock(lw_lock_t *l);
static inline void lw_lock_reset(lw_lock_t *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_relaxed);
}
/* Take (hold) or release a table's lock around fork (lw_fork.c). */
static inline void lw_lock_hold(lw_lock_t *l, bool hold)
{
    if (hold)
        lw_lock(l);
    else
        lw_unlock(l);
}

/* ---- numeric /proc directories (lw_proc.c): raw getdents64, no
 * allocation ---- */
struct lw_dir {
    int fd;
    long got, off;
    char buf[4096];
};
int lw_dir_open(struct lw_dir *d, const char *path); /* 0 or -errno */
/* The next entry whose name is a number (tid, fd): that number, its name in
 * *name when name is not NULL (valid until the next call); -1 at the end. */
int lw_dir_next(struct lw_dir *d, const char **name);
void lw_dir_close(struct lw_dir *d);
/* Tids of the calling process; the count or -errno. */
int lw_proc_tids(int *out, int max);

/* One thread's /proc/self/task/TID files, read relative to the task
 * directory's fd (lw_dir.fd): false when the thread is gone. The syscall
 * file is read only when asked (an open per thread). */
struct lw_proc {
    char state;
    bool exiting; /* PF_EXITING: inside the kernel's exit path */
    char comm[64];
    long syscall; /* -1 running/none, -2 unknown */
    uintptr_t arg0;
};
bool lw_proc_read(int taskfd, int tid, struct lw_proc *p, bool want_syscall);

/* ---- memory ---- */
void *lw_mmap(size_t n); /* zeroed anonymous memory, NULL on failure */
/* Zeroed memory that the kernel zeroes again in the child of any fork
 * that copies the address space (MADV_WIPEONFORK, Linux 4.14: also
 * syscall(SYS_fork) and clone(), which run no atfork handler), and that a
 * vfork or CLONE_VM child shares. NULL when the kernel cannot. */
void *lw_mmap_wipeonfork(size_t n);
/* the same, pages reserved only when touched (large sparse tables) */
void *lw_mmap_sparse(size_t n);
void lw_munmap(void *p, size_t n);

/* ---- CPython (lw_python.c; docs/design.md §3.6) ---- */
#define LW_PY_FRAMES 8
struct lw_pyframe {
    char file[160];    /* co_filename (its tail when longer) */
    char function[64]; /* co_qualname (3.11+) or co_name */
    int line;
};
struct lw_pyinfo {
    _Atomic uint64_t serial; /* core: the thread record's serial; 0 while written */
    char name[64];           /* threading.Thread name */
    char target[96];         /* its target's (or Timer's function's) __qualname__ */
    char target_file[160];
    int target_line;         /* the target's first line */
    int n;
    struct lw_pyframe frames[LW_PY_FRAMES]; /* innermost (Thread.start) first */
};
/* Finds CPython's C API in the process (start-up); nothing without it. */
void lw_python_init(void);
bool lw_python_found(void);
/* When the calling thread holds the GIL: its Python frames and its
 * threading.Thread's name and target into pi (all but serial); false
 * otherwise (pi partly written). */
bool lw_py_capture(struct lw_pyinfo *pi);

#endif
