/* lw_ctl.c — which program image this is, and the control channel through
 * which `leakwatch snapshot PID` asks for a snapshot (docs/design.md §3.5).
 *
 * Owns: the image id (16 hex digits, new at every exec, kept by a forked
 * child), the id of the image this one replaced, and the per-process
 * endpoint: a unix stream socket at
 *     DIR/<pid>-<start ticks>-<image>.sock
 * where DIR is $XDG_RUNTIME_DIR/leakwatch or /tmp/leakwatch-<euid>, a 0700
 * directory owned by the effective uid (anything else: the channel is off,
 * with one message). <pid> is the pid inside the process's own pid
 * namespace and <start ticks> its start time (/proc/self/stat field 22),
 * which exec does not change: the next image of the same process finds its
 * predecessor's file by that prefix, takes its id as `replaced_image` and
 * removes it. Only a peer whose uid is ours (real or effective) or root is
 * answered (SO_PEERCRED); requests are one line, "snapshot" or "ping", and
 * the answer is one line, "ok PATH" / "ok PID IMAGE" or "error MESSAGE".
 *
 * Runs in lw_init (the constructor) and then only in the writer thread,
 * except lw_ctl_after_fork_child (async-signal-safe: closes and forgets).
 * Must never: call a function the shim interposes (raw syscalls only), keep
 * a descriptor in the program's low range, block the writer on a peer for
 * more than a second, or touch a descriptor number once it is no longer
 * ours (the program may have closed it and got the number back).
 */
#include "lw_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>


#define LW_SUN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
static char lw_ctl_dir[LW_SUN_MAX]; /* "" = channel off */
static char lw_ctl_path[LW_SUN_MAX];
static int lw_ctl_sock = -1;
static int lw_ctl_stale = -1; /* a forked child's copy of the parent's number */
static unsigned long lw_ctl_sock_ino; /* the socket (sockfs inode) */
static unsigned long lw_ctl_file_ino; /* its name in DIR */
static int lw_ctl_off_once, lw_ctl_fail_once;

static int lw_fstat_raw(int fd, struct stat *st)
{
    return (int)lw_sys(SYS_fstat, fd, st, 0);
}

static int lw_lstat_raw(const char *path, struct stat *st)
{
    return (int)lw_sys6(SYS_newfstatat, AT_FDCWD, (long)path, (long)st, AT_SYMLINK_NOFOLLOW, 0, 0);
}

/* ---- image identity ---- */

static void lw_hex64(uint64_t v, char out[17])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = d[v & 15];
    out[16] = 0;
}

static void lw_image_new_id(void)
{
    uint64_t v = 0;
    if (lw_sys(SYS_getrandom, &v, sizeof v, 1 /* GRND_NONBLOCK */) != (long)sizeof v || v == 0) {
        /* no entropy yet (early boot): time, pid and an address differ per exec */
        v = lw_now_realtime_ns() ^ ((uint64_t)lw_sys_getpid() << 40) ^ (uint64_t)(uintptr_t)&v;
        v *= 0x9e3779b97f4a7c15u;
    }
    lw_hex64(v, lw_image_id);
}

/* Field 22 of /proc/self/stat: clock ticks from boot to the process start.
 * Exec keeps it, fork does not. 0 when unreadable. */
static unsigned long long lw_start_ticks(void)
{
    char buf[1024];
    int fd = lw_sys_open("/proc/self/stat", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ssize_t n = lw_sys_read(fd, buf, sizeof buf - 1);
    lw_sys_close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parens */
    if (!p)
        return 0;
    for (int field = 2; field < 22 && *p; p++)
        if (*p == ' ')
            field++;
    unsigned long long v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (unsigned)(*p++ - '0');
    return v;
}

/* ---- the directory ---- */

static uint32_t lw_euid(void)
{
    return (uint32_t)lw_sys(SYS_geteuid, 0, 0, 0);
}

/* DIR exists (made if missing), is a real directory owned by us and
 * private (no group/other bits): nobody else can place or replace names. */
static bool lw_ctl_dir_ok(const char *dir)
{
    struct stat st;
    long r = lw_sys6(SYS_mkdirat, AT_FDCWD, (long)dir, 0700, 0, 0, 0);
    if (r < 0 && r != -EEXIST)
        return false;
    if (lw_lstat_raw(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    if (st.st_uid != lw_euid() || (st.st_mode & 077))
        return false;
    return true;
}

static bool lw_ctl_pick_dir(void)
{
    size_t room = sizeof lw_ctl_path - 56; /* "/<pid>-<ticks>-<image>.sock" */
    const char *x = lw_env("XDG_RUNTIME_DIR");
    size_t xn = x ? strlen(x) : 0;
    if (x && x[0] == '/' && xn + 10 < room) {
        memcpy(lw_ctl_dir, x, xn);
        memcpy(lw_ctl_dir + xn, "/leakwatch", 11);
        if (lw_ctl_dir_ok(lw_ctl_dir))
            return true;
    }
    snprintf(lw_ctl_dir, sizeof lw_ctl_dir, "/tmp/leakwatch-%u", lw_euid());
    if (lw_ctl_dir_ok(lw_ctl_dir))
        return true;
    lw_log_once(&lw_ctl_off_once,
                "no private directory for the control channel (%s: missing, not a directory, "
                "not owned by uid %u or not mode 0700); 'leakwatch snapshot' cannot reach this "
                "process",
                lw_ctl_dir, lw_euid());
    lw_ctl_dir[0] = 0;
    return false;
}

/* Is anybody listening on the socket file at path? */
static bool lw_ctl_live(const char *path)
{
    int fd = (int)lw_sys(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return true; /* cannot tell: leave it */
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof a.sun_path) {
        lw_sys_close(fd);
        return true;
    }
    memcpy(a.sun_path, path, n);
    long r = lw_sys(SYS_connect, fd, &a, sizeof a);
    lw_sys_close(fd);
    return r != -ECONNREFUSED && r != -ENOENT;
}

/* Names in DIR that start with "<pid>-": this process's earlier image (same
 * start ticks: its id is the one we replace) and stale files of dead
 * processes that had our pid (nobody listening). Both are removed. */
static void lw_ctl_scan(unsigned long long ticks)
{
    int dfd = lw_sys_open(lw_ctl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dfd < 0)
        return;
    char pre[32], mine[64];
    int np = snprintf(pre, sizeof pre, "%d-", lw_sys_getpid());
    int nm = snprintf(mine, sizeof mine, "%d-%llu-", lw_sys_getpid(), ticks);
    char buf[4096];
    long got;
    while ((got = lw_sys(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < got;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            off += reclen;
            size_t len = strlen(name);
            if (strncmp(name, pre, (size_t)np) != 0 || len < 5 ||
                strcmp(name + len - 5, ".sock") != 0)
                continue;
            char full[LW_SUN_MAX + 260];
            if (len > 255 || (size_t)snprintf(full, sizeof full, "%s/%.255s", lw_ctl_dir, name) >=
                                 sizeof full)
                continue;
            if (strncmp(name, mine, (size_t)nm) == 0 && len == (size_t)nm + 16 + 5) {
                memcpy(lw_replaced_image, name + nm, 16);
                lw_replaced_image[16] = 0;
                lw_sys_unlink(full);
            } else if (!lw_ctl_live(full)) {
                lw_sys_unlink(full);
            }
        }
    }
    lw_sys_close(dfd);
}

/* Endpoints of processes that ended without removing theirs (killed by a
 * signal, _exit, a forked child that never reached exit) would pile up in
 * DIR. Each writer, once at its start, tests a bounded sample of the
 * names (nobody listening: removed), so the directory stays small without
 * costing the program's start-up. */
#define LW_SWEEP_TESTS 32
void lw_ctl_sweep(void)
{
    if (!lw_ctl_dir[0])
        return;
    int dfd = lw_sys_open(lw_ctl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dfd < 0)
        return;
    char buf[4096];
    long got;
    unsigned n = 0;
    while ((got = lw_sys(SYS_getdents64, dfd, buf, sizeof buf)) > 0)
        for (long off = 0; off < got;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            off += reclen;
            n++;
        }
    unsigned stride = n / LW_SWEEP_TESTS + 1, seed = (unsigned)lw_now_ns() % stride, i = 0;
    int tests = 0;
    lw_sys(SYS_lseek, dfd, 0, SEEK_SET);
    while (tests < LW_SWEEP_TESTS && (got = lw_sys(SYS_getdents64, dfd, buf, sizeof buf)) > 0)
        for (long off = 0; off < got && tests < LW_SWEEP_TESTS; i++) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            off += reclen;
            size_t len = strlen(name);
            if (i % stride != seed || len < 6 || len > 200 || strcmp(name + len - 5, ".sock") != 0)
                continue;
            char full[LW_SUN_MAX + 260];
            snprintf(full, sizeof full, "%s/%.200s", lw_ctl_dir, name);
            if (strcmp(full, lw_ctl_path) == 0)
                continue;
            tests++;
            if (!lw_ctl_live(full))
                lw_sys_unlink(full);
        }
    lw_sys_close(dfd);
}

void lw_image_init(void)
{
    lw_image_new_id();
    lw_replaced_image[0] = 0;
    if (!lw_opt.channel)
        return;
    if (!lw_ctl_pick_dir())
        return;
    lw_ctl_scan(lw_start_ticks());
    lw_ctl_open();
}

/* ---- the endpoint ---- */

int lw_ctl_fd(void)
{
    return lw_ctl_sock;
}

/* A daemon that closed 0-2 is about to reopen them (/dev/null): making a
 * socket now could take one of those numbers for a moment. */
static bool lw_low_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (lw_sys(SYS_fcntl, fd, F_GETFD, 0) == -EBADF)
            return false;
    return true;
}

int lw_ctl_open(void)
{
    static int postponed;
    if (!lw_ctl_dir[0] || lw_ctl_sock >= 0)
        return 0;
    if (!lw_low_fds_open() && postponed++ < 20)
        return -EAGAIN;
    postponed = 0;
    unsigned long long ticks = lw_start_ticks();
    int n = snprintf(lw_ctl_path, sizeof lw_ctl_path, "%s/%d-%llu-%s.sock", lw_ctl_dir,
                     lw_sys_getpid(), ticks, lw_image_id);
    if (n < 0 || (size_t)n >= sizeof lw_ctl_path) {
        lw_ctl_path[0] = 0;
        return -ENAMETOOLONG;
    }
    int fd = (int)lw_sys(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto fail_fd;
    fd = lw_sys_fd_high(fd);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, lw_ctl_path, (size_t)n + 1);
    lw_sys_unlink(lw_ctl_path); /* our own earlier endpoint, closed by the program */
    long r = lw_sys(SYS_bind, fd, &a, sizeof a);
    if (r == 0)
        r = lw_sys(SYS_listen, fd, 16, 0);
    struct stat st, fst;
    if (r == 0)
        r = lw_lstat_raw(lw_ctl_path, &st);
    if (r == 0)
        r = lw_fstat_raw(fd, &fst);
    if (r < 0) {
        lw_sys_close(fd);
        lw_sys_unlink(lw_ctl_path);
        fd = (int)r;
        goto fail_fd;
    }
    lw_ctl_file_ino = (unsigned long)st.st_ino;
    lw_ctl_sock_ino = (unsigned long)fst.st_ino;
    lw_fd_mark_internal(fd, true);
    lw_ctl_sock = fd;
    return 0;
fail_fd:
    lw_log_once(&lw_ctl_fail_once, "cannot open the control channel %s: %s", lw_ctl_path,
                strerror(-fd));
    lw_ctl_path[0] = 0;
    return fd;
}

/* Is our endpoint still ours? The program may have closed the descriptor
 * (a daemon's close-everything loop, also by raw syscall) or dup'ed its own
 * file over the number; a cleaner may have removed the name (systemd-
 * tmpfiles ages /tmp). Forget what is lost — never close a number that may
 * be the program's now — and reopen (lw_ctl_open). */
void lw_ctl_check(void)
{
    if (lw_ctl_sock < 0)
        return;
    struct stat st;
    if (lw_fstat_raw(lw_ctl_sock, &st) < 0 || !S_ISSOCK(st.st_mode) ||
        (unsigned long)st.st_ino != lw_ctl_sock_ino) {
        int lost = lw_ctl_sock;
        lw_ctl_sock = -1;
        if (lw_fd_is_internal(lost))
            lw_fd_mark_internal(lost, false);
        if (lw_lstat_raw(lw_ctl_path, &st) == 0 && (unsigned long)st.st_ino == lw_ctl_file_ino)
            lw_sys_unlink(lw_ctl_path);
        return;
    }
    if (lw_lstat_raw(lw_ctl_path, &st) < 0 || (unsigned long)st.st_ino != lw_ctl_file_ino) {
        lw_fd_mark_internal(lw_ctl_sock, false);
        lw_sys_close(lw_ctl_sock);
        lw_ctl_sock = -1;
    }
}

static void lw_ctl_reply(int fd, const char *msg)
{
    size_t n = strlen(msg);
    lw_sys6(SYS_sendto, fd, (long)msg, (long)n, MSG_NOSIGNAL | MSG_DONTWAIT, 0, 0);
}

/* One request line from fd, waiting at most 1 s. */
static int lw_ctl_read_line(int fd, char *buf, size_t n)
{
    size_t k = 0;
    uint64_t end = lw_now_ns() + 1000000000u;
    while (k + 1 < n) {
        long r = lw_sys(SYS_read, fd, buf + k, n - 1 - k);
        if (r > 0) {
            k += (size_t)r;
            buf[k] = 0;
            char *nl = memchr(buf, '\n', k);
            if (nl) {
                *nl = 0;
                return 0;
            }
            continue;
        }
        if (r == 0)
            break;
        if (r != -EAGAIN && r != -EINTR)
            return (int)r;
        uint64_t now = lw_now_ns();
        if (now >= end)
            return -ETIMEDOUT;
        struct pollfd p = {fd, POLLIN, 0};
        struct timespec ts = {0, (long)(end - now < 999999999u ? end - now : 999999999u)};
        lw_sys6(SYS_ppoll, (long)&p, 1, (long)&ts, 0, 0, 0);
    }
    buf[k < n ? k : n - 1] = 0;
    return k ? 0 : -EPROTO;
}

static void lw_ctl_answer(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    char out[LW_PATH_MAX + 64];
    /* the line first: closing with it unread would reset the connection
     * and lose the answer, a refusal included */
    char req[64];
    if (lw_ctl_read_line(fd, req, sizeof req) < 0)
        return;
    if (lw_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, (long)&cr, (long)&len, 0) < 0) {
        lw_ctl_reply(fd, "error cannot read the peer's credentials\n");
        return;
    }
    uint32_t ruid = (uint32_t)lw_sys(SYS_getuid, 0, 0, 0);
    if (cr.uid != 0 && cr.uid != lw_euid() && cr.uid != ruid) {
        snprintf(out, sizeof out, "error permission denied: uid %u may not ask process %d (uid %u)\n",
                 (unsigned)cr.uid, lw_sys_getpid(), lw_euid());
        lw_ctl_reply(fd, out);
        return;
    }
    if (strcmp(req, "ping") == 0) {
        snprintf(out, sizeof out, "ok %d %s\n", lw_sys_getpid(), lw_image_id);
    } else if (strcmp(req, "snapshot") == 0) {
        char path[LW_PATH_MAX];
        int r = lw_snapshot_write_path(LW_TRIG_REQUEST, NULL, path, sizeof path);
        if (r == 0)
            snprintf(out, sizeof out, "ok %s\n", path);
        else if (r == -EAGAIN)
            snprintf(out, sizeof out, "error process %d is exiting or not recording\n",
                     lw_sys_getpid());
        else
            snprintf(out, sizeof out, "error cannot write snapshot %s: %s\n",
                     path[0] ? path : "(no path)", strerror(-r));
    } else {
        snprintf(out, sizeof out, "error unknown request '%.32s' (known: snapshot, ping)\n", req);
    }
    lw_ctl_reply(fd, out);
}

/* A forked child's writer, before it makes descriptors of its own: the
 * parent's endpoint number is no longer leakwatch's here. */
void lw_ctl_forget_stale(void)
{
    if (lw_ctl_stale >= 0 && lw_fd_is_internal(lw_ctl_stale))
        lw_fd_mark_internal(lw_ctl_stale, false);
    lw_ctl_stale = -1;
}

/* Answer every connection waiting on the endpoint (writer thread). */
void lw_ctl_serve(void)
{
    for (int i = 0; i < 16 && lw_ctl_sock >= 0; i++) {
        long c = lw_sys6(SYS_accept4, lw_ctl_sock, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK, 0, 0);
        if (c < 0)
            return;
        int fd = lw_sys_fd_high((int)c);
        lw_fd_mark_internal(fd, true); /* a snapshot taken meanwhile must not list it */
        lw_ctl_answer(fd);
        lw_fd_mark_internal(fd, false);
        lw_sys_close(fd);
    }
}

/* Remove our name at exit (only if it is still ours). */
void lw_ctl_exit(void)
{
    struct stat st;
    if (lw_ctl_path[0] && lw_lstat_raw(lw_ctl_path, &st) == 0 &&
        (unsigned long)st.st_ino == lw_ctl_file_ino)
        lw_sys_unlink(lw_ctl_path);
}

/* In a forked child [AS-safe]: the parent's endpoint is the parent's. The
 * child gets its own (new pid, new start ticks, same image) when its writer
 * starts. */
void lw_ctl_after_fork_child(void)
{
    if (lw_ctl_sock >= 0)
        lw_sys_close(lw_ctl_sock);
    lw_ctl_stale = lw_ctl_sock; /* unmarked by lw_ctl_open: no lock here */
    lw_ctl_sock = -1;
    lw_ctl_path[0] = 0;
    lw_ctl_file_ino = 0;
}
