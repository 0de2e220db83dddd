/* lw_ctl_client.c — `leakwatch snapshot PID`: find the process's control
 * endpoint, check it really is that process's, ask, print what it wrote.
 *
 * Owns: finding the endpoint the shim of the image running now listens on
 * (preload/lw_ctl.c names it DIR/<nspid>-<start ticks>-<image>.sock): first
 * from /proc/PID/net/unix (the listening sockets of the process's network
 * namespace, with the path it bound), then by looking in the directories
 * the shim may use, reached through /proc/PID/root so a process in another
 * mount namespace or chroot is found too. The server's SO_PEERCRED pid must
 * be PID (a name squatted by someone else is never asked); the shim checks
 * our uid on its side.
 * Must never: send a signal, guess a file name, or wait past the timeout.
 */
#include "lw_ctl_client.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LW_CAND_MAX 8
#define LW_CPATH 512

struct lw_target {
    pid_t pid;
    long nspid;
    unsigned long long ticks;
    unsigned uids[4];
    char prefix[64]; /* "<nspid>-<ticks>-" */
};

static uint64_t lw_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int lw_read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t k = 0;
    ssize_t r;
    while (k + 1 < n && (r = read(fd, buf + k, n - 1 - k)) > 0)
        k += (size_t)r;
    close(fd);
    buf[k] = 0;
    return (int)k;
}

/* pid inside its own namespace (last NSpid field), uids, start ticks. */
static int lw_target_read(struct lw_target *t)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)t->pid);
    if (lw_read_file(path, buf, sizeof buf) < 0)
        return -ESRCH;
    t->nspid = t->pid;
    char *p = strstr(buf, "\nState:");
    if (p && (strncmp(p + 7, "\tZ", 2) == 0 || strncmp(p + 7, "\tX", 2) == 0))
        return -ESRCH; /* exited, not yet reaped */
    p = strstr(buf, "\nNSpid:");
    if (p) {
        p += 7;
        char *end = strchr(p, '\n');
        for (char *q = p; *q && q != end;) {
            while (*q == ' ' || *q == '\t')
                q++;
            if (!isdigit((unsigned char)*q))
                break;
            t->nspid = strtol(q, &q, 10);
        }
    }
    p = strstr(buf, "\nUid:");
    if (p && sscanf(p + 5, "%u %u %u %u", &t->uids[0], &t->uids[1], &t->uids[2], &t->uids[3]) != 4)
        memset(t->uids, 0, sizeof t->uids);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)t->pid);
    if (lw_read_file(path, buf, sizeof buf) < 0)
        return -ESRCH;
    p = strrchr(buf, ')');
    if (!p)
        return -ESRCH;
    for (int field = 2; field < 22 && *p; p++)
        if (*p == ' ')
            field++;
    t->ticks = strtoull(p, NULL, 10);
    snprintf(t->prefix, sizeof t->prefix, "%ld-%llu-", t->nspid, t->ticks);
    return 0;
}

static bool lw_name_matches(const struct lw_target *t, const char *base)
{
    size_t n = strlen(base), np = strlen(t->prefix);
    return n == np + 16 + 5 && strncmp(base, t->prefix, np) == 0 &&
           strcmp(base + n - 5, ".sock") == 0;
}

static void lw_cand_add(char cand[][LW_CPATH], int *nc, const char *path)
{
    for (int i = 0; i < *nc; i++)
        if (strcmp(cand[i], path) == 0)
            return;
    if (*nc < LW_CAND_MAX && strlen(path) < LW_CPATH)
        snprintf(cand[(*nc)++], LW_CPATH, "%s", path);
}

/* Listening unix sockets of the process's network namespace whose name is
 * its endpoint's. Columns: Num RefCount Protocol Flags Type St Inode Path. */
static void lw_cands_net(const struct lw_target *t, char cand[][LW_CPATH], int *nc)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/net/unix", (int)t->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        char *sp = line;
        for (int col = 0; col < 7 && sp; col++) {
            sp = strchr(sp, ' ');
            while (sp && *sp == ' ')
                sp++;
        }
        if (!sp || *sp != '/')
            continue;
        const char *base = strrchr(sp, '/') + 1;
        if (lw_name_matches(t, base))
            lw_cand_add(cand, nc, sp);
    }
    fclose(f);
}

/* The directories the shim may have used, seen from its root. */
static void lw_cands_dirs(const struct lw_target *t, char cand[][LW_CPATH], int *nc)
{
    char dirs[8][448];
    int nd = 0;
    for (int i = 0; i < 2; i++) { /* real and effective uid */
        snprintf(dirs[nd++], sizeof dirs[0], "/tmp/leakwatch-%u", t->uids[i == 0 ? 1 : 0]);
    }
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (x && x[0] == '/' && strlen(x) < 400)
        snprintf(dirs[nd++], sizeof dirs[0], "%s/leakwatch", x);
    snprintf(dirs[nd++], sizeof dirs[0], "/run/user/%u/leakwatch", t->uids[1]);
    for (int i = 0; i < 2 * nd; i++) {
        /* through the process's root first, then as we see it (another
         * user's /proc/PID/root is closed to us) */
        char full[LW_CPATH + 64];
        if (i < nd)
            snprintf(full, sizeof full, "/proc/%d/root%.440s", (int)t->pid, dirs[i]);
        else
            snprintf(full, sizeof full, "%.440s", dirs[i - nd]);
        DIR *d = opendir(full);
        if (!d)
            continue;
        const char *dir = dirs[i < nd ? i : i - nd];
        struct dirent *e;
        while ((e = readdir(d)))
            if (lw_name_matches(t, e->d_name)) {
                char p[LW_CPATH + 300];
                snprintf(p, sizeof p, "%.440s/%.255s", dir, e->d_name);
                lw_cand_add(cand, nc, p);
            }
        closedir(d);
    }
}

/* Connect to `path` as the process sees it: through /proc/PID/root (its
 * mount namespace or chroot), then as is. The directory is opened first so
 * a long path still fits sun_path (/proc/self/fd/N/name). */
static int lw_connect_one(const char *dirpath, const char *base)
{
    int dfd = open(dirpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dfd, base);
    int r = -ENAMETOOLONG;
    if (n > 0 && (size_t)n < sizeof a.sun_path) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            r = -errno;
        } else if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            r = fd;
        } else {
            r = -errno;
            close(fd);
        }
    }
    close(dfd);
    return r;
}

static int lw_connect_cand(const struct lw_target *t, const char *path)
{
    char dir[LW_CPATH + 64];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return -EINVAL;
    int r = -ENOENT;
    for (int via_root = 1; via_root >= 0; via_root--) {
        if (via_root)
            snprintf(dir, sizeof dir, "/proc/%d/root%.*s", (int)t->pid, (int)(slash - path), path);
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        if (dir[0] == 0)
            snprintf(dir, sizeof dir, "/");
        r = lw_connect_one(dir, slash + 1);
        if (r < 0)
            continue;
        struct ucred cr;
        socklen_t cl = sizeof cr;
        if (getsockopt(r, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == t->pid)
            return r;
        close(r); /* someone else's socket under that name */
        r = -EPERM;
    }
    return r;
}

/* One request and its one-line answer, within the deadline. */
static int lw_ask(int fd, uint64_t deadline, char *path_out, size_t len, char *err, size_t errlen)
{
    static const char req[] = "snapshot\n";
    /* a refusal may already be waiting: read the answer even if this fails */
    (void)send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
    char buf[4096];
    size_t k = 0;
    for (;;) {
        uint64_t now = lw_mono_ms();
        if (now >= deadline) {
            snprintf(err, errlen, "no answer before the timeout (the snapshot is still being written?)");
            return -ETIMEDOUT;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t r = read(fd, buf + k, sizeof buf - 1 - k);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        k += (size_t)r;
        buf[k] = 0;
        if (memchr(buf, '\n', k) || k + 1 >= sizeof buf)
            break;
    }
    buf[k] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    if (strncmp(buf, "ok ", 3) == 0) {
        if (strlen(buf + 3) >= len) {
            snprintf(err, errlen, "path too long for the buffer");
            return -EIO;
        }
        snprintf(path_out, len, "%s", buf + 3);
        return 0;
    }
    if (strncmp(buf, "error ", 6) == 0) {
        snprintf(err, errlen, "%s", buf + 6);
        return strstr(buf, "permission denied") ? -EACCES : -EIO;
    }
    snprintf(err, errlen, "the connection closed without an answer");
    return -ESRCH;
}

/* Does the process map libleakwatch.so? -1 unreadable. */
static int lw_has_shim(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "libleakwatch") != NULL;
    fclose(f);
    return found;
}

/* Seconds the process has existed (start ticks against uptime). */
static double lw_age_s(const struct lw_target *t)
{
    char buf[128];
    if (lw_read_file("/proc/uptime", buf, sizeof buf) < 0)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return strtod(buf, NULL) - (double)t->ticks / (double)(hz > 0 ? hz : 100);
}

int lw_ctl_snapshot(pid_t pid, int timeout_ms, char *path_out, size_t len, char *err,
                    size_t errlen)
{
    uint64_t deadline = lw_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    char last[256] = "";
    path_out[0] = 0;
    for (bool first = true;; first = false) {
        struct lw_target t;
        memset(&t, 0, sizeof t);
        t.pid = pid;
        if (lw_target_read(&t) < 0) {
            snprintf(err, errlen, first ? "no process %d" : "process %d exited before answering",
                     (int)pid);
            return first ? -ESRCH : -EPIPE;
        }
        char cand[LW_CAND_MAX][LW_CPATH];
        int nc = 0;
        lw_cands_net(&t, cand, &nc);
        if (nc == 0)
            lw_cands_dirs(&t, cand, &nc);
        for (int i = 0; i < nc; i++) {
            int fd = lw_connect_cand(&t, cand[i]);
            if (fd < 0) {
                if (fd == -EACCES || fd == -EPERM)
                    snprintf(last, sizeof last, "cannot reach %.150s: %.60s", cand[i], strerror(-fd));
                continue;
            }
            int r = lw_ask(fd, deadline, path_out, len, err, errlen);
            close(fd);
            if (r == 0 || r == -EACCES || r == -EIO || r == -ETIMEDOUT)
                return r;
            snprintf(last, sizeof last, "%.200s", err); /* it went away (exec?): look again */
        }
        int shim = lw_has_shim(pid);
        if (shim < 0 && lw_target_read(&t) < 0) {
            snprintf(err, errlen, "process %d exited before answering", (int)pid);
            return -EPIPE;
        }
        if (shim < 0) {
            snprintf(err, errlen, "cannot read /proc/%d/maps (another user's process?)", (int)pid);
            return -EACCES;
        }
        /* Not (yet) under leakwatch: `leakwatch run ... &` is still starting
         * the program. A process that has run for a while without the
         * library is not going to load it. */
        if (!shim && lw_age_s(&t) > 3.0) {
            snprintf(err, errlen,
                     "process %d is not running under leakwatch (libleakwatch.so is not in "
                     "/proc/%d/maps); start it with 'leakwatch run -- CMD'",
                     (int)pid, (int)pid);
            return -ENOTSUP;
        }
        if (lw_mono_ms() >= deadline) {
            if (!shim)
                snprintf(err, errlen, "process %d did not load libleakwatch.so before the timeout",
                         (int)pid);
            else if (last[0])
                snprintf(err, errlen, "no answer from process %d before the timeout (%s)", (int)pid,
                         last);
            else {
                snprintf(err, errlen,
                         "process %d runs under leakwatch but has no control channel (started with "
                         "channel=0, or no private directory for it: see its leakwatch log)",
                         (int)pid);
                return -ENOSYS;
            }
            return -ETIMEDOUT;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}
