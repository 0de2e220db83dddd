/* lw_arena.c — bump allocator and aborting allocation helpers (see
 * lw_arena.h). Must never return NULL for a successful request. */
#include "lw_arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lw_arena_chunk {
    struct lw_arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

#define LW_CHUNK_MIN ((size_t)64 * 1024)

static void lw_oom(void)
{
    fputs("leakwatch: out of memory\n", stderr);
    abort();
}

void *lw_arena_alloc(struct lw_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct lw_arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t sz = n > LW_CHUNK_MIN ? n : LW_CHUNK_MIN;
        c = malloc(sizeof(*c) + sz);
        if (!c)
            lw_oom();
        c->used = 0;
        c->size = sz;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *lw_arena_strdup(struct lw_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = lw_arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

void lw_arena_free(struct lw_arena *a)
{
    struct lw_arena_chunk *c = a->head;
    while (c) {
        struct lw_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

void *lw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        lw_oom();
    return p;
}

void *lw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        lw_oom();
    return p;
}

void *lw_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        lw_oom();
    return p;
}

char *lw_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        lw_oom();
    return p;
}

char *lw_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0)
        lw_oom();
    return p;
}
