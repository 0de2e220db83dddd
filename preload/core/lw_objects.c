/* lw_objects.c — owner context of every waited-on object (cond, mutex,
 * rwlock, semaphore, barrier, futex word), for the analyzer's "parked" rule.
 *
 * Owns: a lock-free open-addressing table address -> owner context in one
 * mmap'd array. Init calls set the owner; destroy calls leave a tombstone;
 * statically initialised objects are inserted by the first waiter.
 * Must never: lock, allocate, or probe without bound (a full table says so
 * once and stops recording new objects).
 */
#include "lw_internal.h"

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

/* Per-thread one-entry cache for the wait path: a thread that waits on the
 * same object again (a worker's queue condvar, a ping-pong semaphore) skips
 * the table probe. Any init/destroy bumps lw_obj_gen after changing the
 * table, and a cached entry is used only while the generation it was read
 * under is current; only owners found in the table are cached. */
static _Atomic uint32_t lw_obj_gen;
static LW_TLS uintptr_t lw_oc_addr;
static LW_TLS lw_ctx_id lw_oc_owner;
static LW_TLS uint32_t lw_oc_gen;

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

lw_ctx_id lw_obj_owner(uintptr_t addr, lw_ctx_id if_absent)
{
    struct lw_obj *o = lw_obj_slot(addr, false);
    if (o) {
        lw_ctx_id id = atomic_load_explicit(&o->owner, memory_order_acquire);
        if (id)
            return id;
    }
    if (if_absent == LW_CTX_NONE)
        return LW_CTX_NONE;
    /* first toucher owns a statically initialised object */
    o = lw_obj_slot(addr, true);
    if (!o)
        return LW_CTX_NONE;
    lw_ctx_id zero = LW_CTX_NONE;
    if (atomic_compare_exchange_strong(&o->owner, &zero, if_absent))
        return if_absent;
    return zero;
}

lw_ctx_id lw_obj_owner_current(uintptr_t addr)
{
    uint32_t g = atomic_load_explicit(&lw_obj_gen, memory_order_acquire);
    if (LW_LIKELY(addr == lw_oc_addr && g == lw_oc_gen && addr))
        return lw_oc_owner;
    lw_ctx_id id = lw_obj_owner(addr, lw_ctx_current());
    if (id != LW_CTX_NONE) {
        lw_oc_addr = addr;
        lw_oc_owner = id;
        lw_oc_gen = g;
    }
    return id;
}

void lw_obj_cache_reset(void)
{
    lw_oc_addr = 0;
}
