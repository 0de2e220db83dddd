/* lw_site.c — stable site signatures and symbolized stacks for findings.
 *
 * A site is FNV-1a (64-bit) over: the kind, the start routine / callback /
 * socket kind, the symbolized function names of the creation stack (runtime
 * frames skipped: leakwatch, libc, libpthread, ld.so, libstdc++'s thread
 * start; top LW_SITE_FRAMES frames) and the blocking family. Names only —
 * never addresses, offsets, tids or fds — so the same bug has the same site
 * across runs, ASLR and unrelated rebuilds. Which frames are runtime frames
 * is lw_frames.c's to say; this file only hashes. Must never: hash anything
 * that changes between runs of the same code, or symbolize for display.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"

uint64_t lw_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    if (s)
        h = lw_fnv1a(h, s, strlen(s));
    return lw_fnv1a(h, "", 1);  /* separator: "ab","c" != "a","bc" */
}

void lw_site_hex(uint64_t site, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)site);
}

const char *lw_site_name(const char *function, char *buf, size_t len)
{
    if (!function)
        return NULL;
    snprintf(buf, len, "%s", function);
    /* GCC clones differ between builds of unchanged code. */
    static const char *const suffixes[] = {".constprop.", ".isra.", ".part.", ".cold", ".lto_priv.", NULL};
    for (const char *const *sfx = suffixes; *sfx; sfx++) {
        char *p = strstr(buf, *sfx);
        if (p)
            *p = 0;
    }
    return buf;
}

/* Hashes the names of the first LW_SITE_FRAMES non-runtime frames of stack
 * si. Unknown functions hash as module basename (no offset: it changes with
 * every rebuild), so stripped binaries still group by module. */
static uint64_t hash_stack(struct lw_symbolizer *z, const struct lw_snapshot *s, int si, uint64_t h)
{
    if (si < 0)
        return fnv_str(h, "<no stack>");
    const struct lw_snap_stack *st = &s->stacks[si];
    int taken = 0;
    char buf[512];
    for (size_t i = 0; i < st->n && taken < LW_SITE_FRAMES; i++) {
        const struct lw_symres *r = lw_symbolize(z, s, &st->frames[i], i > 0);
        for (size_t k = 0; k < r->n && taken < LW_SITE_FRAMES; k++) {
            const struct lw_symloc *l = &r->locs[k];
            if (lw_frame_is_runtime(r->module, l->function))
                continue;
            if (l->function)
                h = fnv_str(h, lw_site_name(l->function, buf, sizeof buf));
            else
                h = fnv_str(h, r->module ? lw_base_name(r->module) : "?");
            taken++;
        }
    }
    return h;
}

static uint64_t hash_fn(struct lw_symbolizer *z, const struct lw_snapshot *s, bool has, const struct lw_frame_ref *f,
                        uint64_t h)
{
    char buf[512];
    const char *fn = has ? lw_frame_function(z, s, f) : NULL;
    if (!fn && has && f->module >= 0)
        fn = lw_base_name(s->modules[f->module].path);
    return fnv_str(h, fn ? lw_site_name(fn, buf, sizeof buf) : "");
}

uint64_t lw_site_thread(struct lw_symbolizer *z, const struct lw_snapshot *s, size_t i, enum lw_status st)
{
    const struct lw_snap_thread *t = &s->threads[i];
    uint64_t h = fnv_str(LW_FNV_OFFSET, "thread");
    h = hash_fn(z, s, t->has_start, &t->start, h);
    h = hash_stack(z, s, t->creation_stack, h);
    /* A thread started from Python: every one has the interpreter's native
     * start and creation stack; its target and the Python functions that
     * started it tell them apart (names only, as for native frames). */
    if (t->python) {
        h = fnv_str(h, t->python->target);
        int taken = 0;
        for (size_t k = 0; k < t->python->n && taken < LW_SITE_FRAMES; k++) {
            const char *file = t->python->frames[k].file;
            size_t n = file ? strlen(file) : 0;
            if (n >= 12 && strcmp(file + n - 12, "threading.py") == 0)
                continue;
            h = fnv_str(h, t->python->frames[k].function);
            taken++;
        }
    }
    const char *family = t->is_blocked ? lw_family_name(t->blocked.family) : st == LW_ST_UNJOINED ? "exited" : "running";
    return fnv_str(h, family);
}

uint64_t lw_site_timer(struct lw_symbolizer *z, const struct lw_snapshot *s, size_t i)
{
    const struct lw_snap_timer *t = &s->timers[i];
    uint64_t h = fnv_str(LW_FNV_OFFSET, "timer");
    h = fnv_str(h, t->kind);
    h = hash_fn(z, s, t->has_callback, &t->callback, h);
    return hash_stack(z, s, t->creation_stack, h);
}

uint64_t lw_site_socket(struct lw_symbolizer *z, const struct lw_snapshot *s, size_t i)
{
    const struct lw_snap_socket *k = &s->sockets[i];
    uint64_t h = fnv_str(LW_FNV_OFFSET, "socket");
    h = fnv_str(h, k->kind);
    return hash_stack(z, s, k->creation_stack, h);
}
