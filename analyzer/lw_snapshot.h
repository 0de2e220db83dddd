/* lw_snapshot.h — the analyzer's in-memory form of one snapshot file.
 *
 * lw_load.c turns the JSON (docs/snapshot-format.md) into these plain
 * structures after checking every field the analyzer relies on, so the rest
 * of the analyzer never touches jansson and never sees an out-of-range index,
 * a cycle in the context tree or a wrong type. Absent optional values are -1
 * (times, ids, indexes) or NULL (strings). Everything lives in the
 * snapshot's arena and is freed by lw_snapshot_free. Must never: keep
 * pointers into jansson objects, or exit the process.
 */
#ifndef LW_SNAPSHOT_H
#define LW_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lw_arena.h"
#include "lw_vocab.h"

struct lw_frame_ref {
    uint64_t ip;
    int module;       /* index into modules, -1 when none */
    uint64_t offset;  /* ip - module base, or ip when module == -1 */
};

struct lw_snap_module {
    const char *path;
    uint64_t base, start, end;
    const char *build_id;   /* lowercase hex or NULL */
};

struct lw_snap_stack {
    size_t n;
    struct lw_frame_ref *frames;  /* innermost first */
};

struct lw_snap_ctx {
    int64_t id;
    int64_t parent;        /* -1 for the root */
    int parent_idx;        /* index into contexts, -1 when none/unknown */
    const char *label;
    enum lw_ctx_kind kind;
    int64_t owner_tid;     /* -1 unknown */
    bool has_owner_start;
    struct lw_frame_ref owner_start;
    int64_t created_ns;
    int64_t cancelled_ns;  /* -1 live */
    enum lw_cause cause;   /* LW_CAUSE_NONE when absent */
    int64_t cancel_origin; /* -1 none */
    bool background;
};

struct lw_snap_blocked {
    const char *call, *source;
    enum lw_family family; /* LW_FAMILY_OTHER when absent */
    int64_t object;        /* -1 none */
    int64_t fd;            /* -1 none */
    size_t nfds;
    int64_t *fds;
    int64_t object_owner;  /* context id, -1 none */
    int64_t holder_tid;    /* -1 none */
    int64_t join_target_tid;
    int64_t since_ns;
    int64_t timeout_ns;    /* -1 infinite */
    int stack;             /* -1 none */
};

/* Where in Python a thread was started (snapshot "python"; optional). */
struct lw_snap_pyframe {
    const char *function, *file; /* may be NULL */
    int64_t line;
};
struct lw_snap_python {
    const char *name;            /* threading.Thread name; may be NULL */
    const char *target;          /* its target's __qualname__; may be NULL */
    const char *target_file;
    int64_t target_line;
    size_t n;
    struct lw_snap_pyframe *frames; /* innermost (Thread.start) first */
};

struct lw_snap_thread {
    int64_t tid;
    enum lw_thread_kind kind;
    const char *name;
    bool has_start;
    struct lw_frame_ref start;
    int64_t created_ns;
    int64_t creator_tid;
    int64_t context;       /* context id, -1 none */
    int ctx_idx;           /* index into contexts, -1 none */
    int creation_stack;    /* -1 none */
    enum lw_thread_state state;
    bool is_blocked;
    struct lw_snap_blocked blocked;
    int64_t waits, wakes_since_cancel;
    int64_t exited_ns;
    const char *exit;
    bool joined, detached;
    int64_t cancel_requested_ns;
    int64_t attributed_timer;  /* timer id, -1 none */
    const struct lw_snap_python *python; /* NULL: not started from Python */
};

struct lw_snap_timer {
    int64_t id;
    const char *kind;
    int64_t handle;
    const char *notify;
    bool has_callback;
    struct lw_frame_ref callback;
    int64_t context;
    int ctx_idx;
    int64_t creator_tid;
    int64_t created_ns;
    int creation_stack;
    bool armed;
    int64_t interval_ns;
    int64_t expirations;
    size_t nhelpers;
    int64_t *helper_tids;
};

struct lw_snap_socket {
    int64_t fd;
    const char *kind, *local, *peer;
    bool listening, connected, foreign;
    int64_t timer;          /* timerfd: id of its timer record, -1 none */
    size_t nregistered;     /* epoll: the fds registered in the set */
    int64_t *registered;
    int64_t context;
    int ctx_idx;
    int64_t creator_tid;
    int64_t created_ns;
    int creation_stack;
};

struct lw_snapshot {
    struct lw_arena arena;
    const char *path;       /* as given on the command line ("-" = stdin) */
    int64_t pid;
    int64_t ppid, seq;      /* -1 when absent */
    const char *image;      /* which exec image of pid wrote it; NULL when absent */
    const char *replaced_image; /* the image this one replaced by exec; NULL for none */
    const char *exe;
    enum lw_trigger trigger;
    int64_t taken_mono_ns, taken_real_ns;
    size_t nmodules;  struct lw_snap_module *modules;
    size_t nstacks;   struct lw_snap_stack *stacks;
    size_t nctxs;     struct lw_snap_ctx *ctxs;
    size_t nthreads;  struct lw_snap_thread *threads;
    size_t ntimers;   struct lw_snap_timer *timers;
    size_t nsockets;  struct lw_snap_socket *sockets;
    int root_idx;           /* index of the root context, -1 none */
};

/* Default cap on input size; larger files are refused (bounded memory). */
#define LW_MAX_INPUT_DEFAULT ((size_t)256 << 20)

/* Loads PATH ("-" = stdin). On error returns NULL and writes a one-line
 * message "PATH: json.path: what" into err. max_bytes 0 = default cap. */
struct lw_snapshot *lw_snapshot_load(const char *path, size_t max_bytes, char *err, size_t errlen);
/* Same from a memory buffer (tests, fuzzing); name is used in messages. */
struct lw_snapshot *lw_snapshot_parse(const char *name, const char *buf, size_t len, char *err, size_t errlen);
void lw_snapshot_free(struct lw_snapshot *s);

/* Index of the context with this id, or -1. */
int lw_snapshot_ctx_index(const struct lw_snapshot *s, int64_t id);
/* Index of the live (not exited) thread with this tid, or -1. */
int lw_snapshot_live_thread(const struct lw_snapshot *s, int64_t tid);

#endif
