/* lw_gate.h — the gate's plan: which snapshots of a run are compared with
 * which (docs/design.md §4.3). Reads only the directory it is given, only
 * files named leakwatch-*.json, each through the one validating loader.
 */
#ifndef LW_GATE_H
#define LW_GATE_H

#include <stddef.h>
#include <stdint.h>

enum lw_plan_kind {
    LW_PLAN_PAIR,     /* diff before (may be NULL: empty baseline) with after */
    LW_PLAN_NOEXIT,   /* a start snapshot and no exit snapshot: not checked */
    LW_PLAN_REPLACED, /* an image that exec'd another and left nothing to check */
    LW_PLAN_BAD,      /* a file the loader refused (note says why) */
};

struct lw_plan_item {
    enum lw_plan_kind kind;
    int pid;
    char *exe;            /* may be NULL */
    char *before, *after; /* paths; before NULL = empty baseline; after NULL unless PAIR */
    char *note;           /* "own start snapshot", "forked child: ...", why not checked */
};

struct lw_plan {
    struct lw_plan_item *items;
    size_t n;
};

/* Plans the snapshots in dir. -errno (message in err) when the directory
 * cannot be read; unreadable snapshots are BAD items, not failures. */
int lw_gate_plan(const char *dir, size_t max_bytes, struct lw_plan *p, char *err, size_t errlen);
void lw_gate_plan_free(struct lw_plan *p);

#endif
