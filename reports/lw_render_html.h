/* lw_render_html.h — what the two halves of the HTML format share:
 * lw_render_html.c (the page, cards, filters, diff report) and
 * lw_render_html_tree.c (the lineage and context trees, the snapshot page).
 * Internal to reports/.
 */
#ifndef LW_RENDER_HTML_H
#define LW_RENDER_HTML_H

#include "lw_render_int.h"

/* A finding with a card on the page: its section and its index there give
 * the card's id, card-SECTION-INDEX. */
struct lw_html_card {
    const struct lw_finding *f;
    const char *section; /* "new" | "persisting" */
    size_t proc;         /* index of the report on the page (0 for a diff) */
    size_t idx;
};

/* One process of a page that shows several (a gate run). */
struct lw_html_proc {
    int pid;
    const char *exe, *status, *note;  /* may be NULL */
    const struct lw_report *report;   /* NULL: the process was not checked */
};
/* The gate page: summary (the gate's own line) on top, a section per
 * process with its lineage and cards, filters over all of them. */
int lw_html_render_procs(FILE *out, const struct lw_html_proc *procs, size_t n, const char *summary,
                         bool fails);

void lw_html_head(FILE *out, const char *title_prog, int pid);
void lw_html_tail(FILE *out);
const char *lw_html_base(const char *path);
void lw_html_dur(FILE *out, int64_t ms);
void lw_html_stack(FILE *out, const char *what, const struct lw_sym_stack *st, bool open);
void lw_html_creators(FILE *out, const struct lw_creator *c, size_t n);
void lw_html_ids(FILE *out, const int *ids, size_t n);
void lw_html_checkbox(FILE *out, const char *filter, const char *value, size_t n);
/* The expand/collapse buttons, the "showing" counter, </nav>. */
void lw_html_nav_end(FILE *out);

/* The diff report's lineage tree, from the creator chains of the cards. */
int lw_html_report_tree(FILE *out, const struct lw_html_card *cards, size_t n);

#endif
