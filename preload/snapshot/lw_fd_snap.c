/* lw_fd_snap.c — the snapshot's `sockets` array: every tracked open file
 * (one object per open file description, dup aliases listed), addresses
 * read at snapshot time, and fds leakwatch did not see opened (found in
 * /proc/self/fd, marked `foreign`).
 *
 * Runs only in the snapshot writer (never in a signal handler, never on a
 * hot path). It reads the fd table without its lock, so a record may change
 * under it: every value is read once and written as read. It must never
 * close or otherwise touch the program's fds beyond getsockname/getpeername/
 * getsockopt/fstat/readlink.
 *
 * Foreign fds reported: sockets, pipes, eventfd/timerfd/epoll/signalfd and
 * other anonymous inodes. Skipped as noise: regular files, directories,
 * devices and ttys, fds 0-2 (inherited stdio), leakwatch's own fds.
 */
#include "lw_snapshot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static uint32_t snap_gen;

static const char *const kind_names[] = {
    [LW_FD_OTHER] = "other", [LW_FD_TCP] = "tcp",         [LW_FD_UDP] = "udp",
    [LW_FD_UNIX] = "unix",   [LW_FD_PIPE] = "pipe",       [LW_FD_EVENTFD] = "eventfd",
    [LW_FD_TIMERFD] = "timerfd", [LW_FD_EPOLL] = "epoll", [LW_FD_SIGNALFD] = "signalfd",
};

const char *lw_fd_kind_name(int kind)
{
    if (kind < 0 || kind > LW_FD_SIGNALFD)
        return "other";
    return kind_names[kind];
}

/* "127.0.0.1:8080", "[::1]:80", "/path", "@abstract"; false if unnamed. */
bool lw_fd_format_addr(const struct sockaddr_storage *ss, unsigned len, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const void *)ss;
        if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip))
            return false;
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
        return true;
    }
    if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a = (const void *)ss;
        if (!inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip))
            return false;
        snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
        return true;
    }
    if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *a = (const void *)ss;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len <= off)
            return false; /* unnamed (socketpair, unbound) */
        size_t n = len - off;
        if (n > sizeof a->sun_path)
            n = sizeof a->sun_path;
        if (a->sun_path[0] == '\0') { /* abstract: bytes after the NUL */
            size_t k = 0;
            out[k++] = '@';
            for (size_t i = 1; i < n && k + 1 < cap; i++)
                out[k++] = a->sun_path[i] ? a->sun_path[i] : '@';
            out[k] = '\0';
            return true;
        }
        size_t k = strnlen(a->sun_path, n);
        if (k == 0)
            return false;
        if (k >= cap)
            k = cap - 1;
        memcpy(out, a->sun_path, k);
        out[k] = '\0';
        return true;
    }
    return false;
}

static void write_addr(struct lw_json *w, const char *key, int fd, bool peer, bool *ok)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    char buf[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
    if (ok)
        *ok = r == 0;
    if (r == 0 && lw_fd_format_addr(&ss, len, buf, sizeof buf))
        lw_json_kstr(w, key, buf);
    else
        lw_json_knull(w, key);
}

static bool is_socket_kind(int k)
{
    return k == LW_FD_TCP || k == LW_FD_UDP || k == LW_FD_UNIX;
}

/* Socket facts read now from the kernel: addresses, listening, connected. */
static void write_net(struct lw_json *w, int fd, int kind, uint32_t flags)
{
    if (!is_socket_kind(kind) && kind != LW_FD_OTHER) {
        lw_json_knull(w, "local");
        lw_json_knull(w, "peer");
        lw_json_kbool(w, "listening", false);
        lw_json_kbool(w, "connected", false);
        return;
    }
    bool connected = false;
    write_addr(w, "local", fd, false, NULL);
    write_addr(w, "peer", fd, true, &connected);
    int acc = 0;
    socklen_t al = sizeof acc;
    bool listening = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc;
    lw_json_kbool(w, "listening", listening || (flags & LW_FDF_LISTEN));
    lw_json_kbool(w, "connected", connected && !listening);
}

/* Does the kernel's view of fd still match the record's kind? A record
 * whose fd was closed behind our back (fclose, raw close) is stale. */
static bool still_matches(int fd, int kind)
{
    struct stat st;
    if (lw_sys(SYS_fstat, fd, &st, 0) != 0) /* raw: fstat is interposed */
        return false;
    switch (kind) {
    case LW_FD_TCP:
    case LW_FD_UDP:
    case LW_FD_UNIX:
        return S_ISSOCK(st.st_mode);
    case LW_FD_PIPE:
        return S_ISFIFO(st.st_mode);
    case LW_FD_EVENTFD:
    case LW_FD_TIMERFD:
    case LW_FD_EPOLL:
        return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISSOCK(st.st_mode) &&
               !S_ISFIFO(st.st_mode);
    default:
        return true;
    }
}

static void write_tracked(struct lw_snap *s, struct lw_json *w, int fd, struct lw_fd_rec *r,
                          _Atomic uint32_t *slots, int high)
{
    uint32_t v = (uint32_t)(r - lw_fd_recs);
    uint32_t flags = atomic_load_explicit(&r->flags, memory_order_relaxed);
    int kind = r->kind;
    lw_ctx_id owner = atomic_load_explicit(&r->owner, memory_order_relaxed);
    lw_ctx_id creator = r->creator;
    lw_json_obj_begin(w);
    lw_json_kint(w, "fd", fd);
    lw_json_key(w, "aliases");
    lw_json_arr_begin(w);
    if (atomic_load_explicit(&r->aliases, memory_order_relaxed) > 1)
        for (int k = fd + 1; k < high; k++)
            if (atomic_load_explicit(&slots[k], memory_order_relaxed) == v)
                lw_json_int(w, k);
    lw_json_arr_end(w);
    lw_json_kstr(w, "kind", lw_fd_kind_name(kind));
    write_net(w, fd, kind, flags);
    lw_json_kbool(w, "foreign", false);
    lw_json_kint(w, "context", owner);
    lw_json_kint(w, "creator_context", creator);
    lw_json_kint(w, "creator_tid", r->creator_tid);
    lw_json_kint(w, "created_ns", (int64_t)r->created_ns);
    int st = lw_snap_stack(s, r->frames, (int)r->nframes);
    if (st >= 0)
        lw_json_kint(w, "creation_stack", st);
    else
        lw_json_knull(w, "creation_stack");
    uint64_t io = atomic_load_explicit(&r->last_io_ns, memory_order_relaxed);
    if (io)
        lw_json_kint(w, "last_io_ns", (int64_t)io);
    else
        lw_json_knull(w, "last_io_ns");
    lw_json_kint(w, "bytes_in", (int64_t)atomic_load_explicit(&r->bytes_in, memory_order_relaxed));
    lw_json_kint(w, "bytes_out",
                 (int64_t)atomic_load_explicit(&r->bytes_out, memory_order_relaxed));
    /* additions (documented in docs/snapshot-format.md) */
    lw_json_kbool(w, "nonblocking", flags & LW_FDF_NONBLOCK);
    int ep = atomic_load_explicit(&r->epoll, memory_order_relaxed);
    if (ep >= 0)
        lw_json_kint(w, "epoll", ep);
    else
        lw_json_knull(w, "epoll");
    lw_json_key(w, "registered");
    lw_json_arr_begin(w);
    if (kind == LW_FD_EPOLL) {
        int fds[LW_FD_EPOLL_MAX + 1];
        int n = lw_fd_epoll_fds(fd, fds, LW_FD_EPOLL_MAX + 1);
        for (int i = 1; i < n; i++)
            lw_json_int(w, fds[i]);
    }
    lw_json_arr_end(w);
    struct lw_timer_rec *t = lw_timer_get(atomic_load_explicit(&r->timer, memory_order_relaxed));
    if (t)
        lw_json_kint(w, "timer", (int64_t)t->id);
    else
        lw_json_knull(w, "timer");
    int pair = lw_fd_pair_fd(r);
    if (pair >= 0)
        lw_json_kint(w, "pair", pair);
    else
        lw_json_knull(w, "pair");
    lw_json_obj_end(w);
    if (owner)
        lw_snap_ctx(s, owner);
    if (creator)
        lw_snap_ctx(s, creator);
}

/* Classify a foreign fd from its /proc/self/fd link; -1 = skip as noise. */
static int foreign_kind(int fd, const char *link)
{
    if (strncmp(link, "socket:", 7) == 0) {
        int dom = 0, type = 0;
        socklen_t l = sizeof dom;
        getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l);
        l = sizeof type;
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
        if (dom == AF_UNIX)
            return LW_FD_UNIX;
        if (dom == AF_INET || dom == AF_INET6)
            return type == SOCK_STREAM ? LW_FD_TCP : type == SOCK_DGRAM ? LW_FD_UDP : LW_FD_OTHER;
        return LW_FD_OTHER;
    }
    if (strncmp(link, "pipe:", 5) == 0)
        return LW_FD_PIPE;
    if (strcmp(link, "anon_inode:[eventfd]") == 0)
        return LW_FD_EVENTFD;
    if (strcmp(link, "anon_inode:[timerfd]") == 0)
        return LW_FD_TIMERFD;
    if (strcmp(link, "anon_inode:[eventpoll]") == 0)
        return LW_FD_EPOLL;
    if (strcmp(link, "anon_inode:[signalfd]") == 0)
        return LW_FD_SIGNALFD;
    if (strncmp(link, "anon_inode:", 11) == 0)
        return LW_FD_OTHER;
    return -1; /* files, directories, devices, ttys */
}

static void write_foreign(struct lw_json *w, int fd, int kind)
{
    lw_json_obj_begin(w);
    lw_json_kint(w, "fd", fd);
    lw_json_key(w, "aliases");
    lw_json_arr_begin(w);
    lw_json_arr_end(w);
    lw_json_kstr(w, "kind", lw_fd_kind_name(kind));
    write_net(w, fd, kind, 0);
    lw_json_kbool(w, "foreign", true);
    static const char *const nulls[] = {"context",    "creator_context", "creator_tid",
                                        "created_ns", "creation_stack",  "last_io_ns"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        lw_json_knull(w, nulls[i]);
    lw_json_kint(w, "bytes_in", 0);
    lw_json_kint(w, "bytes_out", 0);
    int fl = (int)lw_sys(SYS_fcntl, fd, F_GETFL, 0);
    lw_json_kbool(w, "nonblocking", fl >= 0 && (fl & O_NONBLOCK));
    lw_json_knull(w, "epoll");
    lw_json_key(w, "registered");
    lw_json_arr_begin(w);
    lw_json_arr_end(w);
    lw_json_knull(w, "timer");
    lw_json_knull(w, "pair");
    lw_json_obj_end(w);
}

static void scan_foreign(struct lw_json *w, _Atomic uint32_t *slots)
{
    struct lw_dir d;
    if (lw_dir_open(&d, "/proc/self/fd") < 0)
        return;
    const char *name;
    int fd;
    while ((fd = lw_dir_next(&d, &name)) >= 0) {
        if (fd <= 2 || fd == d.fd)
            continue;
        if (slots && (unsigned)fd < LW_FD_SLOTS &&
            atomic_load_explicit(&slots[fd], memory_order_relaxed) != 0)
            continue; /* tracked (written above) or leakwatch's own */
        char link[128];
        long n = lw_sys6(SYS_readlinkat, d.fd, (long)name, (long)link, sizeof link - 1, 0, 0);
        if (n <= 0)
            continue;
        link[n] = '\0';
        int kind = foreign_kind(fd, link);
        if (kind >= 0)
            write_foreign(w, fd, kind);
    }
    lw_dir_close(&d);
}

void lw_sockets_write(struct lw_snap *s, struct lw_json *w)
{
    _Atomic uint32_t *slots = atomic_load_explicit(&lw_fd_slots, memory_order_acquire);
    lw_json_arr_begin(w);
    if (slots) {
        uint32_t gen = ++snap_gen;
        if (gen == 0)
            gen = ++snap_gen;
        int high = lw_fd_high();
        for (int fd = 0; fd < high; fd++) {
            uint32_t v = atomic_load_explicit(&slots[fd], memory_order_acquire);
            if (v == 0 || v == LW_FD_SLOT_INTERNAL)
                continue;
            struct lw_fd_rec *r = &lw_fd_recs[v];
            if (r->snap_mark == gen)
                continue; /* an alias of a record already written */
            if (!still_matches(fd, r->kind)) {
                lw_fd_forget(fd);
                continue;
            }
            r->snap_mark = gen;
            write_tracked(s, w, fd, r, slots, high);
        }
    }
    scan_foreign(w, slots);
    lw_json_arr_end(w);
}
