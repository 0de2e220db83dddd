/* lw_snapshot.h — the snapshot layer's one header: taking one snapshot
 * (lw_snapshot.c), the JSON writer (lw_json.c), modules and stacks
 * (lw_snap_stacks.c), and the arrays written by lw_snap_threads.c,
 * lw_fd_snap.c and lw_timer_snap.c.
 *
 * The shim writes snapshots without jansson (it must not pull a JSON library
 * into the host process, whose own copy could clash): a buffered writer over
 * write(2) that escapes strings and tracks commas. All of it runs only in the
 * snapshot writer (a leakwatch thread, or the thread calling the API or
 * exiting, with the recursion guard held), never in a signal handler.
 * Must never: include a header of a layer above (runtime, hooks).
 */
#ifndef LW_SNAPSHOT_H
#define LW_SNAPSHOT_H

#include "lw_resources.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lw_json;   /* opaque writer */
struct lw_snap;   /* one snapshot being written (stack interning, module map) */

void lw_json_obj_begin(struct lw_json *w);           /* { */
void lw_json_obj_end(struct lw_json *w);             /* } */
void lw_json_arr_begin(struct lw_json *w);           /* [ */
void lw_json_arr_end(struct lw_json *w);             /* ] */
void lw_json_key(struct lw_json *w, const char *k);  /* "k": (next value follows) */
void lw_json_str(struct lw_json *w, const char *s);  /* NULL writes null */
void lw_json_int(struct lw_json *w, int64_t v);
void lw_json_uint(struct lw_json *w, uint64_t v);
void lw_json_bool(struct lw_json *w, bool v);
void lw_json_null(struct lw_json *w);
/* key + value in one call */
void lw_json_kstr(struct lw_json *w, const char *k, const char *s);
void lw_json_kint(struct lw_json *w, const char *k, int64_t v);
void lw_json_kbool(struct lw_json *w, const char *k, bool v);
void lw_json_knull(struct lw_json *w, const char *k);
/* a frame object {"ip","module","offset"} for one address (null for 0) */
void lw_json_frame(struct lw_snap *s, struct lw_json *w, uintptr_t ip);
/* Intern a stack for the top-level "stacks" array; returns its index, or -1
 * for an empty stack (write null then). */
int lw_snap_stack(struct lw_snap *s, const uintptr_t *frames, int n);
/* Snapshot time (CLOCK_MONOTONIC ns). */
uint64_t lw_snap_now(const struct lw_snap *s);
/* Mark a context as referenced so the "contexts" array includes it and its
 * ancestors. */
void lw_snap_ctx(struct lw_snap *s, uint32_t ctx);

/* The resource arrays (lw_fd_snap.c, lw_timer_snap.c), called with the key
 * already written; each writes one JSON array. */
void lw_sockets_write(struct lw_snap *s, struct lw_json *w);
void lw_timers_write(struct lw_snap *s, struct lw_json *w);

/* ---- snapshot (lw_snapshot.c / lw_json.c) ---- */
enum { LW_TRIG_START, LW_TRIG_EXIT, LW_TRIG_SIGNAL, LW_TRIG_API, LW_TRIG_INTERVAL,
       LW_TRIG_REQUEST };
/* Writes one snapshot; path NULL = the output pattern. 0 or -errno. */
int lw_snapshot_write(int trigger, const char *path);
/* Same, and the path written (or that could not be) into out ("" if none). */
int lw_snapshot_write_path(int trigger, const char *path, char *out, size_t n);
/* An interval snapshot at path was written: remember it and remove the
 * oldest one past lw_opt.interval_keep (lw_rotate.c; writer thread only). */
void lw_rotate_interval(const char *path);
/* Expand the output pattern for sequence `seq` into out. */
int lw_expand_output(const char *pat, uint64_t seq, char *out, size_t n);
struct lw_json *lw_json_open(int fd);
int lw_json_close(struct lw_json *w); /* flushes and frees; 0 or -errno */
void lw_snapshot_after_fork_child(void);
void lw_snapshot_lock_for_fork(bool lock);

/* ---- one snapshot being written (lw_snapshot.c, lw_snap_stacks.c,
 * lw_snap_threads.c) ---- */
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

/* lw_snap_stacks.c: modules and interned stacks */
void lw_snap_load_modules(struct lw_snap *s);
void lw_snap_free(struct lw_snap *s);
void lw_write_modules(struct lw_snap *s, struct lw_json *w);
void lw_write_stacks(struct lw_snap *s, struct lw_json *w);
/* lw_snap_threads.c: the threads array */
void lw_write_threads(struct lw_snap *s, struct lw_json *w);
/* JSON helpers shared by the snapshot files */
void lw_kuint_or_null(struct lw_json *w, const char *k, uint64_t v);

#endif
