/* lw_pyorigin.c — the Python origin of each thread started from CPython
 * (docs/design.md §3.6): a side table of fixed-size records indexed like
 * the thread records, mmap'd on first use (only Python processes pay), each
 * keyed by its thread record's serial so a reused record never shows
 * another thread's origin.
 *
 * Owns: the table. platform/lw_python.c reads the Python side; the snapshot
 * only copies records (lw_python_get).
 * Must never: allocate with malloc, or be read without the serial check.
 */
#include "lw_core.h"

#include <string.h>

#define LW_PY_CHUNK 1024u
#define LW_PY_CHUNKS 1024u
static struct lw_pyinfo *_Atomic lw_py_chunks[LW_PY_CHUNKS];

static struct lw_pyinfo *lw_py_slot(uint32_t index, bool create)
{
    uint32_t c = index / LW_PY_CHUNK;
    if (c >= LW_PY_CHUNKS)
        return NULL;
    struct lw_pyinfo *chunk = atomic_load_explicit(&lw_py_chunks[c], memory_order_acquire);
    if (!chunk && create) {
        struct lw_pyinfo *fresh = lw_mmap(LW_PY_CHUNK * sizeof(struct lw_pyinfo));
        if (!fresh)
            return NULL;
        struct lw_pyinfo *expect = NULL;
        if (atomic_compare_exchange_strong(&lw_py_chunks[c], &expect, fresh)) {
            chunk = fresh;
        } else {
            lw_munmap(fresh, LW_PY_CHUNK * sizeof(struct lw_pyinfo));
            chunk = expect;
        }
    }
    return chunk ? &chunk[index % LW_PY_CHUNK] : NULL;
}

void lw_python_capture(struct lw_thread *t)
{
    if (!lw_python_found())
        return;
    struct lw_pyinfo *pi = lw_py_slot(t->index, true);
    if (!pi)
        return;
    atomic_store_explicit(&pi->serial, 0, memory_order_relaxed); /* being written */
    if (lw_py_capture(pi))
        atomic_store_explicit(&pi->serial, t->serial, memory_order_release);
}

bool lw_python_get(uint32_t index, uint64_t serial, struct lw_pyinfo *out)
{
    if (!lw_python_found())
        return false;
    struct lw_pyinfo *pi = lw_py_slot(index, false);
    if (!pi || atomic_load_explicit(&pi->serial, memory_order_acquire) != serial || !serial)
        return false;
    memcpy(out, pi, sizeof *out);
    /* a record freed and reused meanwhile rewrote it: not this thread's */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&pi->serial, memory_order_relaxed) != serial)
        return false;
    out->name[sizeof out->name - 1] = out->target[sizeof out->target - 1] = 0;
    out->target_file[sizeof out->target_file - 1] = 0;
    if (out->n < 0 || out->n > LW_PY_FRAMES)
        out->n = 0;
    for (int i = 0; i < out->n; i++) {
        out->frames[i].file[sizeof out->frames[i].file - 1] = 0;
        out->frames[i].function[sizeof out->frames[i].function - 1] = 0;
    }
    return true;
}
