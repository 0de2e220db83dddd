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

#include "lw_vocab.h"

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
    /* threads started from CPython: the Python frames of the thread that
     * started it (file:line in function; ip 0, no module); may be empty */
    struct lw_sym_stack py_creation_stack;
    const char *location_file; /* first frame of creation_stack outside leakwatch/libc with a file; may be NULL */
    int location_line;

    /* Blocked state (threads); blocked == false means running. */
    bool blocked;
    char *blocked_call;     /* may be NULL when !blocked */
    enum lw_family blocked_family;
    char *blocked_object;   /* human form: "cond 0x7f..", "fd 7 (tcp 127.0.0.1:5000 -> 127.0.0.1:41234)"; may be NULL */
    int64_t blocked_for_ms; /* max over the group */
    bool blocked_timeout_infinite;
    struct lw_sym_stack blocked_stack;
    int64_t wakes_since_cancel; /* max over the group */

    /* Why leakwatch believes the scope ended. */
    enum lw_cause ctx_cause;  /* LW_CAUSE_NONE for unjoined/stuck */
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

    /* Decided by the analyzer from --fail-on (and the baseline): does this
     * new finding fail the run? Renderers print it, never recompute it. */
    bool fails;
};

/* A module (executable or shared object) mapped in the AFTER snapshot, for
 * formats that let a backend symbolize server-side (pprof mappings). */
struct lw_module {
    char *path;
    char *build_id;        /* lowercase hex; may be NULL */
    uint64_t start, end;   /* mapped address range */
    uint64_t base;         /* load bias: ip - base = offset in the file */
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
    enum lw_trigger after_trigger;
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
    unsigned fail_on;              /* bitmask of LW_FAIL_* (lw_vocab.h); 0 = none */
    struct lw_module *modules;     /* of the AFTER snapshot (pprof mappings) */
    size_t n_modules;

    /* The decision, made once by the analyzer: instances of new findings
     * whose `fails` is set, and whether the report fails (exit status 1). */
    size_t failing;
    bool fails;
};

/* One snapshot as a thread dump (`leakwatch show`). */
struct lw_dump_group {
    size_t count;
    int *tids;
    int *ctx_of;        /* per tid: index into lw_dump.ctxs of its context, -1 none */
    char *state;        /* "blocked in pthread_cond_wait (cond 0x…) for 12s", "running", "exited 3s ago" */
    enum lw_status verdict; /* LW_ST_NONE: no verdict */
    char *name;         /* may be NULL */
    char *start_routine;/* may be NULL */
    enum lw_thread_kind kind;
    char *ctx_label;    /* may be NULL */
    struct lw_sym_stack stack;          /* blocked stack if blocked, else empty */
    struct lw_sym_stack creation_stack;
    struct lw_sym_stack py_creation_stack; /* see lw_finding */
    struct lw_creator *creators; size_t ncreators;
};

struct lw_ctx_node {          /* for --tree; children by index into the array */
    int id, parent;           /* parent -1 for the root */
    char *label;              /* may be NULL */
    enum lw_ctx_kind kind;
    int owner_tid;
    char *owner_function;     /* may be NULL */
    char *cancel;             /* "scope ended 2.1 s ago, when thread 4102 (handle_request) exited" or NULL */
    size_t nthreads, ntimers, nsockets;
};

/* One open socket or fd of the snapshot (`leakwatch show`). */
struct lw_dump_fd {
    int fd;
    enum lw_kind kind;        /* LW_KIND_SOCKET or LW_KIND_FD */
    char *what;               /* "tcp 127.0.0.1:80 (listening)", "epoll instance" */
    char *owner;              /* "context #3 of thread 4102 (handle_request)"; NULL when foreign */
    enum lw_status verdict;   /* LW_ST_NONE: no verdict */
    bool foreign;             /* not seen opened: inherited, or opened behind leakwatch's back */
};

struct lw_dump {
    char *path;
    int pid;
    char *exe;
    enum lw_trigger trigger;
    size_t nthreads;
    struct lw_dump_group *groups; size_t ngroups;
    struct lw_ctx_node *ctxs; size_t nctxs;
    size_t ntimers;
    size_t nsockets, nfds;    /* the program's own (tracked), by kind */
    struct lw_dump_fd *fds; size_t nfd_entries; /* every open socket/fd, foreign last */
};

/* One process of a gate run (`leakwatch gate`): what was checked and the
 * report of its start/exit pair. */
#define LW_PROC_STATUS_LIST(X)                                                                                      \
    X(FINDINGS, "findings") X(CLEAN, "clean") X(ERROR, "error") X(NO_EXIT, "no_exit_snapshot")
#define LW_PROC_E_(n, s) LW_VOCAB_ENUM_(LW_PROC_, n)
enum lw_proc_status { LW_PROC_STATUS_LIST(LW_PROC_E_) };
#define LW_PROC_COUNT LW_VOCAB_COUNT(LW_PROC_STATUS_LIST)
const char *lw_proc_status_name(enum lw_proc_status s);

struct lw_gate_proc {
    int pid;
    char *exe;
    enum lw_proc_status status;
    char *note;                /* "own start snapshot", "forked child: …", why not checked */
    struct lw_report *report;  /* findings/clean only; NULL otherwise */
};

struct lw_gate {
    struct lw_gate_proc *procs; size_t nprocs;   /* in pid order */
};

/* Renderers (reports/). Each returns 0 or a negative errno. `color` applies
 * to text only. */
enum lw_stack_choice { LW_STACK_CREATION, LW_STACK_BLOCKED };
struct lw_render_opts {
    bool color;
    int max_frames;    /* frames per stack shown in text/markdown; 0 = all */
    /* pprof: which stack a sample's locations are (the blocked stack falls
     * back to the creation stack for findings that are not blocked). */
    enum lw_stack_choice pprof_stack;
};

typedef int (*lw_renderer_fn)(FILE *, const struct lw_report *, const struct lw_render_opts *);
typedef int (*lw_gate_renderer_fn)(FILE *, const struct lw_gate *, const struct lw_render_opts *);

/* The report formats, the one list `diff`, `show` and `gate` accept:
 * X(ID, "name", "alias" or NULL, renderer of one diff, renderer of a gate
 * run covering every process). A new format is one line here and one
 * reports/lw_render_NAME.c defining both functions. */
#define LW_FORMAT_LIST(X)                                                                                           \
    X(TEXT, "text", NULL, lw_render_text, lw_render_gate_text)                                                      \
    X(JSON, "json", NULL, lw_render_json, lw_render_gate_json)                                                      \
    X(JUNIT, "junit", NULL, lw_render_junit, lw_render_gate_junit)                                                  \
    X(SARIF, "sarif", NULL, lw_render_sarif, lw_render_gate_sarif)                                                  \
    X(MARKDOWN, "markdown", "md", lw_render_markdown, lw_render_gate_markdown)                                      \
    X(HTML, "html", NULL, lw_render_html, lw_render_gate_html)                                                      \
    X(PPROF, "pprof", NULL, lw_render_pprof, lw_render_gate_pprof)                                                  \
    X(OPENMETRICS, "openmetrics", NULL, lw_render_openmetrics, lw_render_gate_openmetrics)

#define LW_FORMAT_DECL_(id, name, alias, fn, gate_fn)                                                               \
    int fn(FILE *out, const struct lw_report *r, const struct lw_render_opts *o);                                  \
    int gate_fn(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o);
LW_FORMAT_LIST(LW_FORMAT_DECL_)
#define LW_FORMAT_E_(id, name, alias, fn, gate_fn) LW_FORMAT_##id,
enum lw_format { LW_FORMAT_LIST(LW_FORMAT_E_) };

struct lw_format_info {
    const char *name, *alias;
    lw_renderer_fn render;
    lw_gate_renderer_fn render_gate;
};
/* By name or alias ("md"); NULL for an unknown name. */
const struct lw_format_info *lw_format_by_name(const char *name);
/* "text, json, junit, sarif, markdown" for messages and usage. */
const char *lw_format_names(void);

/* "text" -> lw_render_text etc.; NULL for an unknown name. */
lw_renderer_fn lw_renderer_by_name(const char *name);

/* One snapshot as a thread dump (text), or with tree its context tree. */
int lw_render_dump(FILE *out, const struct lw_dump *d, bool tree, const struct lw_render_opts *o);
/* One snapshot as a self-contained HTML page (docs/design.md §4.2): its
 * context tree drawn, every thread group as a card, parked ones apart. */
int lw_render_dump_html(FILE *out, const struct lw_dump *d, const struct lw_render_opts *o);

/* The last component of a path (the path itself without '/'); NULL stays NULL. */
const char *lw_base_name(const char *path);

#endif
