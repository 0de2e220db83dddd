/* lw_objects.c — owner context of every waited-on object (cond, mutex,
 * rwlock, semaphore, barrier, futex word), for the analyzer's "parked" rule.
 *
 * Owns: a lock-free open-addressing table address -> owner context in one
 * mmap'd array. Init calls set the owner; destroy calls leave a tombstone;
 * every touch (wait, signal, broadcast, post, futex wake) moves the owner
 * to the common ancestor of the contexts that touched it, so statically
 * initialised objects (PTHREAD_COND_INITIALIZER, std::condition_variable,
 * Rust's futex words) get one too.
 * Must never: lock, allocate, or probe without bound (a full table says so
 * once and stops recording new objects).
 */
#include "lw_core.h"

#include <errno.h>

#define LW_OBJ_BITS 18
#define LW_OBJ_SIZE (1u << LW_OBJ_BITS)
#define LW_OBJ_PROBE 64
#define LW_OBJ_TOMB ((uintptr_t)1)

static struct lw_obj *lw_objs;
static int lw_obj_full_once;
_Atomic uint64_t lw_stat_objects, lw_stat_objects_dropped;

int lw_objects_init(void)
{
    if (!lw_objs)
        lw_objs = lw_mmap(LW_OBJ_SIZE * sizeof *lw_objs);
    return lw_objs ? 0 : -1;
}

static inline uint32_t lw_obj_hash(uintptr_t a)
{
    uint64_t x = (uint64_t)a >> 3;
    x *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> (64 - LW_OBJ_BITS));
}

/* Table probes made by this thread (unit tests check that the memo spares
 * them). */
static LW_TLS uint32_t lw_obj_probes;

uint32_t lw_obj_probe_count(void)
{
    return lw_obj_probes;
}

/* Find the slot holding addr, or (insert) claim an empty one. */
static struct lw_obj *lw_obj_slot(uintptr_t addr, bool insert)
{
    if (!lw_objs || addr <= LW_OBJ_TOMB)
        return NULL;
    lw_obj_probes++;
    uint32_t h = lw_obj_hash(addr);
    struct lw_obj *tomb = NULL;
    for (uint32_t i = 0; i < LW_OBJ_PROBE; i++) {
        struct lw_obj *o = &lw_objs[(h + i) & (LW_OBJ_SIZE - 1)];
        uintptr_t a = atomic_load_explicit(&o->addr, memory_order_acquire);
        if (a == addr)
            return o;
        if (a == LW_OBJ_TOMB && !tomb)
            tomb = o;
        if (a == 0) {
            if (!insert)
                return NULL;
            /* reuse a tombstone (init/destroy per request must not fill
             * the table) */
            if (tomb) {
                uintptr_t t1 = LW_OBJ_TOMB;
                if (atomic_compare_exchange_strong(&tomb->addr, &t1, addr)) {
                    atomic_fetch_add_explicit(&lw_stat_objects, 1, memory_order_relaxed);
                    return tomb;
                }
            }
            uintptr_t zero = 0;
            if (atomic_compare_exchange_strong(&o->addr, &zero, addr)) {
                atomic_fetch_add_explicit(&lw_stat_objects, 1, memory_order_relaxed);
                return o;
            }
            if (zero == addr)
                return o;
        }
    }
    if (insert && tomb) {
        uintptr_t t1 = LW_OBJ_TOMB;
        if (atomic_compare_exchange_strong(&tomb->addr, &t1, addr)) {
            atomic_fetch_add_explicit(&lw_stat_objects, 1, memory_order_relaxed);
            return tomb;
        }
    }
    if (insert) {
        atomic_fetch_add_explicit(&lw_stat_objects_dropped, 1, memory_order_relaxed);
        lw_log_once(&lw_obj_full_once, "wait-object table full; owners of new objects not recorded");
    }
    return NULL;
}

/* docs/design.md §1.2: an object's owner is the lowest common ancestor
 * of every context that initialised or touched it (waited, signalled,
 * broadcast, posted, woke). An init call starts a new history (a new
 * object at that address); destroy forgets it. The owner only ever moves
 * up the tree, so once a thread has seen that the owner covers its
 * context (is it, or an ancestor of it) that stays true while the slot
 * still holds that owner: the per-thread memo (lw_obj_touch) keeps the
 * slot and the owner it left and checks both, and is reset when the thread
 * enters or leaves an API context. A destroy tombstones the slot and an
 * init by another context writes another owner, so either is seen; an
 * init by the same context (a lock re-made at the same address) leaves an
 * owner that covers the thread, as before. Other objects' init/destroy do
 * not disturb it: the global generation counter this replaces was a locked
 * increment on one shared line per init/destroy in every thread, and
 * emptied every thread's memo in a program that makes locks as it goes
 * (CPython allocates one per Condition.wait: sem_init, wait, post,
 * sem_destroy). */
LW_TLS struct lw_obj_memo lw_ot[2];

static inline void lw_ot_put(uintptr_t addr, struct lw_obj *o, lw_ctx_id owner)
{
    if (lw_ot[0].addr != addr)
        lw_ot[1] = lw_ot[0];
    lw_ot[0] = (struct lw_obj_memo){addr, o, owner};
}

/* this thread's memo entry for addr, if its slot still holds addr */
static inline struct lw_obj_memo *lw_ot_find(uintptr_t addr)
{
    for (int i = 0; i < 2; i++)
        if (addr && lw_ot[i].addr == addr &&
            atomic_load_explicit(&lw_ot[i].slot->addr, memory_order_acquire) == addr)
            return &lw_ot[i];
    return NULL;
}

void lw_obj_set(uintptr_t addr, lw_ctx_id owner)
{
    struct lw_obj_memo *m = lw_ot_find(addr);
    struct lw_obj *o = m ? m->slot : lw_obj_slot(addr, true);
    if (o)
        atomic_store_explicit(&o->owner, owner, memory_order_release);
}

/* An init call: the caller's context owns the new object, which covers
 * the caller, so its next touch (the wait on a lock it has just made) is
 * a memo hit. */
void lw_obj_init_here(uintptr_t addr)
{
    struct lw_obj_memo *m = lw_ot_find(addr);
    struct lw_obj *o = m ? m->slot : lw_obj_slot(addr, true);
    if (!o)
        return;
    lw_ctx_id cur = lw_ctx_current();
    atomic_store_explicit(&o->owner, cur, memory_order_release);
    lw_ot_put(addr, o, cur);
}

void lw_obj_remove(uintptr_t addr)
{
    struct lw_obj_memo *m = lw_ot_find(addr);
    struct lw_obj *o = m ? m->slot : lw_obj_slot(addr, false);
    if (o) {
        atomic_store_explicit(&o->owner, LW_CTX_NONE, memory_order_relaxed);
        atomic_store_explicit(&o->addr, LW_OBJ_TOMB, memory_order_release);
        atomic_fetch_sub_explicit(&lw_stat_objects, 1, memory_order_relaxed);
    }
    if (m)
        m->addr = 0;
}

lw_ctx_id lw_obj_owner(uintptr_t addr)
{
    struct lw_obj *o = lw_obj_slot(addr, false);
    return o ? atomic_load_explicit(&o->owner, memory_order_acquire) : LW_CTX_NONE;
}

/* Owner := LCA(owner, cur). An owner context that is no longer live (its
 * scope ended and everything under it is gone) cannot be walked: the
 * address is taken to hold a new object and cur starts its history. */
lw_ctx_id lw_obj_join(_Atomic lw_ctx_id *owner, lw_ctx_id cur)
{
    lw_ctx_id own = atomic_load_explicit(owner, memory_order_acquire);
    for (int tries = 0; tries < 8; tries++) {
        if (lw_ctx_covers(own, cur))
            return own;
        lw_ctx_id l = own == LW_CTX_NONE ? cur : lw_ctx_lca(own, cur);
        if (l == LW_CTX_NONE)
            l = cur;
        if (atomic_compare_exchange_strong_explicit(owner, &own, l, memory_order_acq_rel,
                                                    memory_order_acquire))
            return l;
    }
    return own;
}

/* errno is the host's: the table-full message and the context lock must
 * not change it under a pthread_cond_signal. */
__attribute__((noinline)) void lw_obj_touch_slow(uintptr_t addr)
{
    if (!addr)
        return;
    int e = errno;
    struct lw_obj_memo *m = lw_ot_find(addr); /* known slot, owner moved since */
    struct lw_obj *o = m ? m->slot : lw_obj_slot(addr, true);
    if (o)
        lw_ot_put(addr, o, lw_obj_join(&o->owner, lw_ctx_current()));
    errno = e;
}

void lw_obj_cache_reset(void)
{
    lw_ot[0].addr = lw_ot[1].addr = 0;
}
