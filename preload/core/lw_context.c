/* lw_context.c — the context tree: creation, cancellation, references,
 * recycling.
 *
 * Owns: context records in mmap'd chunks; id = index | generation << 20 so a
 * stale id of a recycled slot never matches. Root is index 1 (id 1).
 * Cancellation spreads eagerly to every descendant under the table lock
 * (rare: thread exit, pthread_cancel, API). A context is recycled only when
 * it is cancelled and unreferenced (no thread record, no live child, no
 * resource ref), so a leaked thread keeps its whole chain up to the root.
 * Must never: take the lock on the wait path (lw_ctx_cancelled is one load),
 * or allocate with malloc.
 */
#include "lw_core.h"

#include <string.h>

#define LW_CTX_IDX_BITS 20
#define LW_CTX_IDX_MASK ((1u << LW_CTX_IDX_BITS) - 1)
#define LW_CTX_CHUNK 4096u
#define LW_CTX_CHUNKS ((1u << LW_CTX_IDX_BITS) / LW_CTX_CHUNK)

struct lw_ctx {
    _Atomic uint64_t cancelled_ns; /* 0 = live; the only field the hot path reads */
    uint32_t id;                   /* 0 = free slot */
    uint32_t gen;
    lw_ctx_id parent;
    uint32_t first_child, next_sib, prev_sib; /* indexes */
    uint32_t next_free;
    uint8_t kind, cause, background;
    int32_t refs;
    lw_ctx_id origin;
    int owner_tid;
    uintptr_t owner_start;
    uint64_t created_ns;
    char label[LW_LABEL_MAX];
};

static struct lw_ctx *lw_ctx_chunks[LW_CTX_CHUNKS];
static lw_lock_t lw_ctx_lock = LW_LOCK_INIT;
static uint32_t lw_ctx_free_head; /* index, 0 = none */
static uint32_t lw_ctx_next_idx = 1;
_Atomic uint64_t lw_stat_ctx_live;
static int lw_ctx_full_once;

static inline struct lw_ctx *lw_ctx_slot(uint32_t idx)
{
    struct lw_ctx *c = lw_ctx_chunks[idx / LW_CTX_CHUNK];
    return c ? &c[idx % LW_CTX_CHUNK] : NULL;
}

/* Live context for id, or NULL (stale generation, free slot, bad id). */
static struct lw_ctx *lw_ctx_find(lw_ctx_id id)
{
    uint32_t idx = id & LW_CTX_IDX_MASK;
    if (idx == 0)
        return NULL;
    struct lw_ctx *c = lw_ctx_slot(idx);
    if (!c || c->id != id)
        return NULL;
    return c;
}

static struct lw_ctx *lw_ctx_alloc_locked(void)
{
    uint32_t idx;
    struct lw_ctx *c;
    if (lw_ctx_free_head) {
        idx = lw_ctx_free_head;
        c = lw_ctx_slot(idx);
        lw_ctx_free_head = c->next_free;
    } else {
        idx = lw_ctx_next_idx;
        if (idx > LW_CTX_IDX_MASK)
            return NULL;
        if (!lw_ctx_chunks[idx / LW_CTX_CHUNK]) {
            lw_ctx_chunks[idx / LW_CTX_CHUNK] = lw_mmap(LW_CTX_CHUNK * sizeof(struct lw_ctx));
            if (!lw_ctx_chunks[idx / LW_CTX_CHUNK])
                return NULL;
        }
        lw_ctx_next_idx++;
        c = lw_ctx_slot(idx);
    }
    /* the generation was bumped when the slot was freed; fresh slots are 0 */
    uint32_t gen = c->gen & ((1u << (32 - LW_CTX_IDX_BITS)) - 1);
    memset(c, 0, sizeof *c);
    c->gen = gen;
    c->id = idx | (gen << LW_CTX_IDX_BITS); /* idx >= 2, never 0 */
    atomic_fetch_add(&lw_stat_ctx_live, 1);
    return c;
}

int lw_ctx_init(void)
{
    lw_lock(&lw_ctx_lock);
    if (lw_ctx_find(LW_CTX_ROOT)) {
        lw_unlock(&lw_ctx_lock);
        return 0;
    }
    /* root: index 1, generation 0 -> id 1 */
    if (!lw_ctx_chunks[0])
        lw_ctx_chunks[0] = lw_mmap(LW_CTX_CHUNK * sizeof(struct lw_ctx));
    if (!lw_ctx_chunks[0]) {
        lw_unlock(&lw_ctx_lock);
        return -1;
    }
    struct lw_ctx *r = lw_ctx_slot(1);
    memset(r, 0, sizeof *r);
    r->id = LW_CTX_ROOT;
    r->kind = LW_CK_ROOT;
    r->refs = 1; /* the process holds the root */
    r->created_ns = lw_now_ns();
    r->owner_tid = lw_sys_getpid();
    lw_ctx_next_idx = 2;
    atomic_fetch_add(&lw_stat_ctx_live, 1);
    lw_unlock(&lw_ctx_lock);
    return 0;
}

lw_ctx_id lw_ctx_new(lw_ctx_id parent, int kind, const char *label, int owner_tid,
                     uintptr_t owner_start, bool background)
{
    lw_lock(&lw_ctx_lock);
    struct lw_ctx *p = lw_ctx_find(parent ? parent : LW_CTX_ROOT);
    if (!p)
        p = lw_ctx_find(LW_CTX_ROOT);
    struct lw_ctx *c = p ? lw_ctx_alloc_locked() : NULL;
    if (!c) {
        lw_unlock(&lw_ctx_lock);
        lw_log_once(&lw_ctx_full_once, "context table full; new threads share their creator's context");
        return LW_CTX_NONE;
    }
    c->parent = p->id;
    c->kind = (uint8_t)kind;
    c->background = background;
    c->owner_tid = owner_tid;
    c->owner_start = owner_start;
    c->created_ns = lw_now_ns();
    c->refs = 1;
    if (label) {
        strncpy(c->label, label, sizeof c->label - 1);
        c->label[sizeof c->label - 1] = 0;
    }
    /* link as first child; the child holds a reference on its parent */
    uint32_t cidx = c->id & LW_CTX_IDX_MASK;
    c->next_sib = p->first_child;
    if (p->first_child)
        lw_ctx_slot(p->first_child)->prev_sib = cidx;
    p->first_child = cidx;
    p->refs++;
    /* a context born under a cancelled parent is cancelled already */
    uint64_t pc = atomic_load(&p->cancelled_ns);
    if (pc) {
        atomic_store(&c->cancelled_ns, pc);
        c->cause = p->cause;
        c->origin = p->origin;
    }
    lw_ctx_id id = c->id;
    lw_unlock(&lw_ctx_lock);
    return id;
}

/* Free c (cancelled, refs 0) and walk up releasing parents. Lock held. */
static void lw_ctx_release_locked(struct lw_ctx *c)
{
    while (c && c->refs <= 0 && atomic_load(&c->cancelled_ns) && c->id != LW_CTX_ROOT) {
        uint32_t idx = c->id & LW_CTX_IDX_MASK;
        struct lw_ctx *p = lw_ctx_find(c->parent);
        if (p) {
            if (c->prev_sib)
                lw_ctx_slot(c->prev_sib)->next_sib = c->next_sib;
            else if (p->first_child == idx)
                p->first_child = c->next_sib;
            if (c->next_sib)
                lw_ctx_slot(c->next_sib)->prev_sib = c->prev_sib;
        }
        uint32_t gen = c->gen + 1;
        memset(c, 0, sizeof *c);
        c->gen = gen;
        c->next_free = lw_ctx_free_head;
        lw_ctx_free_head = idx;
        atomic_fetch_sub(&lw_stat_ctx_live, 1);
        if (!p)
            break;
        p->refs--;
        c = p;
    }
}

void lw_ctx_ref(lw_ctx_id id)
{
    lw_lock(&lw_ctx_lock);
    struct lw_ctx *c = lw_ctx_find(id);
    if (c)
        c->refs++;
    lw_unlock(&lw_ctx_lock);
}

void lw_ctx_unref(lw_ctx_id id)
{
    lw_lock(&lw_ctx_lock);
    struct lw_ctx *c = lw_ctx_find(id);
    if (c && c->refs > 0) {
        c->refs--;
        lw_ctx_release_locked(c);
    }
    lw_unlock(&lw_ctx_lock);
}

void lw_ctx_cancel(lw_ctx_id id, int cause)
{
    lw_lock(&lw_ctx_lock);
    struct lw_ctx *c = lw_ctx_find(id);
    if (!c || atomic_load(&c->cancelled_ns)) {
        lw_unlock(&lw_ctx_lock);
        return;
    }
    uint64_t now = lw_now_ns();
    /* Iterative pre-order walk of the subtree rooted at c; descendants
     * already cancelled keep their earlier time and cause. */
    uint32_t top = c->id & LW_CTX_IDX_MASK;
    uint32_t cur = top;
    while (cur) {
        struct lw_ctx *x = lw_ctx_slot(cur);
        uint64_t zero = 0;
        bool fresh = atomic_compare_exchange_strong(&x->cancelled_ns, &zero, now);
        if (fresh) {
            x->cause = (uint8_t)cause;
            x->origin = c->id;
        }
        /* descend only into fresh nodes: a cancelled node's subtree is
         * cancelled already */
        if (fresh && x->first_child) {
            cur = x->first_child;
            continue;
        }
        while (cur != top && !lw_ctx_slot(cur)->next_sib)
            cur = lw_ctx_slot(cur)->parent & LW_CTX_IDX_MASK;
        if (cur == top)
            break;
        cur = lw_ctx_slot(cur)->next_sib;
    }
    lw_ctx_release_locked(c);
    lw_unlock(&lw_ctx_lock);
}

bool lw_ctx_cancelled(lw_ctx_id id)
{
    struct lw_ctx *c = lw_ctx_slot(id & LW_CTX_IDX_MASK);
    return c && atomic_load_explicit(&c->cancelled_ns, memory_order_relaxed) != 0;
}

static void lw_ctx_fill(const struct lw_ctx *c, struct lw_ctx_info *o)
{
    o->id = c->id;
    o->parent = c->parent;
    o->origin = c->origin;
    o->kind = c->kind;
    o->cause = c->cause;
    o->background = c->background;
    o->owner_tid = c->owner_tid;
    o->owner_start = c->owner_start;
    o->created_ns = c->created_ns;
    o->cancelled_ns = atomic_load(&c->cancelled_ns);
    o->refs = c->refs;
    memcpy(o->label, c->label, sizeof o->label);
}

bool lw_ctx_get(lw_ctx_id id, struct lw_ctx_info *out)
{
    lw_lock(&lw_ctx_lock);
    struct lw_ctx *c = lw_ctx_find(id);
    if (c && out)
        lw_ctx_fill(c, out);
    lw_unlock(&lw_ctx_lock);
    return c != NULL;
}

bool lw_ctx_is_under(lw_ctx_id id, lw_ctx_id ancestor)
{
    if (id == LW_CTX_NONE)
        return false;
    if (id == ancestor)
        return true;
    bool yes = false;
    lw_lock(&lw_ctx_lock);
    for (struct lw_ctx *c = lw_ctx_find(id); c; c = lw_ctx_find(c->parent)) {
        if (c->id == ancestor) {
            yes = true;
            break;
        }
        if (c->id == LW_CTX_ROOT)
            break;
    }
    lw_unlock(&lw_ctx_lock);
    return yes;
}

/* "lw_cv_ctx is under lw_cv_anc": a fact of the tree that never goes
 * stale while both ids are live (ids carry a generation), so one entry per
 * thread answers the common repeat (a pool worker touching its pool's
 * object, a request thread using main's socket) without the lock. */
static LW_TLS lw_ctx_id lw_cv_anc, lw_cv_ctx;

bool lw_ctx_covers(lw_ctx_id own, lw_ctx_id cur)
{
    if (own == cur || (own == lw_cv_anc && cur == lw_cv_ctx))
        return true;
    if (own == LW_CTX_NONE || cur == LW_CTX_NONE || !lw_ctx_is_under(cur, own))
        return false;
    lw_cv_anc = own;
    lw_cv_ctx = cur;
    return true;
}

/* Depth of c below the root (root 0), bounded by the table size so a
 * corrupt chain cannot loop. Lock held. */
static uint32_t lw_ctx_depth_locked(struct lw_ctx *c)
{
    uint32_t d = 0;
    while (c && c->id != LW_CTX_ROOT && d <= LW_CTX_IDX_MASK) {
        c = lw_ctx_find(c->parent);
        d++;
    }
    return d;
}

/* docs/design.md §1.2: the owner of a shared object is the lowest common
 * ancestor of the contexts that touched it. Walks both chains to the same
 * depth, then up together: O(depth) under the lock, only on the slow path
 * of a touch (a context that is neither the owner nor below it). */
lw_ctx_id lw_ctx_lca(lw_ctx_id a, lw_ctx_id b)
{
    if (a == b)
        return a;
    lw_lock(&lw_ctx_lock);
    struct lw_ctx *x = lw_ctx_find(a), *y = lw_ctx_find(b);
    lw_ctx_id r = LW_CTX_NONE;
    if (x && y) {
        uint32_t dx = lw_ctx_depth_locked(x), dy = lw_ctx_depth_locked(y);
        for (; x && dx > dy; dx--)
            x = lw_ctx_find(x->parent);
        for (; y && dy > dx; dy--)
            y = lw_ctx_find(y->parent);
        for (uint32_t n = 0; x && y && x != y && n <= LW_CTX_IDX_MASK; n++) {
            x = lw_ctx_find(x->parent);
            y = lw_ctx_find(y->parent);
        }
        r = x && x == y ? x->id : LW_CTX_ROOT;
    }
    lw_unlock(&lw_ctx_lock);
    return r;
}

/* Lock-free: the slot stays valid while the caller holds its reference;
 * readers under the lock see the old or the new tid. */
void lw_ctx_set_owner(lw_ctx_id id, int tid)
{
    struct lw_ctx *c = lw_ctx_slot(id & LW_CTX_IDX_MASK);
    if (c && c->id == id)
        __atomic_store_n(&c->owner_tid, tid, __ATOMIC_RELAXED);
}

size_t lw_ctx_list(struct lw_ctx_info *out, size_t max)
{
    size_t n = 0;
    lw_lock(&lw_ctx_lock);
    for (uint32_t idx = 1; idx < lw_ctx_next_idx; idx++) {
        struct lw_ctx *c = lw_ctx_slot(idx);
        if (!c || !c->id)
            continue;
        if (out && n < max)
            lw_ctx_fill(c, &out[n]);
        n++;
    }
    lw_unlock(&lw_ctx_lock);
    return n;
}

const char *lw_cause_name(int cause)
{
    switch (cause) {
    case LW_CAUSE_EXITED: return "exited";
    case LW_CAUSE_PTHREAD_CANCEL: return "pthread_cancel";
    case LW_CAUSE_EXPLICIT: return "explicit";
    case LW_CAUSE_PROCESS_EXIT: return "process_exit";
    default: return NULL;
    }
}

void lw_ctx_after_fork_child(void)
{
    lw_lock_reset(&lw_ctx_lock);
}

void lw_ctx_lock_for_fork(bool lock)
{
    lw_lock_hold(&lw_ctx_lock, lock);
}
