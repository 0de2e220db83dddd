/* lw_model.h — the finished model the analyzer hands to the renderers.
 *
 * The analyzer (load, symbolize, judge, diff) fills these structures; the
 * renderers in reports/ only read them. Everything here is owned by the
 * report (freed by lw_report_free) and every string is non-NULL unless the
 * comment says "may be NULL". Nothing in this file depends on jansson or
 * libdw, so renderers and their tests stay independent of both.
 */
#ifndef LW_MODEL_H
#define LW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One symbolized frame. function/file may be NULL when unknown. */
struct lw_sym_frame {
    uint64_t ip;
    char *function;   /* demangled; may be NULL */
    char *file;       /* source file; may be NULL */
    int line;         /* 0 when unknown */
    char *module;     /* basename-free path of the module; may be NULL */
    uint64_t offset;  /* module-relative offset (ip - load bias) */
    bool inlined;     /* a frame inlined into the next one */
};

struct lw_sym_stack {
    size_t n;
    struct lw_sym_frame *frames; /* innermost first */
};

enum lw_kind { LW_KIND_THREAD, LW_KIND_TIMER, LW_KIND_SOCKET };
enum lw_verdict { LW_VERDICT_LEAKED, LW_VERDICT_UNJOINED, LW_VERDICT_STUCK };

/* One hop of the creator chain, innermost (direct creator) first; the last
 * entry is the root (main). */
struct lw_creator {
    int tid;
    char *function;  /* the creator thread's start routine, or "main" */
    char *label;     /* context label in force; may be NULL */
};

/* A finding: one site, with every instance (tid, fd, timer) grouped in it. */
struct lw_finding {
    enum lw_kind kind;
    enum lw_verdict verdict;
    char *site;       /* stable signature, 16 hex digits */
    char *title;      /* one line: "thread poller_main (blocked in nanosleep)" */
    size_t count;
    int *ids;         /* tids (threads), fds (sockets), timer handles; count of them */
    char *name;       /* thread name / socket kind / timer kind; may be NULL */
    char *start_routine; /* threads: symbolized start routine; timers: callback; may be NULL */
    struct lw_sym_stack creation_stack;
    const char *location_file; /* first frame of creation_stack outside leakwatch/libc with a file; may be NULL */
    int location_line;

    /* Blocked state (threads); blocked == false means running. */
    bool blocked;
    char *blocked_call;     /* may be NULL when !blocked */
    char *blocked_family;   /* cond|mutex|sem|join|sleep|socket|poll|read|futex|other */
    char *blocked_object;   /* human form: "cond 0x7f..", "fd 7 (tcp 127.0.0.1:5000 -> 127.0.0.1:41234)"; may be NULL */
    int64_t blocked_for_ms; /* max over the group */
    bool blocked_timeout_infinite;
    struct lw_sym_stack blocked_stack;
    int64_t wakes_since_cancel; /* max over the group */

    /* Why leakwatch believes the scope ended. */
    char *ctx_cause;          /* exited|pthread_cancel|explicit|process_exit; may be NULL for unjoined/stuck */
    int64_t ctx_cancelled_ago_ms; /* -1 when not cancelled */
    char *ctx_label;          /* nearest context label; may be NULL */
    int ctx_origin_tid;       /* owner tid of the context where cancellation started; 0 unknown */

    struct lw_creator *creators;
    size_t ncreators;

    char *detail;   /* verdict-specific sentence (stuck explanation, socket peer, timer interval); may be NULL */

    /* Sockets and timers. */
    char *sock_kind, *sock_local, *sock_peer;   /* may be NULL */
    int64_t timer_interval_ms;                  /* 0 one-shot */
    bool timer_armed;
    int64_t exited_ago_ms;                      /* unjoined threads; -1 otherwise */
};

struct lw_suppression_use {
    char *pattern;   /* as written, "thread:poller_*" */
    size_t hits;
};

struct lw_report {
    char *before_path;  /* may be NULL (single-argument diff) */
    char *after_path;
    int before_pid, after_pid;
    bool same_process;
    char *after_trigger;  /* start|exit|signal|api|interval */
    char *exe;            /* may be NULL */
    int64_t grace_ms;

    struct lw_finding *new_findings;   size_t n_new;
    struct lw_finding *persisting;     size_t n_persisting;
    struct lw_finding *fixed;          size_t n_fixed;

    struct lw_suppression_use *suppressions; size_t n_suppressions;
    size_t baseline_accepted;      /* instances accepted by the baseline file */
    char **baseline_expired;       /* human lines about expired entries */
    size_t n_baseline_expired;
    char **warnings;               /* symbolization and input warnings, one line each */
    size_t n_warnings;
    unsigned fail_on;              /* bitmask of LW_FAIL_* */
};

#define LW_FAIL_THREAD   1u
#define LW_FAIL_TIMER    2u
#define LW_FAIL_SOCKET   4u
#define LW_FAIL_UNJOINED 8u
#define LW_FAIL_STUCK    16u
#define LW_FAIL_ALL      31u

/* One snapshot as a thread dump (`leakwatch show`). */
struct lw_dump_group {
    size_t count;
    int *tids;
    char *state;        /* "blocked in pthread_cond_wait (cond 0x…) for 12s", "running", "exited 3s ago" */
    char *verdict;      /* "leaked" | "unjoined" | "stuck" | "parked" | NULL */
    char *name;         /* may be NULL */
    char *start_routine;/* may be NULL */
    char *kind;         /* main|tracked|foreign */
    char *ctx_label;    /* may be NULL */
    struct lw_sym_stack stack;          /* blocked stack if blocked, else empty */
    struct lw_sym_stack creation_stack;
    struct lw_creator *creators; size_t ncreators;
};

struct lw_ctx_node {          /* for --tree; children by index into the array */
    int id, parent;           /* parent -1 for the root */
    char *label;              /* may be NULL */
    char *kind;
    int owner_tid;
    char *owner_function;     /* may be NULL */
    char *cancel;             /* "cancelled 2.1s ago (exited)" or NULL */
    size_t nthreads, ntimers, nsockets;
};

struct lw_dump {
    char *path;
    int pid;
    char *exe;
    char *trigger;
    size_t nthreads;
    struct lw_dump_group *groups; size_t ngroups;
    struct lw_ctx_node *ctxs; size_t nctxs;
    size_t ntimers, nsockets;
};

/* Renderers (reports/). Each returns 0 or a negative errno. `color` applies
 * to text only. */
struct lw_render_opts {
    bool color;
    int max_frames;    /* frames per stack shown in text/markdown; 0 = all */
};

int lw_render_text(FILE *out, const struct lw_report *r, const struct lw_render_opts *o);
int lw_render_json(FILE *out, const struct lw_report *r, const struct lw_render_opts *o);
int lw_render_junit(FILE *out, const struct lw_report *r, const struct lw_render_opts *o);
int lw_render_sarif(FILE *out, const struct lw_report *r, const struct lw_render_opts *o);
int lw_render_markdown(FILE *out, const struct lw_report *r, const struct lw_render_opts *o);
int lw_render_dump(FILE *out, const struct lw_dump *d, bool tree, const struct lw_render_opts *o);

/* "text" -> lw_render_text etc.; NULL for an unknown name. */
typedef int (*lw_renderer_fn)(FILE *, const struct lw_report *, const struct lw_render_opts *);
lw_renderer_fn lw_renderer_by_name(const char *name);

const char *lw_kind_name(enum lw_kind k);       /* "thread" | "timer" | "socket" */
const char *lw_verdict_name(enum lw_verdict v); /* "leaked" | "unjoined" | "stuck" */

#endif
