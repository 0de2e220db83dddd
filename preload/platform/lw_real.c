/* lw_real.c — the real libc functions behind every interposed name, as
 * listed once in lw_intercept.h.
 *
 * Owns: the pointers and their resolution: dlsym(RTLD_NEXT), or dlvsym for
 * an entry with a symbol version (falling back to the default symbol on a
 * C library without that version). lw_real_init resolves everything once,
 * from lw_init; a hook that runs first resolves just its own entry
 * (LW_REAL), so no hook ever calls a pointer another thread is still
 * resolving. Racing resolutions store the same address: harmless.
 * Must never: be called from a signal handler before init has finished
 * (dlsym may allocate or lock).
 */
#include "lw_platform.h"

#include <dlfcn.h>

#define LW_REAL_DEF(ret, name, params, version) ret(*lw_real_##name) params;
LW_INTERCEPTS(LW_REAL_DEF)
#undef LW_REAL_DEF

static const struct lw_real_ent {
    const char *name;
    const char *version;
    void **slot;
} lw_real_tab[LW_REAL_COUNT] = {
#define LW_REAL_ENT(ret, name, params, version) {#name, version, (void **)&lw_real_##name},
    LW_INTERCEPTS(LW_REAL_ENT)
#undef LW_REAL_ENT
};

static _Atomic int lw_real_state; /* 0 none, 1 resolving, 2 done */

void *lw_real_resolve(enum lw_real_index i)
{
    const struct lw_real_ent *e = &lw_real_tab[i];
    void *p = e->version ? dlvsym(RTLD_NEXT, e->name, e->version) : NULL;
    if (!p)
        p = dlsym(RTLD_NEXT, e->name);
    __atomic_store_n(e->slot, p, __ATOMIC_RELAXED);
    return p;
}

void lw_real_init(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&lw_real_state, &expect, 1))
        return; /* done, or resolving on this or another thread */
    for (int i = 0; i < LW_REAL_COUNT; i++)
        lw_real_resolve((enum lw_real_index)i);
    atomic_store(&lw_real_state, 2);
}
