/* lw_symbolize.h — offline symbolization of snapshot frames (libdwfl).
 *
 * One symbolizer serves every snapshot of a run: modules are cached by
 * (path, build-id), so before/after snapshots with different load bases
 * share the work, and every looked-up address is cached. */
#ifndef LW_SYMBOLIZE_H
#define LW_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "lw_snapshot.h"

/* One source location; inlining can give several per address. */
struct lw_symloc {
    const char *function;  /* demangled; NULL when unknown */
    const char *file;      /* NULL when unknown */
    int line;
    bool inlined;          /* inlined into the next location */
};

/* What one address resolves to (owned by the symbolizer). */
struct lw_symres {
    size_t n;                    /* >= 1 */
    const struct lw_symloc *locs;/* innermost first */
    const char *module;          /* module path, NULL when the frame has none */
};

struct lw_symbolizer;

struct lw_symbolizer *lw_symbolizer_new(void);
void lw_symbolizer_free(struct lw_symbolizer *z);

/* Resolves one frame of snapshot s. return_addr: the frame is a return
 * address (every stack frame but the innermost), so the call instruction is
 * at ip-1. Never fails: unknown frames give one location without names. */
const struct lw_symres *lw_symbolize(struct lw_symbolizer *z, const struct lw_snapshot *s,
                                     const struct lw_frame_ref *f, bool return_addr);

/* Problems seen so far (missing module file, build-id mismatch), one line
 * each, once per module. Owned by the symbolizer. */
size_t lw_symbolizer_warnings(const struct lw_symbolizer *z, const char *const **lines);

/* Demangles a C++ name into a malloc'd string, or NULL when not mangled. */
char *lw_demangle(const char *name);

#endif
