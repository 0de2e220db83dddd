/* Unit tests for the timer table (preload/resources/lw_timer.c): records, the
 * (kind, handle) hash under churn, SIGEV_THREAD trampolines and helper-tid
 * attribution, counts per context, the fork rule. */
#include "../../preload/resources/lw_resources.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

START_TEST(new_find_delete)
{
    uint32_t a = lw_timer_new(LW_TIMER_POSIX, 0x1234, 1, LW_TN_SIGNAL, SIGALRM, 0, 0);
    ck_assert_uint_ne(a, 0);
    struct lw_timer_rec *t = lw_timer_get(a);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->kind, LW_TIMER_POSIX);
    ck_assert_int_eq(t->signo, SIGALRM);
    ck_assert_int_eq(t->creator_tid, (int)gettid());
    ck_assert_uint_eq(t->ctx, lw_ctx_current());
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_POSIX, 0x1234), a);
    /* same handle, other kind: a different timer */
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_TIMERFD, 0x1234), 0);
    uint32_t b = lw_timer_new(LW_TIMER_TIMERFD, 0x1234, 1, LW_TN_FD, -1, 0, 0);
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_TIMERFD, 0x1234), b);
    uint64_t ida = t->id;
    ck_assert_uint_gt(lw_timer_get(b)->id, ida);

    lw_timer_arm(a, true, 5000000);
    ck_assert(atomic_load(&t->armed));
    ck_assert_uint_eq(atomic_load(&t->interval_ns), 5000000);
    lw_timer_expired(a, 3);
    lw_timer_expired(a, 2);
    ck_assert_uint_eq(atomic_load(&t->expirations), 5);

    lw_timer_delete(a);
    ck_assert_ptr_null(lw_timer_get(a));
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_POSIX, 0x1234), 0);
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_TIMERFD, 0x1234), b);
    lw_timer_delete(a); /* twice: harmless */
    lw_timer_delete(0);
    lw_timer_expired(a, 1); /* on a deleted record: ignored */
    lw_timer_delete(b);
}
END_TEST

START_TEST(hash_survives_churn)
{
    /* Many timers whose handles collide in the hash, deleted in a scrambled
     * order: every survivor must stay findable (backward-shift deletion). */
    enum { N = 3000 };
    static uint32_t idx[N];
    for (int i = 0; i < N; i++) {
        idx[i] = lw_timer_new(LW_TIMER_POSIX, (uintptr_t)(i * (LW_TIMER_MAX * 2)), 0, LW_TN_NONE,
                              -1, 0, 0);
        ck_assert_uint_ne(idx[i], 0);
    }
    srand(7);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            if (idx[i] && rand() % 2) {
                lw_timer_delete(idx[i]);
                idx[i] = 0;
            }
        for (int i = 0; i < N; i++) {
            uint32_t f = lw_timer_find(LW_TIMER_POSIX, (uintptr_t)(i * (LW_TIMER_MAX * 2)));
            ck_assert_uint_eq(f, idx[i]);
        }
    }
    for (int i = 0; i < N; i++)
        lw_timer_delete(idx[i]);
    /* churn beyond the pool size: records are reused */
    for (int i = 0; i < LW_TIMER_MAX + 100; i++) {
        uint32_t k = lw_timer_new(LW_TIMER_POSIX, (uintptr_t)i, 0, LW_TN_NONE, -1, 0, 0);
        ck_assert_uint_ne(k, 0);
        lw_timer_delete(k);
    }
}
END_TEST

START_TEST(set_handle_rekeys)
{
    uint32_t k = lw_timer_new(LW_TIMER_POSIX, 0, 0, LW_TN_NONE, -1, 0, 0);
    lw_timer_set_handle(k, 0xabc);
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_POSIX, 0xabc), k);
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_POSIX, 0), 0);
    lw_timer_delete(k);
}
END_TEST

static int ran_with;
static void prog_fn(union sigval v)
{
    ran_with = v.sival_int;
}

START_TEST(trampoline_runs_program_function_and_records_tid)
{
    lw_sigev_fn fn = NULL;
    union sigval val = {.sival_int = 0}, mine = {.sival_int = 42};
    uint32_t tr = lw_tramp_alloc(prog_fn, mine, &fn, &val);
    ck_assert_uint_ne(tr, 0);
    ck_assert_ptr_nonnull(fn);
    ck_assert_ptr_ne((void *)fn, (void *)prog_fn);
    uint32_t k = lw_timer_new(LW_TIMER_POSIX, 0x777, 0, LW_TN_THREAD, -1, (uintptr_t)prog_fn, 0);
    lw_tramp_bind(tr, k);
    fn(val); /* what glibc's notification thread does */
    ck_assert_int_eq(ran_with, 42);
    struct lw_timer_rec *t = lw_timer_get(k);
    ck_assert_uint_eq(atomic_load(&t->expirations), 1);
    ck_assert_uint_eq(lw_timers_owner_of_tid((int)gettid()), t->id);
    fn(val); /* same thread again: listed once */
    ck_assert_uint_eq(atomic_load(&t->expirations), 2);
    ck_assert_uint_eq(atomic_load(&t->nhelpers), 1);
    /* more helper threads than slots: the most recent are kept */
    for (int tid = 100000; tid < 100000 + LW_TIMER_HELPERS + 3; tid++)
        lw_timer_helper_ran(k, tid);
    ck_assert_uint_eq(lw_timers_owner_of_tid(100000 + LW_TIMER_HELPERS + 2), t->id);
    ck_assert_uint_eq(lw_timers_owner_of_tid(100000), 0);
    ck_assert_uint_eq(lw_timers_owner_of_tid(424242), 0);
    lw_timer_delete(k); /* frees the trampoline, owner forgotten */
    ck_assert_uint_eq(lw_timers_owner_of_tid((int)gettid()), 0);
    /* a late notification after delete still runs the program's function */
    ran_with = 0;
    fn(val);
    ck_assert_int_eq(ran_with, 42);
}
END_TEST

START_TEST(sys_helper_attribution_rule)
{
    ck_assert(lw_timer_want_sys_helper());
    uint32_t a = lw_timer_new(LW_TIMER_POSIX, 0x10, 0, LW_TN_THREAD, -1, 1, 0);
    uint32_t b = lw_timer_new(LW_TIMER_POSIX, 0x20, 0, LW_TN_THREAD, -1, 1, 0);
    uint32_t c = lw_timer_new(LW_TIMER_POSIX, 0x30, 0, LW_TN_THREAD, -1, 1, 0);
    lw_timer_sys_helper_found(555001, b);
    ck_assert(!lw_timer_want_sys_helper());
    /* the timer whose creation started it, while it lives */
    ck_assert_uint_eq(lw_timers_owner_of_tid(555001), lw_timer_get(b)->id);
    ck_assert_int_eq(lw_timer_sys_helper_of(b), 555001);
    ck_assert_int_eq(lw_timer_sys_helper_of(a), 0);
    /* then the oldest live SIGEV_THREAD timer */
    lw_timer_delete(b);
    ck_assert_uint_eq(lw_timers_owner_of_tid(555001), lw_timer_get(a)->id);
    lw_timer_delete(a);
    ck_assert_uint_eq(lw_timers_owner_of_tid(555001), lw_timer_get(c)->id);
    lw_timer_delete(c);
    ck_assert_uint_eq(lw_timers_owner_of_tid(555001), 0);
}
END_TEST

START_TEST(count_under_and_fork_child)
{
    lw_ctx_id me = lw_ctx_current();
    int before = lw_timer_count_under(me);
    uint32_t p = lw_timer_new(LW_TIMER_POSIX, 0x40, 0, LW_TN_SIGNAL, SIGALRM, 0, 0);
    uint32_t f = lw_timer_new(LW_TIMER_TIMERFD, 41, 0, LW_TN_FD, -1, 0, 0);
    uint32_t al = lw_timer_new(LW_TIMER_ALARM, 0, 0, LW_TN_SIGNAL, SIGALRM, 0, 0);
    ck_assert_int_eq(lw_timer_count_under(me), before + 3);
    lw_timer_sys_helper_found(555002, p);
    /* POSIX timers and alarms are not inherited across fork; timerfds are
     * fds, and fds are */
    lw_timer_after_fork_child();
    ck_assert_ptr_null(lw_timer_get(p));
    ck_assert_ptr_null(lw_timer_get(al));
    ck_assert_ptr_nonnull(lw_timer_get(f));
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_TIMERFD, 41), f);
    ck_assert_uint_eq(lw_timer_find(LW_TIMER_POSIX, 0x40), 0);
    ck_assert(lw_timer_want_sys_helper());
    ck_assert_uint_eq(lw_timers_owner_of_tid(555002), 0);
    ck_assert_int_eq(lw_timer_count_under(me), before + 1);
    lw_timer_delete(f);
}
END_TEST

START_TEST(timerfd_record_ends_with_its_fd)
{
    struct lw_fd_rec *r = lw_fd_open(3000, LW_FD_TIMERFD, 0, 0);
    uint32_t k = lw_timer_new(LW_TIMER_TIMERFD, 3000, 1, LW_TN_FD, -1, 0, 0);
    atomic_store(&r->timer, k);
    lw_fd_dup(3000, 3001);
    lw_fd_close(3000);
    ck_assert_ptr_nonnull(lw_timer_get(k)); /* an alias keeps it open */
    lw_fd_close(3001);
    ck_assert_ptr_null(lw_timer_get(k));
}
END_TEST

Suite *lw_suite_timer(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, new_find_delete);
    tcase_add_test(tc, hash_survives_churn);
    tcase_add_test(tc, set_handle_rekeys);
    tcase_add_test(tc, trampoline_runs_program_function_and_records_tid);
    tcase_add_test(tc, sys_helper_attribution_rule);
    tcase_add_test(tc, count_under_and_fork_child);
    tcase_add_test(tc, timerfd_record_ends_with_its_fd);
    suite_add_tcase(s, tc);
    return s;
}
