/* lw_analyze.h — the analyzer's internal pipeline: verdicts per snapshot,
 * sites, findings, diff, suppressions, baseline, report lifetime.
 *
 *   snapshot --lw_judge--> per-record status (leaked/unjoined/stuck/parked)
 *            --lw_analyse--> instances (one per finding record, with site)
 *   before+after --lw_diff--> struct lw_report (lw_model.h) for the renderers
 */
#ifndef LW_ANALYZE_H
#define LW_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lw_model.h"
#include "lw_snapshot.h"
#include "lw_symbolize.h"

/* ---- verdicts (lw_verdict.c) ---- */
/* enum lw_status (lw_vocab.h): per-record verdict, LW_ST_NONE when none. */
struct lw_judgement {
    enum lw_status *threads, *timers, *sockets;  /* parallel to the snapshot arrays */
    char **thread_detail;  /* stuck: why; parked: on what; else NULL (malloc'd) */
};

/* Applies the verdict rules (docs/design.md §2) to one snapshot with grace grace_ms. */
void lw_judge(const struct lw_snapshot *s, int64_t grace_ms, struct lw_judgement *j);
void lw_judgement_free(const struct lw_snapshot *s, struct lw_judgement *j);
bool lw_is_exit_snapshot(const struct lw_snapshot *s);

/* ---- frames (lw_frames.c) ----
 * Which frames belong to whom, the symbolized stacks reports show, and what
 * a thread runs. */
/* A frame belongs to leakwatch, libc, ld.so or libstdc++'s thread start:
 * skipped in site signatures and report locations. */
bool lw_frame_is_runtime(const char *module, const char *function);
bool lw_frame_is_leakwatch(const char *module);
/* Thread-start plumbing, dropped at the outer end of displayed stacks:
 * libc/ld.so frames, _start, start_thread, clone*, libstdc++'s trampoline,
 * std::thread's invoker templates, Python's pythread_wrapper/thread_run. */
bool lw_frame_is_outer_plumbing(const char *module, const char *function);
/* A frame of a language runtime (C/C++ runtime libraries, C++ templates from
 * the toolchain's headers, Rust's std): thread names skip them. */
bool lw_frame_is_toolchain(const char *module, const char *function, const char *file);
/* The Python frames a thread was started from (snapshot "python"), without
 * threading.py's own, as model frames (ip 0, no module); empty when none. */
void lw_py_stack(const struct lw_snap_python *py, struct lw_sym_stack *out);
/* Symbolized name of a function-address frame (start routine, callback). */
const char *lw_frame_function(struct lw_symbolizer *z, const struct lw_snapshot *s, const struct lw_frame_ref *f);
/* Symbolizes stack index si (may be -1 -> empty) into a model stack for
 * display, trimmed by lw_sym_stack_trim. The _ex form returns how many
 * plumbing frames were trimmed at the outer end (> 0: the stack reaches
 * the thread's start). */
void lw_stack_symbolize(struct lw_symbolizer *z, const struct lw_snapshot *s, int si, struct lw_sym_stack *out);
size_t lw_stack_symbolize_ex(struct lw_symbolizer *z, const struct lw_snapshot *s, int si, struct lw_sym_stack *out);
void lw_sym_stack_free(struct lw_sym_stack *st);
/* Drops leakwatch frames anywhere, outer plumbing, and libstdc++'s
 * _M_start_thread at the inner end; never empties a stack that had
 * frames outside leakwatch. Returns the number of outer frames dropped. */
size_t lw_sym_stack_trim(struct lw_sym_stack *st);
/* What thread tid runs, for titles and creator chains: its start routine's
 * name, or when that is plumbing (std::thread's trampoline, no symbol) the
 * first user frame above the plumbing in its blocked stack or in the
 * creation stack of something it created, else "std::thread from CALLER".
 * malloc'd; NULL when nothing better than the raw frame is known. */
char *lw_thread_entry(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t tid, bool has_start,
                      const struct lw_frame_ref *start);

/* ---- sites (lw_site.c) ----
 * Stable signatures over the names of frames (lw_frames.c decides which
 * frames count); nothing here symbolizes for display. */
#define LW_SITE_FRAMES 8
/* Name used in site signatures: clone suffixes (.constprop.0, .isra.0,
 * .part.0, .cold) removed. Writes into buf. */
const char *lw_site_name(const char *function, char *buf, size_t len);
uint64_t lw_fnv1a(uint64_t h, const void *data, size_t len);
#define LW_FNV_OFFSET 0xcbf29ce484222325ull

/* Site of a thread/timer/socket record (record index into the snapshot
 * array of that kind). */
uint64_t lw_site_thread(struct lw_symbolizer *z, const struct lw_snapshot *s, size_t i, enum lw_status st);
uint64_t lw_site_timer(struct lw_symbolizer *z, const struct lw_snapshot *s, size_t i);
uint64_t lw_site_socket(struct lw_symbolizer *z, const struct lw_snapshot *s, size_t i);
void lw_site_hex(uint64_t site, char out[17]);

/* ---- instances and findings (lw_finding.c) ---- */
enum lw_diff_state { LW_NEW, LW_PERSISTING, LW_FIXED };

struct lw_inst {
    enum lw_kind kind;
    enum lw_verdict verdict;
    const struct lw_snapshot *snap;
    const struct lw_judgement *j;
    size_t idx;          /* into threads / timers / sockets */
    uint64_t site;
    int64_t key1, key2;  /* identity within one process */
    int id;              /* tid, fd or timer handle */
    int64_t created_ns;
    enum lw_diff_state state;
    bool suppressed, accepted;
};

struct lw_analysis {
    const struct lw_snapshot *snap;
    struct lw_judgement j;
    struct lw_inst *insts;
    size_t ninsts;
};

void lw_analyse(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t grace_ms, struct lw_analysis *a);
void lw_analysis_free(struct lw_analysis *a);

/* Fills f from the instances group[0..n) (same site, verdict, state);
 * group[0] is the representative. */
void lw_finding_fill(struct lw_symbolizer *z, struct lw_finding *f, struct lw_inst *const *group, size_t n);
void lw_finding_free(struct lw_finding *f);
/* Creator chain starting at context index ci (inclusive when include_self). */
void lw_creators_fill(struct lw_symbolizer *z, const struct lw_snapshot *s, int ci, bool include_self,
                      struct lw_creator **out, size_t *n);
/* A descriptor record that is not a network socket (epoll, eventfd, pipe,
 * signalfd, inotify): findings of kind fd. */
bool lw_socket_is_fd(const struct lw_snap_socket *k);
/* What a leaked fd is, in words: "epoll instance", "eventfd", "pipe". */
const char *lw_fd_words(const char *kind);
/* "cond 0x..", "mutex 0x.. held by thread N", "fd 7 (tcp a -> b)"; malloc'd or NULL. */
char *lw_blocked_object(const struct lw_snapshot *s, const struct lw_snap_blocked *b);

/* ---- suppressions (lw_suppress.c) ---- */
enum lw_supp_type { LW_SUPP_THREAD, LW_SUPP_TIMER, LW_SUPP_SOCKET, LW_SUPP_TOP, LW_SUPP_FD };
struct lw_supp_rule {
    enum lw_supp_type type;
    char *glob;
    char *text;   /* as written */
    size_t hits;
    char *library; /* default list: the entry's "LIBRARY:" comment; else NULL */
    bool is_default;
};
struct lw_suppressions {
    struct lw_supp_rule *rules;
    size_t n;
};
/* Parses suppression text; on error returns -1 with "name:line: what". */
int lw_supp_parse(struct lw_suppressions *sp, const char *name, const char *text, size_t len, char *err,
                  size_t errlen);
int lw_supp_load(struct lw_suppressions *sp, const char *path, char *err, size_t errlen);
/* The shipped default list (docs/design.md §1.3) appended to sp: the file
 * LEAKWATCH_DEFAULT_SUPPRESSIONS names, else default.supp beside the
 * executable (build tree) or in ../share/leakwatch (install). Returns 0, or
 * -1 with a message when the file is missing or bad. */
int lw_supp_load_default(struct lw_suppressions *sp, char *err, size_t errlen);
void lw_supp_free(struct lw_suppressions *sp);
/* Index of the first rule matching instance in (counted when count), or -1. */
int lw_supp_match(struct lw_suppressions *sp, struct lw_symbolizer *z, const struct lw_inst *in, bool count);

/* ---- baseline (lw_baseline.c) ---- */
struct lw_base_entry {
    char *kind;        /* thread|timer|socket|unjoined|stuck */
    char site[17];
    char *owner;       /* may be NULL */
    char *expires;     /* YYYY-MM-DD or NULL */
    bool expired;
    int line;
    size_t hits;
};
struct lw_baseline {
    char *path;
    struct lw_base_entry *e;
    size_t n;
};
int lw_baseline_parse(struct lw_baseline *b, const char *name, const char *text, size_t len, const char *today,
                      char *err, size_t errlen);
int lw_baseline_load(struct lw_baseline *b, const char *path, const char *today, char *err, size_t errlen);
void lw_baseline_free(struct lw_baseline *b);
/* Accepted by a non-expired entry? Marks entry hits. */
bool lw_baseline_accepts(struct lw_baseline *b, enum lw_kind k, enum lw_verdict v, const char *site);
/* Writes one line per new finding; -errno on failure (-EEXIST unless force). */
int lw_baseline_write(const char *path, const struct lw_report *r, bool force, char *err, size_t errlen);
/* Today's date (UTC) as YYYY-MM-DD; LEAKWATCH_TODAY overrides (tests). */
void lw_today(char out[11]);

/* ---- diff (lw_diff.c) ---- */
struct lw_diff_opts {
    int64_t grace_ms;
    unsigned fail_on;
    struct lw_suppressions *supp;   /* may be NULL */
    struct lw_baseline *baseline;   /* may be NULL */
};

/* before may be NULL (empty baseline). Never fails. */
struct lw_report *lw_diff(struct lw_symbolizer *z, const struct lw_snapshot *before, const struct lw_snapshot *after,
                          const struct lw_diff_opts *o);
/* Decides, once, what fails: sets every finding's `fails` and the report's
 * `failing`/`fails` from the --fail-on mask (lw_diff calls it; call it
 * again with 0 after the new findings were written as a baseline). */
void lw_report_decide(struct lw_report *r, unsigned fail_on);
/* Number of new findings (sites) whose `fails` is set. */
size_t lw_report_failing(const struct lw_report *r);
void lw_report_free(struct lw_report *r);
void lw_report_warn(struct lw_report *r, const char *line);

/* ---- dump (lw_dump.c) ---- */
struct lw_dump *lw_dump_build(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t grace_ms);
void lw_dump_free(struct lw_dump *d);

#endif
