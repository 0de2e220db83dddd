/* lw_proc.c — the one walker over numeric /proc directories
 * (/proc/self/task for thread ids, /proc/self/fd for descriptors).
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
