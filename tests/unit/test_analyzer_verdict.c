/* Verdict rules of docs/design.md §2, one test per rule and per exception. */
#include "test_analyzer_util.h"

/* Judges a one-thread snapshot (plus the main thread) and returns the
 * status of tid 10. */
static enum lw_status judge1(const char *trigger, const char *ctxs, const char *thr10)
{
    char *doc = tu_doc(100, trigger, 10000, ctxs, tu_fmt("%s,%s", tu_thr(1, "main", 1, NULL, -1, NULL), thr10), NULL,
                       NULL);
    struct lw_snapshot *s = tu_parse(doc);
    struct lw_judgement j;
    lw_judge(s, 1000, &j);
    enum lw_status st = j.threads[1];
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
    return st;
}

/* root 1, request ctx 2 (cancelled at 5 s, exited), thread ctx 3 inherits. */
static char *cancelled_tree(long at_ms)
{
    return tu_fmt("%s,%s,%s", TU_ROOT, tu_ctx(2, 1, at_ms, "exited", 2, 5), tu_ctx(3, 2, at_ms, "exited", 2, 10));
}

START_TEST(leaked_blocked_after_grace)
{
    ck_assert_int_eq(judge1("signal", cancelled_tree(5000), tu_thr(10, "tracked", 3, tu_blk("nanosleep", "sleep", 0, 0, 9000), -1, NULL)),
                     LW_ST_LEAKED);
}
END_TEST

START_TEST(not_leaked_within_grace)
{
    /* cancelled 500 ms before the snapshot, grace 1000 ms */
    ck_assert_int_eq(judge1("signal", cancelled_tree(9500), tu_thr(10, "tracked", 3, tu_blk("nanosleep", "sleep", 0, 0, 9000), -1, NULL)),
                     LW_ST_NONE);
}
END_TEST

START_TEST(not_leaked_live_context)
{
    char *ctxs = tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, -1, NULL, 0, 10));
    ck_assert_int_eq(judge1("signal", ctxs, tu_thr(10, "tracked", 3, tu_blk("nanosleep", "sleep", 0, 0, 0), -1, NULL)), LW_ST_NONE);
}
END_TEST

START_TEST(running_cancelled_is_leaked)
{
    ck_assert_int_eq(judge1("signal", cancelled_tree(5000), tu_thr(10, "tracked", 3, NULL, -1, NULL)), LW_ST_LEAKED);
}
END_TEST

START_TEST(parked_on_live_owner)
{
    /* waits on a cond owned by the root (live): an idle pool worker */
    ck_assert_int_eq(judge1("signal", cancelled_tree(5000),
                            tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 6000), -1, NULL)),
                     LW_ST_PARKED);
}
END_TEST

START_TEST(not_parked_on_cancelled_owner)
{
    ck_assert_int_eq(judge1("signal", cancelled_tree(5000),
                            tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 2, 0, 6000), -1, NULL)),
                     LW_ST_LEAKED);
}
END_TEST

START_TEST(cancel_target_never_parked_requested)
{
    ck_assert_int_eq(judge1("signal", cancelled_tree(5000),
                            tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 6000), -1,
                                   "\"cancel_requested_ns\":5000000000,")),
                     LW_ST_LEAKED);
}
END_TEST

START_TEST(cancel_target_never_parked_origin)
{
    char *ctxs = tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, 5000, "pthread_cancel", 3, 10));
    ck_assert_int_eq(judge1("signal", ctxs, tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 6000), -1, NULL)),
                     LW_ST_LEAKED);
}
END_TEST

START_TEST(stuck_holder_exited)
{
    /* live context, but the mutex holder (tid 77) is gone */
    char *ctxs = tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, -1, NULL, 0, 10));
    ck_assert_int_eq(judge1("signal", ctxs, tu_thr(10, "tracked", 3, tu_blk("pthread_mutex_lock", "mutex", 1, 77, 2000), -1, NULL)),
                     LW_ST_STUCK);
}
END_TEST

START_TEST(stuck_needs_grace)
{
    char *ctxs = tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, -1, NULL, 0, 10));
    ck_assert_int_eq(judge1("signal", ctxs, tu_thr(10, "tracked", 3, tu_blk("pthread_mutex_lock", "mutex", 1, 77, 9800), -1, NULL)),
                     LW_ST_NONE);
}
END_TEST

START_TEST(stuck_holder_alive_is_not_stuck)
{
    char *ctxs = tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, -1, NULL, 0, 10));
    /* holder is tid 1 (main, running) */
    ck_assert_int_eq(judge1("signal", ctxs, tu_thr(10, "tracked", 3, tu_blk("pthread_mutex_lock", "mutex", 1, 1, 2000), -1, NULL)),
                     LW_ST_NONE);
}
END_TEST

START_TEST(stuck_cycle)
{
    char *ctxs = tu_fmt("%s,%s,%s", TU_ROOT, tu_ctx(3, 1, -1, NULL, 0, 10), tu_ctx(4, 1, -1, NULL, 0, 11));
    char *threads = tu_fmt("%s,%s,%s,%s", tu_thr(1, "main", 1, NULL, -1, NULL),
                           tu_thr(10, "tracked", 3, tu_blk("pthread_mutex_lock", "mutex", 1, 11, 2000), -1, NULL),
                           tu_thr(11, "tracked", 4, tu_blk("pthread_mutex_lock", "mutex", 1, 10, 2000), -1, NULL),
                           tu_thr(12, "tracked", 4, tu_blk("pthread_mutex_lock", "mutex", 1, 11, 2000), -1, NULL));
    struct lw_snapshot *s = tu_parse(tu_doc(100, "signal", 10000, ctxs, threads, NULL, NULL));
    struct lw_judgement j;
    lw_judge(s, 1000, &j);
    ck_assert_int_eq(j.threads[1], LW_ST_STUCK);
    ck_assert_int_eq(j.threads[2], LW_ST_STUCK);
    ck_assert_ptr_nonnull(strstr(j.thread_detail[1], "cycle"));
    /* 12 waits on the cycle: it can never wake either */
    ck_assert_int_eq(j.threads[3], LW_ST_STUCK);
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
}
END_TEST

START_TEST(unjoined_rules)
{
    ck_assert_int_eq(judge1("signal", TU_ROOT, tu_thr(10, "tracked", 1, NULL, 5000, NULL)), LW_ST_UNJOINED);
    ck_assert_int_eq(judge1("signal", TU_ROOT, tu_thr(10, "tracked", 1, NULL, 9500, NULL)), LW_ST_NONE);
    ck_assert_int_eq(judge1("signal", TU_ROOT, tu_thr(10, "tracked", 1, NULL, 5000, "\"detached\":true,")), LW_ST_NONE);
    ck_assert_int_eq(judge1("signal", TU_ROOT, tu_thr(10, "tracked", 1, NULL, 5000, "\"joined\":true,")), LW_ST_NONE);
}
END_TEST

START_TEST(exit_snapshot_rules)
{
    /* root cancelled by process_exit 200 ms before: no grace. A thread of
     * the process scope is alive_at_exit, blocked or not */
    char *ctxs = tu_fmt("%s,%s", tu_ctx(1, 0, 9800, "process_exit", 1, 1), tu_ctx(3, 1, 9800, "process_exit", 1, 10));
    ck_assert_int_eq(judge1("exit", ctxs, tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 9900), -1, NULL)),
                     LW_ST_ALIVE_AT_EXIT);
    ck_assert_int_eq(judge1("exit", ctxs, tu_thr(10, "tracked", 3, NULL, -1, NULL)), LW_ST_ALIVE_AT_EXIT);
    /* its own scope (ctx 3, request 2) ended before exit began: leaked, even
     * 200 ms before; parked on a root-owned object it is alive_at_exit;
     * on an object of the ended request it is leaked */
    char *ended = tu_fmt("%s,%s,%s", tu_ctx(1, 0, 9900, "process_exit", 1, 1), tu_ctx(2, 1, 9800, "exited", 2, 5),
                         tu_ctx(3, 2, 9800, "exited", 2, 10));
    ck_assert_int_eq(judge1("exit", ended, tu_thr(10, "tracked", 3, NULL, -1, NULL)), LW_ST_LEAKED);
    ck_assert_int_eq(judge1("exit", ended, tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 9000), -1, NULL)),
                     LW_ST_ALIVE_AT_EXIT);
    ck_assert_int_eq(judge1("exit", ended, tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 2, 0, 9000), -1, NULL)),
                     LW_ST_LEAKED);
    /* the target of pthread_cancel is never excused by parking */
    char *cancelled = tu_fmt("%s,%s", tu_ctx(1, 0, 9900, "process_exit", 1, 1), tu_ctx(3, 1, 9000, "pthread_cancel", 3, 10));
    ck_assert_int_eq(judge1("exit", cancelled, tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 9000), -1, NULL)),
                     LW_ST_LEAKED);
    /* exited 100 ms before exit, never joined: unjoined, no grace at exit */
    ck_assert_int_eq(judge1("exit", ctxs, tu_thr(10, "tracked", 3, NULL, 9900, NULL)), LW_ST_UNJOINED);
    ck_assert_int_eq(judge1("signal", TU_ROOT, tu_thr(10, "tracked", 1, NULL, 9900, NULL)), LW_ST_NONE);
    /* the main thread is never a finding */
    char *doc = tu_doc(100, "exit", 10000, ctxs, tu_thr(1, "main", 1, NULL, -1, NULL), NULL, NULL);
    struct lw_snapshot *s = tu_parse(doc);
    struct lw_judgement j;
    lw_judge(s, 1000, &j);
    ck_assert_int_eq(j.threads[0], LW_ST_NONE);
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
}
END_TEST

START_TEST(foreign_never)
{
    ck_assert_int_eq(judge1("signal", cancelled_tree(5000), tu_thr(10, "foreign", 3, NULL, -1, NULL)), LW_ST_NONE);
    ck_assert_int_eq(judge1("exit", cancelled_tree(5000), tu_thr(10, "foreign", 3, NULL, -1, NULL)), LW_ST_NONE);
}
END_TEST

START_TEST(timers_and_sockets)
{
    char *timers = "{\"id\":1,\"kind\":\"posix\",\"handle\":5,\"notify\":\"thread\",\"callback\":null,\"context\":3,"
                   "\"creator_tid\":10,\"created_ns\":1,\"creation_stack\":null,\"armed\":true,\"interval_ns\":100000000,"
                   "\"expirations\":4,\"helper_tids\":[]},"
                   "{\"id\":2,\"kind\":\"timerfd\",\"handle\":7,\"notify\":\"fd\",\"callback\":null,\"context\":1,"
                   "\"creator_tid\":1,\"created_ns\":1,\"creation_stack\":null,\"armed\":true,\"interval_ns\":0,"
                   "\"expirations\":0,\"helper_tids\":[]}";
    char *sockets = "{\"fd\":8,\"kind\":\"tcp\",\"local\":\"127.0.0.1:1\",\"peer\":\"127.0.0.1:2\",\"listening\":false,"
                    "\"connected\":true,\"foreign\":false,\"context\":3,\"creation_stack\":null},"
                    "{\"fd\":9,\"kind\":\"tcp\",\"local\":\"0.0.0.0:80\",\"peer\":null,\"listening\":true,"
                    "\"connected\":false,\"foreign\":false,\"context\":3,\"creation_stack\":null},"
                    "{\"fd\":11,\"kind\":\"tcp\",\"local\":null,\"peer\":null,\"listening\":false,"
                    "\"connected\":false,\"foreign\":true,\"context\":3,\"creation_stack\":null},"
                    "{\"fd\":12,\"kind\":\"udp\",\"local\":null,\"peer\":null,\"listening\":false,"
                    "\"connected\":false,\"foreign\":false,\"context\":1,\"creation_stack\":null}";
    struct lw_snapshot *s = tu_parse(tu_doc(100, "signal", 10000, cancelled_tree(5000),
                                            tu_thr(1, "main", 1, NULL, -1, NULL), timers, sockets));
    struct lw_judgement j;
    lw_judge(s, 1000, &j);
    ck_assert_int_eq(j.timers[0], LW_ST_LEAKED);   /* owner cancelled 5 s ago */
    ck_assert_int_eq(j.timers[1], LW_ST_NONE);     /* root-owned while running */
    ck_assert_int_eq(j.sockets[0], LW_ST_LEAKED);
    ck_assert_int_eq(j.sockets[1], LW_ST_LEAKED);  /* listening: no exception */
    ck_assert_int_eq(j.sockets[2], LW_ST_NONE);    /* foreign */
    ck_assert_int_eq(j.sockets[3], LW_ST_NONE);    /* root-owned */
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
}
END_TEST

/* docs/design.md §2.1: a socket or fd that a live thread which is not
 * itself a finding waits on, directly or through an epoll set, is in use;
 * a timerfd is its timer only. */
START_TEST(sockets_in_use_and_timerfd)
{
    char *sockets = "{\"fd\":9,\"kind\":\"tcp\",\"local\":\"0.0.0.0:80\",\"peer\":null,\"listening\":true,"
                    "\"connected\":false,\"foreign\":false,\"context\":3,\"creation_stack\":null},"
                    "{\"fd\":10,\"kind\":\"epoll\",\"local\":null,\"peer\":null,\"listening\":false,"
                    "\"connected\":false,\"foreign\":false,\"context\":3,\"creation_stack\":null,\"registered\":[9]},"
                    "{\"fd\":13,\"kind\":\"timerfd\",\"local\":null,\"peer\":null,\"listening\":false,"
                    "\"connected\":false,\"foreign\":false,\"context\":3,\"creation_stack\":null,\"timer\":2},"
                    "{\"fd\":14,\"kind\":\"eventfd\",\"local\":null,\"peer\":null,\"listening\":false,"
                    "\"connected\":false,\"foreign\":false,\"context\":3,\"creation_stack\":null}";
    /* a root thread (live, not a finding) waits on the epoll set */
    char *blk = tu_fmt("{\"call\":\"epoll_wait\",\"family\":\"poll\",\"source\":\"intercepted\",\"object\":null,"
                       "\"fd\":null,\"fds\":[10],\"object_owner\":null,\"holder_tid\":null,\"join_target_tid\":null,"
                       "\"since_ns\":1,\"timeout_ns\":null,\"stack\":null,\"caller\":null}");
    char *threads = tu_fmt("%s,%s", tu_thr(1, "main", 1, NULL, -1, NULL), tu_thr(11, "tracked", 1, blk, -1, NULL));
    struct lw_snapshot *s = tu_parse(tu_doc(100, "signal", 10000, cancelled_tree(5000), threads, NULL, sockets));
    struct lw_judgement j;
    lw_judge(s, 1000, &j);
    ck_assert_int_eq(j.sockets[0], LW_ST_NONE);   /* registered in the set a live thread waits on */
    ck_assert_int_eq(j.sockets[1], LW_ST_NONE);   /* the set itself */
    ck_assert_int_eq(j.sockets[2], LW_ST_NONE);   /* a timerfd: judged as its timer */
    ck_assert_int_eq(j.sockets[3], LW_ST_LEAKED); /* nobody waits on it */
    ck_assert(lw_socket_is_fd(&s->sockets[1]) && lw_socket_is_fd(&s->sockets[3]) && !lw_socket_is_fd(&s->sockets[0]));
    ck_assert_str_eq(lw_fd_words(s->sockets[1].kind), "epoll instance");
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
    /* the same wait by a leaked thread (ctx 3, ended) keeps nothing in use */
    threads = tu_fmt("%s,%s", tu_thr(1, "main", 1, NULL, -1, NULL), tu_thr(11, "tracked", 3, blk, -1, NULL));
    s = tu_parse(tu_doc(100, "signal", 10000, cancelled_tree(5000), threads, NULL, sockets));
    lw_judge(s, 1000, &j);
    ck_assert_int_eq(j.threads[1], LW_ST_LEAKED);
    ck_assert_int_eq(j.sockets[0], LW_ST_LEAKED);
    ck_assert_int_eq(j.sockets[1], LW_ST_LEAKED);
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
}
END_TEST

/* At exit: a socket whose scope ended before exit is leaked at once (no
 * grace); root-owned (process_exit) sockets and timers are not. */
START_TEST(exit_snapshot_resources)
{
    char *ctxs = tu_fmt("%s,%s", tu_ctx(1, 0, 9990, "process_exit", 1, 1), tu_ctx(3, 1, 9900, "exited", 3, 10));
    char *timers = "{\"id\":2,\"kind\":\"timerfd\",\"handle\":7,\"notify\":\"fd\",\"callback\":null,\"context\":1,"
                   "\"creator_tid\":1,\"created_ns\":1,\"creation_stack\":null,\"armed\":true,\"interval_ns\":0,"
                   "\"expirations\":0,\"helper_tids\":[]}";
    char *sockets = "{\"fd\":8,\"kind\":\"tcp\",\"local\":\"127.0.0.1:1\",\"peer\":\"127.0.0.1:2\",\"listening\":false,"
                    "\"connected\":true,\"foreign\":false,\"context\":3,\"creation_stack\":null},"
                    "{\"fd\":12,\"kind\":\"pipe\",\"local\":null,\"peer\":null,\"listening\":false,"
                    "\"connected\":false,\"foreign\":false,\"context\":1,\"creation_stack\":null}";
    struct lw_snapshot *s =
        tu_parse(tu_doc(100, "exit", 10000, ctxs, tu_thr(1, "main", 1, NULL, -1, NULL), timers, sockets));
    struct lw_judgement j;
    lw_judge(s, 1000, &j);
    ck_assert_int_eq(j.sockets[0], LW_ST_LEAKED); /* scope ended 100 ms before exit */
    ck_assert_int_eq(j.sockets[1], LW_ST_NONE);   /* process-lifetime pipe */
    ck_assert_int_eq(j.timers[0], LW_ST_NONE);    /* root-owned timer */
    lw_judgement_free(s, &j);
    lw_snapshot_free(s);
}
END_TEST

Suite *lw_suite_analyzer_verdict(void)
{
    Suite *s = suite_create("analyzer_verdict");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, leaked_blocked_after_grace);
    tcase_add_test(tc, not_leaked_within_grace);
    tcase_add_test(tc, not_leaked_live_context);
    tcase_add_test(tc, running_cancelled_is_leaked);
    tcase_add_test(tc, parked_on_live_owner);
    tcase_add_test(tc, not_parked_on_cancelled_owner);
    tcase_add_test(tc, cancel_target_never_parked_requested);
    tcase_add_test(tc, cancel_target_never_parked_origin);
    tcase_add_test(tc, stuck_holder_exited);
    tcase_add_test(tc, stuck_needs_grace);
    tcase_add_test(tc, stuck_holder_alive_is_not_stuck);
    tcase_add_test(tc, stuck_cycle);
    tcase_add_test(tc, unjoined_rules);
    tcase_add_test(tc, exit_snapshot_rules);
    tcase_add_test(tc, exit_snapshot_resources);
    tcase_add_test(tc, foreign_never);
    tcase_add_test(tc, timers_and_sockets);
    tcase_add_test(tc, sockets_in_use_and_timerfd);
    suite_add_tcase(s, tc);
    return s;
}
