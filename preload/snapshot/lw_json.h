/* lw_json.h — the shim's JSON writer and snapshot hooks for resource families.
 *
 * The shim writes snapshots without jansson (it must not pull a JSON library
 * into the host process, whose own copy could clash): a buffered writer over
 * write(2) that escapes strings and tracks commas. It runs only in the
 * snapshot writer (a leakwatch thread, or the thread calling the API or
 * exiting), never in a signal handler.
 */
#ifndef LW_JSON_H
#define LW_JSON_H

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

/* Resource families write their arrays through these (called by the snapshot
 * writer with the key already written; each writes one JSON array). */
void lw_sockets_write(struct lw_snap *s, struct lw_json *w);
void lw_timers_write(struct lw_snap *s, struct lw_json *w);

#endif
