/* Unit tests of the shim's cheap wait path (linked directly, no
 * interposition): lazy blocked stacks per call site, and the per-thread
 * wait-object owner cache and its invalidation by init/destroy. */
#include "../../preload/runtime/lw_runtime.h"

#include <check.h>
#include <string.h>

static void setup_tables(void)
{
    lw_options_defaults(&lw_opt);
    lw_opt.quiet = 1;
    lw_log_open("stderr", true);
    ck_assert_int_eq(lw_registry_init(), 0);
    ck_assert_int_eq(lw_ctx_init(), 0);
    ck_assert_int_eq(lw_objects_init(), 0);
    ck_assert_int_eq(lw_stack_init(), 0);
}

static struct lw_thread *fake_self(void)
{
    struct lw_thread *t = lw_reg_alloc();
    if (t)
        lw_reg_publish(t);
    ck_assert_ptr_nonnull(t);
    t->kind = LW_TK_TRACKED;
    t->tid = lw_gettid();
    t->pt = pthread_self();
    t->ctx = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, t->tid, 0x1234, false);
    lw_reg_hash_insert(t);
    lw_self = t;
    atomic_store(&lw_state, LW_ST_RUN);
    return t;
}

static void drop_self(struct lw_thread *t)
{
    atomic_store(&lw_state, LW_ST_OFF);
    lw_self = NULL;
    lw_reg_free(t);
}

/* Two "hooks" at different call sites: each calls lw_wait_begin with its
 * own return address as the caller, the way the interposed functions do. */
static uintptr_t last_caller;

static __attribute__((noinline)) uintptr_t hook_a(void)
{
    struct lw_wait_info wi = {"sem_wait", "sem", 0x1000, -1, NULL, 0, -1, 0,
                              __builtin_return_address(0), 0};
    last_caller = (uintptr_t)wi.caller;
    uintptr_t r = lw_wait_begin(&wi);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
    return r;
}

static __attribute__((noinline)) uintptr_t hook_b(void)
{
    struct lw_wait_info wi = {
        "nanosleep", "sleep", 0, -1, NULL, 0, 5000000000LL, 0, __builtin_return_address(0), 0};
    last_caller = (uintptr_t)wi.caller;
    uintptr_t r = lw_wait_begin(&wi);
    __asm__ volatile("" ::: "memory");
    return r;
}

static __attribute__((noinline)) void site_a(void)
{
    lw_wait_end(hook_a());
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void site_b(void)
{
    lw_wait_end(hook_b());
    __asm__ volatile("" ::: "memory");
}

/* Begin a wait at site A and read the blocked state while it is active. */
static __attribute__((noinline)) int blocked_at_a(uintptr_t *st, uintptr_t *caller)
{
    uintptr_t tok = hook_a();
    ck_assert(tok != 0);
    *caller = last_caller;
    struct lw_blocked b;
    ck_assert(lw_thread_read_blocked(lw_self, &b, st));
    ck_assert_uint_eq(b.caller, *caller);
    lw_wait_end(tok);
    __asm__ volatile("" ::: "memory");
    return b.nstack;
}

START_TEST(lazy_stack_per_site)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    uintptr_t st[LW_MAX_DEPTH], caller = 0;
    /* first wait at a site: only the caller frame, no unwind */
    int n = blocked_at_a(st, &caller);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(st[0], caller);
    ck_assert_int_eq(t->bsite[t->bslot].full, 0);
    /* second wait at the same site: the whole stack, starting at the
     * program's caller (the skip count drops leakwatch's frame and the
     * hook), and deeper than one frame */
    n = blocked_at_a(st, &caller);
    ck_assert_int_gt(n, 2);
    ck_assert_uint_eq(st[0], caller);
    ck_assert_int_eq(t->bsite[t->bslot].full, 1);
    /* later waits there reuse it */
    n = blocked_at_a(st, &caller);
    ck_assert_int_gt(n, 2);
    ck_assert_uint_eq(st[0], caller);
    /* another site: caller only; coming back to the previous site finds
     * its full stack still kept (no unwind) */
    site_b();
    ck_assert_int_eq(t->bsite[t->bslot].full, 0);
    ck_assert_int_eq(t->b.nstack, 1);
    uint32_t unwinds = t->bunwinds;
    n = blocked_at_a(st, &caller);
    ck_assert_int_gt(n, 2);
    ck_assert_uint_eq(st[0], caller);
    ck_assert_uint_eq(t->bunwinds, unwinds);
    /* waits are all counted, the state is cleared after each */
    ck_assert_uint_eq(atomic_load(&t->waits), 5);
    struct lw_blocked b;
    ck_assert(!lw_thread_read_blocked(t, &b, st));
    drop_self(t);
}
END_TEST

static __attribute__((noinline)) void site_x1(void)
{
    lw_wait_end(hook_a());
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void site_x2(void)
{
    lw_wait_end(hook_b());
    __asm__ volatile("" ::: "memory");
}

static int full_slots(struct lw_thread *t)
{
    int n = 0;
    for (int k = 0; k < LW_BSITES; k++)
        n += t->bsite[k].full;
    return n;
}

/* A loop over up to LW_BSITES waits (poll, recv, send) unwinds once per
 * site, not on every wait; one more site replaces the one waited at
 * longest ago. */
START_TEST(lazy_stack_loop_sites)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    for (int i = 0; i < 10; i++) {
        site_a();
        site_b();
        site_x1();
    }
    ck_assert_uint_eq(t->bunwinds, 3);
    ck_assert_int_gt(t->b.nstack, 2);
    for (int i = 0; i < 10; i++) {
        site_a();
        site_b();
        site_x1();
        site_x2();
        ck_assert_int_gt(t->b.nstack, 2 * (i > 0)); /* x2: full from its second pass */
    }
    ck_assert_uint_eq(t->bunwinds, 4);
    ck_assert_int_eq(full_slots(t), 4);
    /* a fifth site (another caller frame) replaces A, waited at longest
     * ago: B stays full, A starts over */
    uintptr_t st[LW_MAX_DEPTH], caller = 0;
    ck_assert_int_eq(blocked_at_a(st, &caller), 1);
    site_b();
    ck_assert_uint_eq(t->bunwinds, 4);
    ck_assert_int_gt(t->b.nstack, 2);
    site_a();
    ck_assert_int_eq(t->b.nstack, 1);
    drop_self(t);
}
END_TEST

START_TEST(lazy_stack_site_loop)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    for (int i = 0; i < 4; i++)
        site_a();
    ck_assert_int_eq(t->bsite[t->bslot].full, 1);
    ck_assert_int_gt(t->b.nstack, 2);
    drop_self(t);
}
END_TEST

/* A wait whose own timeout ends within LW_STACK_AFTER_NS (relative, or a
 * deadline on clk; deadline_clk 0 = relative): begun at site S and read
 * while active. */
static __attribute__((noinline)) int site_short(int64_t timeout_ns, int deadline_clk,
                                                uintptr_t *tok_out)
{
    struct lw_wait_info wi = {
        "pthread_cond_timedwait",    "cond",      0x3000, -1, NULL, 0, timeout_ns, 0,
        __builtin_return_address(0), deadline_clk};
    last_caller = (uintptr_t)wi.caller;
    uintptr_t tok = lw_wait_begin(&wi);
    ck_assert(tok != 0);
    uintptr_t st[LW_MAX_DEPTH];
    struct lw_blocked b;
    ck_assert(lw_thread_read_blocked(lw_self, &b, st));
    ck_assert_uint_eq(b.caller, last_caller);
    if (b.nstack == 1)
        ck_assert_uint_eq(st[0], last_caller);
    *tok_out = tok;
    lw_wait_end(tok);
    __asm__ volatile("" ::: "memory");
    return b.nstack;
}

static int64_t deadline_in(clockid_t clk, int64_t ns)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + ns;
}

/* CPython's GIL waits 5 ms at a time, at many stack depths: such waits
 * never unwind, never take a site slot (the two full sites of a loop stay
 * full) and are never split; a long or untimed wait at the same place is
 * an ordinary site. */
START_TEST(short_waits_keep_the_sites)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    for (int i = 0; i < 3; i++) {
        site_a();
        site_b();
    }
    ck_assert_uint_eq(t->bunwinds, 2);
    int slot = t->bslot;
    uintptr_t tok;
    /* a short wait used the slots less than LW_STACK_AFTER_NS ago (set
     * here rather than waited for: the test must not depend on its speed) */
    t->bshort_next_ns = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(site_short(5000000, 0, &tok), 1); /* relative 5 ms */
        ck_assert(!lw_wait_lazy(tok));
        ck_assert_int_eq(site_short(deadline_in(CLOCK_REALTIME, 5000000), CLOCK_REALTIME + 1, &tok),
                         1);
        ck_assert(!lw_wait_lazy(tok));
        ck_assert_int_eq(
            site_short(deadline_in(CLOCK_MONOTONIC, 50000000), CLOCK_MONOTONIC + 1, &tok), 1);
        ck_assert(!lw_wait_lazy(tok));
        ck_assert_int_eq(site_short(0, 0, &tok), 1); /* a poll that does not wait */
    }
    ck_assert_uint_eq(t->bunwinds, 2);
    ck_assert_int_eq(t->bslot, slot);
    ck_assert_int_eq(full_slots(t), 2);
    /* both sites still full: back to them without an unwind */
    site_a();
    ck_assert_int_gt(t->b.nstack, 2);
    site_b();
    ck_assert_int_gt(t->b.nstack, 2);
    ck_assert_uint_eq(t->bunwinds, 2);
    /* past the split (a deadline 1 s away, relative 1 s, untimed): an
     * ordinary site, lazy at first (the hook may split it) */
    ck_assert_int_eq(site_short(deadline_in(CLOCK_REALTIME, 1000000000), CLOCK_REALTIME + 1, &tok),
                     1);
    ck_assert(lw_wait_lazy(tok));
    ck_assert_int_eq(site_short(1000000000, 0, &tok), 1);
    ck_assert(lw_wait_lazy(tok)); /* relative 1 s, another call line: a new site */
    drop_self(t);
}
END_TEST

/* A ticker (a loop of short sleeps at one place) still gets its stack:
 * once per LW_STACK_AFTER_NS a short wait goes through the site slots, so
 * its second pass there unwinds; later ticks reuse the stack whatever the
 * allowance says. */
static __attribute__((noinline)) int tick(uintptr_t *tok)
{
    int n = site_short(20000000, 0, tok); /* 20 ms */
    __asm__ volatile("" ::: "memory");
    return n;
}

START_TEST(short_wait_loop_gets_its_stack)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    uintptr_t tok;
    t->bshort_next_ns = 0; /* the allowance is open */
    ck_assert_int_eq(tick(&tok), 1);
    ck_assert_uint_eq(t->bunwinds, 0);
    ck_assert_int_eq(tick(&tok), 1); /* within the interval: caller only */
    ck_assert_uint_eq(t->bunwinds, 0);
    t->bshort_next_ns = 0; /* LW_STACK_AFTER_NS later */
    ck_assert_int_gt(tick(&tok), 2);
    ck_assert_uint_eq(t->bunwinds, 1);
    t->bshort_next_ns = UINT64_MAX;
    for (int i = 0; i < 5; i++)
        ck_assert_int_gt(tick(&tok), 2);
    ck_assert_uint_eq(t->bunwinds, 1);
    drop_self(t);
}
END_TEST

/* A hook whose first part expired (docs/design.md §3.6): begins a wait at
 * site C, completes its stack from inside the "hook" and reads the state. */
static __attribute__((noinline)) uintptr_t hook_c(bool complete, bool resumed)
{
    struct lw_wait_info wi = {"pthread_cond_wait", "cond", 0x2000, -1, NULL, 0, -1, 0,
                              __builtin_return_address(0), 0};
    last_caller = (uintptr_t)wi.caller;
    uintptr_t tok = lw_wait_begin(&wi);
    if (complete) {
        ck_assert(lw_wait_lazy(tok));
        lw_wait_complete(tok, resumed);
    }
    __asm__ volatile("" ::: "memory");
    return tok;
}

static __attribute__((noinline)) int site_c(bool complete, bool resumed, uintptr_t *st,
                                            uint64_t *since)
{
    uintptr_t tok = hook_c(complete, resumed);
    struct lw_blocked b;
    ck_assert(lw_thread_read_blocked(lw_self, &b, st));
    ck_assert_uint_eq(st[0], last_caller);
    *since = b.since_ns;
    lw_wait_end(tok);
    __asm__ volatile("" ::: "memory");
    return b.nstack;
}

START_TEST(split_wait_completes_first_stack)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    uintptr_t st[LW_MAX_DEPTH];
    uint64_t since1 = 0;
    /* the first wait at the site, past the split: the whole stack, from
     * the program's caller, one unwind */
    ck_assert_int_gt(site_c(true, false, st, &since1), 2);
    ck_assert_uint_eq(t->bunwinds, 1);
    ck_assert_int_eq(t->bsite[t->bslot].full, 1);
    /* the next wait there reuses it (no unwind) */
    ck_assert_int_gt(site_c(false, false, st, &since1), 2);
    ck_assert_uint_eq(t->bunwinds, 1);
    ck_assert_uint_eq(atomic_load(&t->waits), 2);
    drop_self(t);
}
END_TEST

/* a contended mutex wait at another site (the relock on the way back) */
static __attribute__((noinline)) void site_relock(void)
{
    struct lw_wait_info wi = {"pthread_mutex_lock", "mutex", 0x4000, -1, NULL, 0, -1, 0,
                              __builtin_return_address(0), 0};
    lw_wait_end(lw_wait_begin(&wi));
    __asm__ volatile("" ::: "memory");
}

/* std::condition_variable_any relocks the caller's lock after a (spurious)
 * return: a contended relock between the split wait and the wait again
 * neither ends the resumed wait nor counts as a wake-up. */
START_TEST(split_cond_wait_resumes_across_relock)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    lw_ctx_cancel(t->ctx, LW_CAUSE_EXPLICIT);
    uintptr_t st[LW_MAX_DEPTH];
    uint64_t since1 = 0, since2 = 0;
    ck_assert_int_gt(site_c(true, true, st, &since1), 2);
    lw_sys_sleep_ns(20 * 1000 * 1000);
    site_relock();
    ck_assert_int_gt(site_c(false, false, st, &since2), 2);
    ck_assert_uint_eq(since2, since1);
    ck_assert_uint_eq(atomic_load(&t->waits), 1);
    ck_assert_uint_eq(atomic_load(&t->wakes_since_cancel), 1);
    drop_self(t);
}
END_TEST

START_TEST(split_cond_wait_resumes)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    lw_ctx_cancel(t->ctx, LW_CAUSE_EXPLICIT); /* wakes are counted from here */
    uintptr_t st[LW_MAX_DEPTH];
    uint64_t since1 = 0, since2 = 0;
    ck_assert_int_gt(site_c(true, true, st, &since1), 2);
    lw_sys_sleep_ns(20 * 1000 * 1000); /* past a coarse clock tick */
    /* the program's wait again after the spurious return: the same wait */
    ck_assert_int_gt(site_c(false, false, st, &since2), 2);
    ck_assert_uint_eq(since2, since1);
    ck_assert_uint_eq(atomic_load(&t->waits), 1);
    ck_assert_uint_eq(atomic_load(&t->wakes_since_cancel), 1); /* the first wait only */
    /* a real wake-up and wait again: counted, new start time */
    ck_assert_int_gt(site_c(false, false, st, &since2), 2);
    ck_assert_uint_gt(since2, since1);
    ck_assert_uint_eq(atomic_load(&t->waits), 2);
    ck_assert_uint_eq(atomic_load(&t->wakes_since_cancel), 2);
    drop_self(t);
}
END_TEST

START_TEST(owner_cache_invalidation)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    static char objs[64];
    uintptr_t a = (uintptr_t)&objs[0], b = (uintptr_t)&objs[16];
    lw_obj_cache_reset();
    /* a statically initialised object: the first toucher owns it */
    lw_obj_touch(b);
    ck_assert_uint_eq(lw_obj_owner(b), t->ctx);
    /* a touch from a context above the owner moves it up; the memo of
     * the last touch must not hide that */
    lw_obj_set(a, t->ctx);
    lw_obj_touch(a);
    lw_ctx_id mine = t->ctx;
    t->ctx = LW_CTX_ROOT;
    lw_obj_cache_reset(); /* what ctx enter/leave do */
    lw_obj_touch(a);
    ck_assert_uint_eq(lw_obj_owner(a), LW_CTX_ROOT);
    t->ctx = mine;
    lw_obj_cache_reset();
    lw_obj_touch(a);
    ck_assert_uint_eq(lw_obj_owner(a), LW_CTX_ROOT); /* never moves down */
    /* destroy + init by another context: a new history */
    lw_obj_remove(a);
    lw_obj_set(a, 9);
    ck_assert_uint_eq(lw_obj_owner(a), 9);
    lw_obj_remove(a);
    lw_obj_touch(a); /* the memo sees the tombstone */
    ck_assert_uint_eq(lw_obj_owner(a), t->ctx);
    lw_obj_remove(a);
    lw_obj_remove(b);
    drop_self(t);
}
END_TEST

/* The touch memo spares the table probe: touching the same object again
 * while other threads init and destroy theirs, and touching (then
 * destroying) an object this thread has just initialised — CPython's
 * per-Condition.wait lock; a destroy + init by another thread at the same
 * address is still seen. */
static uintptr_t other_obj;

static void *other_init_destroy(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        lw_obj_set(other_obj, 6);
        lw_obj_remove(other_obj);
    }
    return NULL;
}

static lw_ctx_id other_owner;

static void *other_remake(void *arg)
{
    (void)arg;
    lw_obj_remove(other_obj);
    lw_obj_set(other_obj, other_owner);
    return NULL;
}

static void on_other_thread(void *(*fn)(void *))
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fn, NULL), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

START_TEST(owner_memo_no_probe)
{
    setup_tables();
    struct lw_thread *t = fake_self();
    static char objs[64];
    uintptr_t a = (uintptr_t)&objs[0], d = (uintptr_t)&objs[48];
    other_obj = (uintptr_t)&objs[32];
    lw_obj_cache_reset();
    lw_obj_touch(a); /* first toucher */
    uint32_t p0 = lw_obj_probe_count();
    for (int i = 0; i < 3; i++) {
        on_other_thread(other_init_destroy);
        lw_obj_touch(a);
    }
    ck_assert_uint_eq(lw_obj_probe_count() - p0, 0);
    /* this thread's init -> wait -> post -> destroy: one probe, at init */
    p0 = lw_obj_probe_count();
    for (int i = 0; i < 4; i++) {
        lw_obj_init_here(d);
        lw_obj_touch(d);
        lw_obj_touch(d);
        lw_obj_remove(d);
    }
    ck_assert_uint_eq(lw_obj_probe_count() - p0, 4);
    ck_assert_uint_eq(lw_obj_owner(a), t->ctx);
    /* another thread destroys the object and makes a new one there, owned
     * by a context that is gone: the next touch must not be a memo hit but
     * join it (a gone owner: the toucher starts the history) */
    other_obj = d;
    other_owner = t->ctx + 1000;
    lw_obj_init_here(d);
    lw_obj_touch(d);
    on_other_thread(other_remake);
    ck_assert_uint_eq(lw_obj_owner(d), other_owner);
    lw_obj_touch(d);
    ck_assert_uint_eq(lw_obj_owner(d), t->ctx);
    lw_obj_remove(a);
    lw_obj_remove(d);
    drop_self(t);
}
END_TEST

Suite *lw_suite_preload_lazy(void)
{
    Suite *s = suite_create("preload_lazy");
    TCase *tc = tcase_create("lazy");
    tcase_add_test(tc, lazy_stack_per_site);
    tcase_add_test(tc, lazy_stack_site_loop);
    tcase_add_test(tc, lazy_stack_loop_sites);
    tcase_add_test(tc, owner_cache_invalidation);
    tcase_add_test(tc, owner_memo_no_probe);
    tcase_add_test(tc, split_wait_completes_first_stack);
    tcase_add_test(tc, split_cond_wait_resumes);
    tcase_add_test(tc, split_cond_wait_resumes_across_relock);
    tcase_add_test(tc, short_waits_keep_the_sites);
    tcase_add_test(tc, short_wait_loop_gets_its_stack);
    suite_add_tcase(s, tc);
    return s;
}
