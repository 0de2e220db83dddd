/* lw_snap.h — one snapshot being written: shared by lw_snapshot.c (files,
 * top level), lw_snap_stacks.c (modules, frames, stack interning) and
 * lw_snap_threads.c (registry copy, /proc scan, thread records).
 * Must never: be included outside preload/.
 */
#ifndef LW_SNAP_H
#define LW_SNAP_H

#include "lw_internal.h"

struct lw_module {
    char *path;
    uintptr_t base, start, end;
    char build_id[41];
};

struct lw_stack_ent {
    uint64_t hash;
    size_t off;
    int n;
};

struct lw_snap {
    uint64_t now, realtime;
    struct lw_module *mods;
    size_t nmods, capmods;
    uintptr_t *frames;
    size_t nframes, capframes;
    struct lw_stack_ent *stacks;
    size_t nstacks, capstacks;
    int32_t *stab; /* open addressing: stack index + 1, 0 empty */
    size_t stab_size;
};

/* lw_snap_stacks.c */
void lw_snap_load_modules(struct lw_snap *s);
void lw_snap_free(struct lw_snap *s);
void lw_write_modules(struct lw_snap *s, struct lw_json *w);
void lw_write_stacks(struct lw_snap *s, struct lw_json *w);
/* lw_snap_threads.c */
void lw_write_threads(struct lw_snap *s, struct lw_json *w);
/* JSON helpers shared by the snapshot files */
void lw_kuint_or_null(struct lw_json *w, const char *k, uint64_t v);

#endif
