/* lw_render_int.h — helpers shared by the renderers in reports/.
 *
 * Owns: output escaping (JSON, XML, terminal text, markdown), ordering of
 * findings (worst first), tallies for summary lines, durations, and the
 * text forms of frames, stacks and creator chains that several formats
 * reuse. Must never parse snapshots, symbolize, judge or allocate anything
 * the caller has to free beyond what a function says it returns.
 */
#ifndef LW_RENDER_INT_H
#define LW_RENDER_INT_H

#include "lw_model.h"

/* ---- escaping (lw_escape.c) ----
 * All of them take possibly-invalid UTF-8 and never emit invalid output:
 * bad bytes become U+FFFD (JSON, XML) or a visible \xNN (text, markdown). */
void lw_put_json_str(FILE *out, const char *s);      /* "..." or null when s == NULL */
void lw_put_xml(FILE *out, const char *s, bool attr); /* attr: also escape quotes, \t \n \r */
void lw_put_text(FILE *out, const char *s);          /* terminal-safe: control chars as \n, \xNN */
void lw_put_md(FILE *out, const char *s);            /* inside a markdown table cell or line */
/* HTML text or a double-quoted attribute value (either context). */
void lw_put_html(FILE *out, const char *s);
/* Prometheus text exposition: a label value (inside "...") or HELP text. */
void lw_put_prom_label(FILE *out, const char *s);
void lw_put_prom_help(FILE *out, const char *s);
/* The string itself, with bad UTF-8 bytes as U+FFFD (binary formats whose
 * strings must be UTF-8: protobuf). */
void lw_put_utf8(FILE *out, const char *s);
/* Percent-encodes everything but unreserved characters and '/'. */
void lw_put_uri_path(FILE *out, const char *s);

/* ---- common (lw_render_common.c) ---- */

/* Pointers to the findings of one section in display order: stuck, leaked,
 * unjoined; then by count (descending), kind, site. Returns NULL when n is 0
 * or on allocation failure (check n to tell which); caller frees. */
const struct lw_finding **lw_order_findings(const struct lw_finding *f, size_t n);

/* Instance counts per verdict x kind. */
struct lw_tally {
    size_t by[LW_VERDICT_COUNT][LW_KIND_COUNT];
    size_t total;
    size_t sites;
};
void lw_tally_findings(struct lw_tally *t, const struct lw_finding *f, size_t n);
/* "2 leaked threads, 1 leaked socket" (nothing when the tally is empty). */
void lw_put_tally(FILE *out, const struct lw_tally *t);
/* The one closing line, without "SUMMARY: " styling decisions left to the
 * caller: "leakwatch: 3 new findings (…), 1 persisting, 0 fixed". */
void lw_put_summary(FILE *out, const struct lw_report *r);
/* The same line as a malloc'd string, for formats that escape it (JSON,
 * markdown) rather than print it as is. NULL on failure; caller frees. */
char *lw_summary_str(const struct lw_report *r);

/* "leaked thread", "stuck thread", "leaked socket"; plural adds an s. */
void lw_put_what(FILE *out, const struct lw_finding *f, size_t count);

/* "PREFIX process PID (EXE): STATUS — NOTE" and a blank line: the heading of
 * one process in text and markdown gate reports. */
void lw_put_gate_heading(FILE *out, const char *prefix, const struct lw_gate_proc *p);

/* "850 ms", "4.2 s", "3 min 12 s", "2 h 05 min". */
void lw_fmt_duration(char *buf, size_t len, int64_t ms);

/* One frame in sanitizer form, without the "#n " prefix:
 * "0x00007f.. in func file:line", "0x.. in func (module+0x1c)",
 * "0x.. in module+0x1c", "0x.. in ??" */
void lw_put_frame(FILE *out, const struct lw_sym_frame *fr);
/* Numbered frames, each line prefixed by indent, at most max_frames (0 =
 * all) followed by "... N more frames". Empty stacks print "(no stack)". */
void lw_put_stack(FILE *out, const struct lw_sym_stack *st, int max_frames, const char *indent);
/* Python frames (no address): "#0 in handle_request app.py:33". */
void lw_put_py_stack(FILE *out, const struct lw_sym_stack *st, int max_frames, const char *indent);
/* Does "(family)" after the blocked call add anything? Not when the call
 * names it ("nanosleep (sleep)") or an object is shown ("on cond 0x.."). */
bool lw_family_adds(const struct lw_finding *f);
/* "created by worker_main in thread 4121 <- … <- main" (nothing when n==0). */
void lw_put_creators(FILE *out, const struct lw_creator *c, size_t n);
/* "4123, 4124, … (+12 more)": at most cap ids starting at index first. */
void lw_put_ids(FILE *out, const int *ids, size_t n, size_t first, size_t cap);
/* Same for a finding's ids: timer ids print unsigned. */
void lw_put_ids_k(FILE *out, enum lw_kind k, const int *ids, size_t n, size_t first, size_t cap);
const char *lw_id_fmt(enum lw_kind k); /* "%u" for timers, else "%d" */

/* Frame that locates a finding in source: the model's location when the
 * analyzer set one, else the first frame with a file outside leakwatch and
 * libc, and not in a system header or std:: (std::thread's constructor is
 * not where the user started the thread). NULL when there is none. */
const struct lw_sym_frame *lw_user_frame(const struct lw_sym_stack *st);

/* ---- several reports in one output (a gate run) ---- */
/* OpenMetrics: the series of every report (NULL entries skipped), each
 * family once, then "# EOF". */
int lw_om_render_reports(FILE *out, const struct lw_report *const *rs, size_t n);
/* pprof: one profile with the samples of every report (NULL entries
 * skipped), with proc_labels each labelled with its pid and program;
 * comment is the run's summary line (may be NULL). */
int lw_pprof_render_reports(FILE *out, const struct lw_report *const *rs, size_t n, const char *comment,
                            bool proc_labels, const struct lw_render_opts *o);

/* ---- text (lw_render_text.c) ---- */
/* The full text block of one finding (header, details, stacks, creators).
 * Used by the text report and as the JUnit failure body. */
void lw_text_finding(FILE *out, const struct lw_finding *f, const char *section,
                     const struct lw_render_opts *o);

/* Renders into a malloc'd string with open_memstream (NULL on failure). */
char *lw_text_finding_str(const struct lw_finding *f, const char *section,
                          const struct lw_render_opts *o);

#endif
