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

struct lw_obj {
    _Atomic uintptr_t addr; /* 0 empty, 1 tombstone */
    _Atomic lw_ctx_id owner;
};

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

/* Find the slot holding addr, or (insert) claim an empty one. */
static struct lw_obj *lw_obj_slot(uintptr_t addr, bool insert)
{
    if (!lw_objs || addr <= LW_OBJ_TOMB)
        return NULL;
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
 * context (is it, or an ancestor of it) that stays true: the per-thread
 * memo below (the last two objects: a ping-pong waits on one and wakes the
 * other) then answers a repeated touch with three TLS loads and a
 * global one (the table generation, bumped by every init/destroy, and the
 * thread's memo reset when it enters or leaves an API context). */
_Atomic uint32_t lw_obj_gen;
LW_TLS uintptr_t lw_ot_addr[2];
LW_TLS uint32_t lw_ot_gen;

static inline void lw_obj_gen_bump(void)
{
    atomic_fetch_add_explicit(&lw_obj_gen, 1, memory_order_release);
}

void lw_obj_set(uintptr_t addr, lw_ctx_id owner)
{
    struct lw_obj *o = lw_obj_slot(addr, true);
    if (o)
        atomic_store_explicit(&o->owner, owner, memory_order_release);
    lw_obj_gen_bump();
}

void lw_obj_remove(uintptr_t addr)
{
    struct lw_obj *o = lw_obj_slot(addr, false);
    if (o) {
        atomic_store_explicit(&o->owner, LW_CTX_NONE, memory_order_relaxed);
        atomic_store_explicit(&o->addr, LW_OBJ_TOMB, memory_order_release);
        atomic_fetch_sub_explicit(&lw_stat_objects, 1, memory_order_relaxed);
    }
    lw_obj_gen_bump();
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
    uint32_t g = atomic_load_explicit(&lw_obj_gen, memory_order_acquire);
    if (g != lw_ot_gen) { /* an init/destroy since: forget both entries */
        lw_ot_addr[0] = lw_ot_addr[1] = 0;
        lw_ot_gen = g;
    }
    struct lw_obj *o = lw_obj_slot(addr, true);
    if (o) {
        lw_obj_join(&o->owner, lw_ctx_current());
        lw_ot_addr[1] = lw_ot_addr[0];
        lw_ot_addr[0] = addr;
    }
    errno = e;
}

void lw_obj_cache_reset(void)
{
    lw_ot_addr[0] = lw_ot_addr[1] = 0;
}
