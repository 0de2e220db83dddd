/* lw_snap.h — one snapshot being written: shared by lw_snapshot.c (files,
 * top level), lw_snap_stacks.c (modules, frames, stack interning) and
 * lw_snap_threads.c (registry copy, /proc scan, thread records) and
 * lw_snap_locks.c (untimed lock marks).
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
/* lw_snap_locks.c: untimed lock marks seen by a snapshot */
struct lw_lock_mark {
    uintptr_t obj, caller; /* obj 0: no mark */
    const struct lw_lock_kind *kind;
};
struct lw_lock_clock { /* scheduler clock -> CLOCK_MONOTONIC, once per snapshot */
    bool known, ok;
    uint64_t now;
    int64_t offset;
};
void lw_lock_mark_read(struct lw_thread *t, struct lw_lock_mark *mk); /* registry lock held */
/* true, and *b/stack filled, when the marked thread is asleep on the lock
 * (state, syscall nr and first argument from /proc/.../{stat,syscall}) */
bool lw_lock_mark_wait(struct lw_lock_clock *clk, int taskfd, int tid,
                       const struct lw_lock_mark *mk, char state, long nr, uintptr_t arg0,
                       uint64_t created_ns, struct lw_blocked *b, uintptr_t *stack);
/* JSON helpers shared by the snapshot files */
void lw_kuint_or_null(struct lw_json *w, const char *k, uint64_t v);

#endif
