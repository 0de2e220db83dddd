/* lw_sys.c — raw system calls, clocks, thread ids and leakwatch's own lock.
 *
 * Owns: every direct kernel entry the core needs. The socket/fd hooks
 * interpose read/write/close and the wait hooks interpose syscall(), so the
 * core must reach the kernel without going through those names.
 * Must never: touch errno (raw calls return -errno), allocate, or call a
 * function another part of leakwatch interposes. Everything here is AS-safe.
 */
#include "lw_platform.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

long lw_sys6(long nr, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#else
#error "leakwatch: raw syscalls are implemented for x86_64 and aarch64 only"
#endif
}

LW_TLS int lw_tls_tid;
static _Atomic int lw_owner_pid;

/* Never cached: after a fork that ran no atfork handler (syscall(SYS_fork),
 * clone()) a cached pid named the parent, and the child's SIGTERM handling
 * signalled the parent; in a vfork child a cache filled there would hand
 * the child's pid to the parent. One system call, off the hot paths. */
int lw_sys_getpid(void)
{
    return (int)lw_sys(SYS_getpid, 0, 0, 0);
}

int lw_sys_gettid(void)
{
    return (int)lw_sys(SYS_gettid, 0, 0, 0);
}

int lw_gettid(void)
{
    int t = lw_tls_tid;
    if (LW_UNLIKELY(t == 0)) {
        t = (int)lw_sys(SYS_gettid, 0, 0, 0);
        lw_tls_tid = t;
    }
    return t;
}

void lw_sys_after_fork_child(void)
{
    lw_tls_tid = 0;
}

void lw_sys_set_owner(int pid)
{
    atomic_store_explicit(&lw_owner_pid, pid, memory_order_relaxed);
}

int lw_sys_owner(void)
{
    return atomic_load_explicit(&lw_owner_pid, memory_order_relaxed);
}

bool lw_process_changed(void)
{
    int o = atomic_load_explicit(&lw_owner_pid, memory_order_relaxed);
    return o != 0 && lw_sys_getpid() != o;
}

/* kcmp(KCMP_VM) with the parent: 0 = one address space (a vfork child, or
 * clone(CLONE_VM)). When the kernel will not say (no kcmp, or not
 * permitted), assume shared: touching nothing is the safe way wrong. */
bool lw_sys_vm_shared_with_parent(void)
{
    long ppid = lw_sys(SYS_getppid, 0, 0, 0);
    long r = lw_sys6(SYS_kcmp, lw_sys_getpid(), ppid, 1 /* KCMP_VM */, 0, 0, 0);
    return r != 1 && r != 2;
}

int lw_sys_open(const char *path, int flags, int mode)
{
    return (int)lw_sys6(SYS_openat, AT_FDCWD, (long)path, flags, mode, 0, 0);
}

int lw_sys_openat(int dirfd, const char *path, int flags, int mode)
{
    return (int)lw_sys6(SYS_openat, dirfd, (long)path, flags, mode, 0, 0);
}

ssize_t lw_sys_read(int fd, void *buf, size_t n)
{
    long r;
    do
        r = lw_sys(SYS_read, fd, buf, n);
    while (r == -EINTR);
    return r;
}

int lw_sys_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        long r = lw_sys(SYS_write, fd, p, n);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return (int)r;
        if (r == 0)
            return -EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int lw_sys_close(int fd)
{
    return (int)lw_sys(SYS_close, fd, 0, 0);
}

int lw_sys_unlink(const char *path)
{
    return (int)lw_sys(SYS_unlinkat, AT_FDCWD, path, 0);
}

int lw_sys_file_id(const char *path, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    long r = lw_sys6(SYS_newfstatat, AT_FDCWD, (long)path, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0);
    if (r < 0)
        return (int)r;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

/* renameat2(RENAME_NOREPLACE) never replaces an existing file; file systems
 * without it (EINVAL) get link + unlink, which fails with EEXIST too. */
int lw_sys_rename_noreplace(const char *from, const char *to)
{
    long r = lw_sys6(SYS_renameat2, AT_FDCWD, (long)from, AT_FDCWD, (long)to,
                     1 /* RENAME_NOREPLACE */, 0);
    if (r == -EINVAL || r == -ENOSYS) {
        r = lw_sys6(SYS_linkat, AT_FDCWD, (long)from, AT_FDCWD, (long)to, 0, 0);
        if (r == 0)
            lw_sys_unlink(from);
    }
    return (int)r;
}

int lw_sys_pipe(int fds[2])
{
    return (int)lw_sys(SYS_pipe2, fds, O_CLOEXEC | O_NONBLOCK, 0);
}

/* Move one of leakwatch's descriptors out of the program's way: the lowest
 * free number at or above (soft RLIMIT_NOFILE, at most 4096) - 64, close-on-
 * exec. A program that counts on the lowest free number (a daemon reopening
 * 0-2 on /dev/null) never meets it; one that closes every descriptor up to
 * its limit does, and leakwatch notices (lw_writer.c). Returns the new fd,
 * or fd itself when no higher number is free. */
int lw_sys_fd_high(int fd)
{
    struct {
        uint64_t cur, max;
    } rl;
    uint64_t lim = 1024;
    if (lw_sys6(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&rl, 0, 0) == 0)
        lim = rl.cur;
    if (lim > 4096)
        lim = 4096;
    if (fd < 0 || lim < 128 || (uint64_t)fd >= lim - 64)
        return fd;
    long nfd = lw_sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, (long)(lim - 64));
    if (nfd < 0)
        return fd;
    lw_sys_close(fd);
    return (int)nfd;
}

void lw_sys_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (lw_sys(SYS_nanosleep, &ts, &ts, 0) == -EINTR)
        ;
}

int lw_sys_sigpending(sigset_t *set)
{
    sigemptyset(set);
    return (int)lw_sys(SYS_rt_sigpending, set, _NSIG / 8, 0);
}

int lw_sys_tgkill(int pid, int tid, int sig)
{
    return (int)lw_sys(SYS_tgkill, pid, tid, sig);
}

/* clock_gettime goes through the vDSO; it is not interposed by anyone. */
uint64_t lw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lw_now_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t lw_timeout_abs_ns(clockid_t clk, const struct timespec *abs)
{
    if (!abs)
        return -1;
    struct timespec now;
    clock_gettime(clk, &now);
    int64_t d = (int64_t)(abs->tv_sec - now.tv_sec) * 1000000000 + (abs->tv_nsec - now.tv_nsec);
    return d < 0 ? 0 : d;
}

uint64_t lw_now_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Drepper's three-state futex mutex ("Futexes are tricky", mutex2): 0 free,
 * 1 locked, 2 locked with waiters. Private futexes; reset after fork. */
void lw_lock(lw_lock_t *l)
{
    int c = 0;
    if (atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire,
                                                memory_order_relaxed))
        return;
    /* short spin first: our critical sections are a few dozen instructions,
     * sleeping in the kernel costs far more (thread churn measured it) */
    for (int i = 0; i < 200; i++) {
        __asm__ volatile("" ::: "memory");
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0) {
            c = 0;
            if (atomic_compare_exchange_weak_explicit(&l->v, &c, 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
        }
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    if (c != 2)
        c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
    while (c != 0) {
        lw_sys6(SYS_futex, (long)&l->v, FUTEX_WAIT_PRIVATE, 2, 0, 0, 0);
        c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
    }
}

void lw_unlock(lw_lock_t *l)
{
    if (atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2)
        lw_sys6(SYS_futex, (long)&l->v, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

void *lw_mmap(size_t n)
{
    long r = lw_sys6(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (r < 0 && r > -4096)
        return NULL;
    return (void *)r;
}

void *lw_mmap_wipeonfork(size_t n)
{
    void *p = lw_mmap(n);
    if (p && lw_sys(SYS_madvise, (long)p, (long)n, MADV_WIPEONFORK) != 0) {
        lw_munmap(p, n);
        p = NULL;
    }
    return p;
}

void *lw_mmap_sparse(size_t n)
{
    long r = lw_sys6(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r < 0 && r > -4096)
        return NULL;
    return (void *)r;
}

void lw_munmap(void *p, size_t n)
{
    if (p)
        lw_sys(SYS_munmap, p, n, 0);
}

/* A thread's kernel tid from its pthread_t, without waiting for it to run:
 * glibc builds the CPU-time clock id from the tid the kernel stored in the
 * descriptor at clone (CLONE_PARENT_SETTID), as (-tid - 1) * 8 + 6
 * (CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED, linux/posix-timers.h). 0 if
 * unknown (the thread is gone: glibc answers ESRCH). */
int lw_pthread_tid(pthread_t t)
{
    clockid_t ck;
    if (pthread_getcpuclockid(t, &ck) != 0 || (ck & 7) != 6)
        return 0;
    long tid = -(((long)ck - 6) / 8) - 1;
    return tid > 0 && tid <= INT_MAX ? (int)tid : 0;
}
