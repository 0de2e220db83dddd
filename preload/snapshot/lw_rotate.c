/* lw_rotate.c — the bound on interval snapshots (option interval_keep), so a
 * long-running process sampled every few seconds does not fill its disk.
 *
 * Owns: a ring of the last interval_keep interval snapshots this image
 * wrote (path, device, inode), mapped on first use. When a new one makes the
 * ring overflow, the oldest is removed — only if the path still names the
 * very file leakwatch wrote (same device and inode), so a file the user
 * moved, replaced, or that a later chdir made the relative path point
 * elsewhere is never touched. A forked child starts with an empty ring: the
 * parent's files are the parent's. Start, exit, signal, request and API
 * snapshots are never rotated.
 * Must never: run outside the writer thread (no lock: one caller), remove a
 * file it did not write, or allocate with malloc.
 */
#include "lw_snapshot.h"

#include <string.h>

struct lw_rot_ent {
    uint64_t dev, ino;
    char path[LW_PATH_MAX];
};

static struct lw_rot_ent *lw_rot;
static int lw_rot_cap, lw_rot_head, lw_rot_n, lw_rot_pid;

void lw_rotate_interval(const char *path)
{
    int keep = lw_opt.interval_keep;
    if (keep <= 0 || !path[0])
        return;
    if (!lw_rot) {
        lw_rot = lw_mmap_sparse((size_t)keep * sizeof *lw_rot);
        if (!lw_rot)
            return;
        lw_rot_cap = keep;
    }
    int pid = lw_sys_getpid();
    if (pid != lw_rot_pid) { /* first use, or a fork child: nothing is ours yet */
        lw_rot_pid = pid;
        lw_rot_head = lw_rot_n = 0;
    }
    struct lw_rot_ent e;
    if (lw_sys_file_id(path, &e.dev, &e.ino) < 0 || strlen(path) >= sizeof e.path)
        return;
    memcpy(e.path, path, strlen(path) + 1);
    if (lw_rot_n == lw_rot_cap) {
        struct lw_rot_ent *old = &lw_rot[lw_rot_head];
        uint64_t dev, ino;
        if (lw_sys_file_id(old->path, &dev, &ino) == 0 && dev == old->dev && ino == old->ino)
            lw_sys_unlink(old->path);
        *old = e;
        lw_rot_head = (lw_rot_head + 1) % lw_rot_cap;
    } else {
        lw_rot[(lw_rot_head + lw_rot_n) % lw_rot_cap] = e;
        lw_rot_n++;
    }
}
