/* lw_snap_stacks.c — modules and stacks of one snapshot: the module map
 * (dl_iterate_phdr + GNU build-id), frame objects, stack interning for the
 * deduplicated top-level "stacks" array.
 * Runs only in the snapshot writer (may allocate); must never run in a
 * signal handler.
 */
#include "lw_snapshot.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

uint64_t lw_snap_now(const struct lw_snap *s)
{
    return s->now;
}

void lw_snap_ctx(struct lw_snap *s, uint32_t ctx)
{
    /* every live context is written, so nothing to mark */
    (void)s;
    (void)ctx;
}

/* ---- modules ---- */

static void lw_build_id(struct dl_phdr_info *info, char out[41])
{
    out[0] = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *n;
            const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                unsigned len = n->n_descsz > 20 ? 20 : n->n_descsz;
                for (unsigned k = 0; k < len; k++)
                    snprintf(out + 2 * k, 3, "%02x", desc[k]);
                return;
            }
            p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
        }
    }
}

static int lw_mod_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct lw_snap *s = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (hi == 0)
        return 0;
    if (s->nmods == s->capmods) {
        size_t cap = s->capmods ? s->capmods * 2 : 64;
        struct lw_module *m = realloc(s->mods, cap * sizeof *m);
        if (!m)
            return 1;
        s->mods = m;
        s->capmods = cap;
    }
    struct lw_module *m = &s->mods[s->nmods];
    const char *name = info->dlpi_name;
    char exe[LW_PATH_MAX];
    if (!name || !*name) {
        /* the main program: name it by /proc/self/exe */
        long n = lw_sys6(SYS_readlinkat, AT_FDCWD, (long)"/proc/self/exe", (long)exe,
                         sizeof exe - 1, 0, 0);
        exe[n > 0 ? n : 0] = 0;
        name = exe;
    }
    m->path = strdup(name);
    if (!m->path)
        return 1;
    m->base = info->dlpi_addr;
    m->start = lo;
    m->end = hi;
    lw_build_id(info, m->build_id);
    s->nmods++;
    return 0;
}

static int lw_mod_cmp(const void *a, const void *b)
{
    const struct lw_module *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int lw_mod_of(const struct lw_snap *s, uintptr_t ip)
{
    /* modules are sorted by start; index order in the file is the same */
    size_t lo = 0, hi = s->nmods;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->mods[mid].start <= ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct lw_module *m = &s->mods[lo - 1];
    return ip < m->end ? (int)(lo - 1) : -1;
}

void lw_json_frame(struct lw_snap *s, struct lw_json *w, uintptr_t ip)
{
    if (!ip) {
        lw_json_null(w);
        return;
    }
    int m = lw_mod_of(s, ip);
    lw_json_obj_begin(w);
    lw_json_key(w, "ip");
    lw_json_uint(w, ip);
    lw_json_kint(w, "module", m);
    lw_json_key(w, "offset");
    lw_json_uint(w, m >= 0 ? ip - s->mods[m].base : ip);
    lw_json_obj_end(w);
}

/* ---- stacks ---- */

static uint64_t lw_stack_hash(const uintptr_t *f, int n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= f[i];
        h *= 1099511628211ull;
        h ^= h >> 31;
    }
    return h;
}

static bool lw_stab_grow(struct lw_snap *s)
{
    size_t size = s->stab_size ? s->stab_size * 2 : 1024;
    int32_t *t = calloc(size, sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < s->nstacks; i++) {
        size_t j = s->stacks[i].hash & (size - 1);
        while (t[j])
            j = (j + 1) & (size - 1);
        t[j] = (int32_t)i + 1;
    }
    free(s->stab);
    s->stab = t;
    s->stab_size = size;
    return true;
}

int lw_snap_stack(struct lw_snap *s, const uintptr_t *frames, int n)
{
    if (n <= 0 || !frames)
        return -1;
    if ((s->nstacks + 1) * 2 > s->stab_size && !lw_stab_grow(s))
        return -1;
    uint64_t h = lw_stack_hash(frames, n);
    size_t j = h & (s->stab_size - 1);
    while (s->stab[j]) {
        struct lw_stack_ent *e = &s->stacks[s->stab[j] - 1];
        if (e->hash == h && e->n == n && memcmp(s->frames + e->off, frames, n * sizeof *frames) == 0)
            return s->stab[j] - 1;
        j = (j + 1) & (s->stab_size - 1);
    }
    if (s->nstacks == s->capstacks) {
        size_t cap = s->capstacks ? s->capstacks * 2 : 256;
        struct lw_stack_ent *x = realloc(s->stacks, cap * sizeof *x);
        if (!x)
            return -1;
        s->stacks = x;
        s->capstacks = cap;
    }
    if (s->nframes + (size_t)n > s->capframes) {
        size_t cap = s->capframes ? s->capframes * 2 : 4096;
        while (cap < s->nframes + (size_t)n)
            cap *= 2;
        uintptr_t *x = realloc(s->frames, cap * sizeof *x);
        if (!x)
            return -1;
        s->frames = x;
        s->capframes = cap;
    }
    memcpy(s->frames + s->nframes, frames, n * sizeof *frames);
    s->stacks[s->nstacks] = (struct lw_stack_ent){h, s->nframes, n};
    s->nframes += (size_t)n;
    s->stab[j] = (int32_t)s->nstacks + 1;
    return (int)s->nstacks++;
}

void lw_snap_load_modules(struct lw_snap *s)
{
    dl_iterate_phdr(lw_mod_cb, s);
    qsort(s->mods, s->nmods, sizeof *s->mods, lw_mod_cmp);
}

void lw_snap_free(struct lw_snap *s)
{
    for (size_t i = 0; i < s->nmods; i++)
        free(s->mods[i].path);
    free(s->mods);
    free(s->frames);
    free(s->stacks);
    free(s->stab);
}

void lw_write_modules(struct lw_snap *s, struct lw_json *w)
{
    lw_json_arr_begin(w);
    for (size_t i = 0; i < s->nmods; i++) {
        struct lw_module *m = &s->mods[i];
        lw_json_obj_begin(w);
        lw_json_kstr(w, "path", m->path);
        lw_json_key(w, "base");
        lw_json_uint(w, m->base);
        lw_json_key(w, "start");
        lw_json_uint(w, m->start);
        lw_json_key(w, "end");
        lw_json_uint(w, m->end);
        lw_json_kstr(w, "build_id", m->build_id[0] ? m->build_id : NULL);
        lw_json_obj_end(w);
    }
    lw_json_arr_end(w);
}

void lw_write_stacks(struct lw_snap *s, struct lw_json *w)
{
    lw_json_arr_begin(w);
    for (size_t i = 0; i < s->nstacks; i++) {
        lw_json_arr_begin(w);
        for (int k = 0; k < s->stacks[i].n; k++)
            lw_json_frame(s, w, s->frames[s->stacks[i].off + (size_t)k]);
        lw_json_arr_end(w);
    }
    lw_json_arr_end(w);
}
