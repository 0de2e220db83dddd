/* lw_arena.h — a bump allocator for data that lives exactly as long as one
 * snapshot (or one symbolizer). Frees everything at once; never frees one
 * object. Allocation failure aborts with a message (the analyzer is an
 * offline tool, and inputs are size-capped before they reach the arena). */
#ifndef LW_ARENA_H
#define LW_ARENA_H

#include <stddef.h>

struct lw_arena_chunk;
struct lw_arena {
    struct lw_arena_chunk *head;
};

void *lw_arena_alloc(struct lw_arena *a, size_t n);          /* zeroed */
char *lw_arena_strdup(struct lw_arena *a, const char *s);    /* NULL -> NULL */
void lw_arena_free(struct lw_arena *a);

/* malloc/calloc/strdup that abort on failure (for report data). */
void *lw_xmalloc(size_t n);
void *lw_xcalloc(size_t n, size_t size);
void *lw_xrealloc(void *p, size_t n);
char *lw_xstrdup(const char *s);                              /* NULL -> NULL */
char *lw_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
