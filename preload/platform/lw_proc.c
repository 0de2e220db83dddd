/* lw_proc.c — the one walker over numeric /proc directories
 * (/proc/self/task for thread ids, /proc/self/fd for descriptors), and the
 * one reader of a thread's /proc files (stat, syscall).
 *
 * Owns: raw getdents64 over a directory opened with a raw openat: no
 * opendir (it allocates), no interposed open/close, so it runs inside
 * hooks (timer_create's helper-thread discovery) as well as in the
 * snapshot writer.
 * Must never: allocate, touch errno, or leave its descriptor open past
 * lw_dir_close.
 */
#include "lw_platform.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

int lw_dir_open(struct lw_dir *d, const char *path)
{
    d->got = d->off = 0;
    d->fd = lw_sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    return d->fd < 0 ? d->fd : 0;
}

int lw_dir_next(struct lw_dir *d, const char **name)
{
    for (;;) {
        if (d->off >= d->got) {
            d->got = lw_sys(SYS_getdents64, d->fd, d->buf, sizeof d->buf);
            d->off = 0;
            if (d->got <= 0)
                return -1;
        }
        unsigned short reclen;
        memcpy(&reclen, d->buf + d->off + 16, sizeof reclen);
        const char *n = d->buf + d->off + 19;
        d->off += reclen;
        if (n[0] < '0' || n[0] > '9')
            continue;
        int v = 0;
        for (const char *p = n; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (*p - '0');
        if (name)
            *name = n;
        return v;
    }
}

void lw_dir_close(struct lw_dir *d)
{
    if (d->fd >= 0)
        lw_sys_close(d->fd);
    d->fd = -1;
}

int lw_proc_tids(int *out, int max)
{
    struct lw_dir d;
    int r = lw_dir_open(&d, "/proc/self/task");
    if (r < 0)
        return r;
    int n = 0, tid;
    while ((tid = lw_dir_next(&d, NULL)) >= 0)
        if (n < max)
            out[n++] = tid;
    lw_dir_close(&d);
    return n;
}

/* include/linux/sched.h; set by do_exit before it wakes the joiner */
#define LW_PF_EXITING 0x00000004u

static ssize_t lw_read_rel(int dirfd, const char *path, char *buf, size_t n)
{
    int fd = lw_sys_openat(dirfd, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    ssize_t r = lw_sys_read(fd, buf, n - 1);
    lw_sys_close(fd);
    if (r < 0)
        return r;
    buf[r] = 0;
    return r;
}

bool lw_proc_read(int taskfd, int tid, struct lw_proc *p, bool want_syscall)
{
    char path[48], buf[512];
    memset(p, 0, sizeof *p);
    p->syscall = -2;
    snprintf(path, sizeof path, "%d/stat", tid);
    if (lw_read_rel(taskfd, path, buf, sizeof buf) <= 0)
        return false;
    char *l = strchr(buf, '('), *r = strrchr(buf, ')');
    if (!l || !r || r < l || r[1] != ' ')
        return false;
    size_t len = (size_t)(r - l - 1);
    if (len >= sizeof p->comm)
        len = sizeof p->comm - 1;
    memcpy(p->comm, l + 1, len);
    p->comm[len] = 0;
    p->state = r[2];
    /* after ") S": ppid pgrp session tty_nr tpgid flags */
    unsigned flags = 0;
    if (sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %u", &flags) == 1)
        p->exiting = (flags & LW_PF_EXITING) != 0;
    snprintf(path, sizeof path, "%d/syscall", tid);
    if (want_syscall && lw_read_rel(taskfd, path, buf, sizeof buf) > 0) {
        if (strncmp(buf, "running", 7) == 0) {
            p->syscall = -1;
        } else {
            char *end;
            p->syscall = strtol(buf, &end, 10);
            if (*end == ' ')
                p->arg0 = (uintptr_t)strtoull(end + 1, NULL, 16);
        }
    }
    return true;
}
