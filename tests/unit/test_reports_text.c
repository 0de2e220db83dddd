/* Unit tests for the text renderer (reports/lw_render_text.c) and the
 * shared helpers it leans on: order, summary, frames, creators, escaping,
 * colour, max_frames. Models are built by hand (test_reports_fixture.h). */
#include <check.h>

#include "test_reports_fixture.h"
#include "../../reports/lw_render_int.h"

static char *text(const struct lw_report *r, bool color, int maxf)
{
    int rc = -1;
    char *s = fx_render(lw_render_text, r, color, maxf, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(summary_line_counts_instances_by_verdict_and_kind)
{
    struct fx x;
    fx_init(&x);
    char *s = text(&x.r, false, 0);
    ck_assert_str_eq(fx_last_line(s), "SUMMARY: leakwatch: 5 new findings (1 stuck thread, 3 "
                                      "leaked threads, 1 leaked socket), 1 persisting, 2 fixed");
    free(s);
}
END_TEST

START_TEST(empty_report_says_no_new_findings)
{
    struct lw_report r;
    fx_init_empty(&r);
    char *s = text(&r, false, 0);
    ck_assert_str_eq(fx_last_line(s), "SUMMARY: leakwatch: no new findings");
    ck_assert_ptr_null(strstr(s, "NEW"));
    ck_assert_ptr_null(strstr(s, "PERSISTING"));
    ck_assert_ptr_nonnull(strstr(s, "empty baseline -> after.json"));
    free(s);
}
END_TEST

START_TEST(persisting_only_still_counts_them)
{
    struct fx x;
    fx_init(&x);
    x.r.n_new = 0;
    char *s = text(&x.r, false, 0);
    ck_assert_str_eq(fx_last_line(s), "SUMMARY: leakwatch: no new findings, 1 persisting, 2 fixed");
    free(s);
}
END_TEST

START_TEST(worst_first_and_new_before_persisting)
{
    struct fx x;
    fx_init(&x);
    char *s = text(&x.r, false, 0);
    const char *stuck = strstr(s, "NEW 1 stuck thread: thread drain_main");
    const char *poll = strstr(s, "NEW 3 leaked threads: thread poller_main (blocked in nanosleep) "
                                 "[site 0123456789abcdef]");
    const char *sock = strstr(s, "NEW 1 leaked socket: socket tcp");
    const char *pers = strstr(s, "PERSISTING:\n  1 unjoined thread: thread oneshot_main");
    const char *fixd = strstr(s, "FIXED:\n  2 leaked timers: timer posix");
    ck_assert_ptr_nonnull(stuck);
    ck_assert_ptr_nonnull(poll);
    ck_assert_ptr_nonnull(sock);
    ck_assert_ptr_nonnull(pers);
    ck_assert_ptr_nonnull(fixd);
    /* stuck before leaked; among leaked, the bigger count first. */
    ck_assert(stuck < poll && poll < sock && sock < pers && pers < fixd);
    free(s);
}
END_TEST

/* POSIX timer ids are unsigned (glibc's SIGEV_THREAD ids have the top bit
 * set); kind fd reads as what the descriptor is; alive_at_exit is its own
 * verdict. */
START_TEST(timer_ids_unsigned_fd_and_alive_at_exit)
{
    struct fx x;
    fx_init(&x);
    x.timer_ids[0] = -2147483647, x.timer_ids[1] = 2;
    x.r.new_findings[1].kind = LW_KIND_FD;
    x.r.new_findings[1].title = FX_STR("epoll instance");
    x.r.new_findings[0].verdict = LW_VERDICT_ALIVE_AT_EXIT;
    fx_decide(&x.r, LW_FAIL_ALL);
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "(ids 2147483649, 2)"));
    ck_assert_ptr_null(strstr(s, "-2147483647"));
    ck_assert_ptr_nonnull(strstr(s, "leaked fd: epoll instance"));
    ck_assert_ptr_nonnull(strstr(s, "alive_at_exit thread"));
    free(s);
}
END_TEST

START_TEST(site_block_tells_the_story)
{
    struct fx x;
    fx_init(&x);
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  thread 4123 \"poller\", start routine poller_main and 2 "
                                    "more like this (tids 4124, 4125)\n"));
    ck_assert_ptr_nonnull(strstr(s, "  blocked in nanosleep for 95 ms\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "  woke 36 times since its scope ended \xe2\x80\x94 still ticking\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "  its scope ended 4.2 s ago: thread 4102 (handle_request) exited\n"));
    ck_assert_ptr_nonnull(strstr(s, "  context \"GET /users\"\n"));
    ck_assert_ptr_nonnull(strstr(s, "  created by worker_main in thread 4121 <- created by "
                                    "handle_request in thread 4102 [\"GET /users\"] <- main\n"));
    ck_assert_ptr_nonnull(strstr(s, "  blocked at:\n    #0 0x00007f0000001000 in nanosleep "
                                    "(libc.so.6+0xe1000)\n    #1 0x0000000000401200 in "
                                    "poller_main /src/svc/poller.c:22\n"));
    ck_assert_ptr_nonnull(strstr(s, "    #1 0x0000000000401300 in worker_main /src/svc/worker.c:40\n"));
    /* stuck: object with holder, infinite wait, explanation, creator main. */
    ck_assert_ptr_nonnull(strstr(s, "  blocked in pthread_mutex_lock on mutex "
                                    "0x55550000a0c0 held by thread 4129 (exited) for 1 min 5 s, "
                                    "no timeout\n"));
    ck_assert_ptr_nonnull(strstr(s, "  its holder, thread 4129, exited without unlocking it\n"));
    ck_assert_ptr_nonnull(strstr(s, "  created by main in thread 4100\n"));
    /* socket: fd with kind and peer. */
    ck_assert_ptr_nonnull(strstr(s, "  fd 7 (tcp 127.0.0.1:5000 -> 127.0.0.1:41234)\n"));
    free(s);
}
END_TEST

START_TEST(notes_sections)
{
    struct fx x;
    fx_init(&x);
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "Suppressions used:\n  count pattern\n      4 thread:grpc_*\n"));
    ck_assert_ptr_nonnull(strstr(s, "Baseline: 2 instances accepted\n  expired: thread:0123"));
    ck_assert_ptr_nonnull(strstr(s, "Warnings:\n  /usr/lib/libfoo.so: build-id mismatch"));
    free(s);
}
END_TEST

START_TEST(unjoined_and_running)
{
    struct fx x;
    fx_init(&x);
    x.r.new_findings = x.pers;
    x.r.n_new = 1;
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  exited 3.1 s ago and was never joined or detached"));
    ck_assert_ptr_null(strstr(s, "running:"));
    free(s);
    fx_init(&x);
    x.news[0].blocked = false;
    s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  running: not blocked in any call leakwatch sees\n"));
    ck_assert_ptr_nonnull(strstr(s, "  woke 37 times"));
    /* only the stuck thread still shows a blocked stack */
    ck_assert_uint_eq(fx_count(s, "blocked at:"), 1);
    free(s);
}
END_TEST

START_TEST(first_wait_after_cancel_is_not_a_wake)
{
    struct fx x;
    fx_init(&x);
    x.news[0].wakes_since_cancel = 1;
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_null(strstr(s, "woke "));
    ck_assert_ptr_nonnull(strstr(s, "  has not woken since its scope ended\n"));
    free(s);
    x.news[0].wakes_since_cancel = 2;
    s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  woke 1 time since its scope ended"));
    free(s);
}
END_TEST

START_TEST(family_only_when_it_adds_information)
{
    struct fx x;
    fx_init(&x);
    /* The call names its family: "nanosleep (sleep)" says it twice. */
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_null(strstr(s, "(sleep)"));
    ck_assert_ptr_null(strstr(s, "(mutex)"));  /* "on mutex 0x.." says it */
    free(s);
    /* No object, and the call does not say what it waits for: keep it. */
    x.news[0].blocked_call = FX_STR("accept4");
    x.news[0].blocked_family = LW_FAMILY_SOCKET;
    s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  blocked in accept4 (socket) for 95 ms\n"));
    free(s);
    /* "other" tells nothing. */
    x.news[0].blocked_family = LW_FAMILY_OTHER;
    s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  blocked in accept4 for 95 ms\n"));
    free(s);
    /* An object names the kind: "on cond 0x..", not "(cond) on cond". */
    x.news[0].blocked_call = FX_STR("pthread_cond_wait");
    x.news[0].blocked_family = LW_FAMILY_COND;
    x.news[0].blocked_object = FX_STR("cond 0x7f00000b98");
    s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "  blocked in pthread_cond_wait on cond 0x7f00000b98 for 95 ms\n"));
    free(s);
}
END_TEST

START_TEST(user_frame_skips_std_thread_constructor)
{
    struct lw_sym_frame f[3];
    fx_frame(&f[0], 0x1000, "std::thread::_M_start_thread()", NULL, 0, "/usr/lib/libstdc++.so.6", 0x10);
    fx_frame(&f[1], 0x2000, "std::thread::thread<void (&)()>(void (&)())", "/usr/include/c++/12/bits/std_thread.h",
             142, "/srv/app", 0x20);
    fx_frame(&f[2], 0x3000, "Session::start()", "src/session.cpp", 26, "/srv/app", 0x30);
    struct lw_sym_stack st = {3, f};
    const struct lw_sym_frame *u = lw_user_frame(&st);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->function, "Session::start()");
    ck_assert_int_eq(u->line, 26);
}
END_TEST

START_TEST(max_frames_truncates_with_a_note)
{
    struct fx x;
    fx_init(&x);
    char *s = text(&x.r, false, 1);
    ck_assert_ptr_nonnull(strstr(s, "    #0 0x00007f0000003000 in pthread_create"));
    ck_assert_ptr_nonnull(strstr(s, "    ... 3 more frames\n"));
    ck_assert_ptr_nonnull(strstr(s, "    ... 1 more frame\n"));
    ck_assert_ptr_null(strstr(s, "#1 "));
    free(s);
    s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "    #3 0x0000000000401500 in main /src/svc/server.c:120\n"));
    ck_assert_ptr_null(strstr(s, "more frame"));
    free(s);
}
END_TEST

START_TEST(colour_only_when_asked)
{
    struct fx x;
    fx_init(&x);
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_null(strchr(s, '\033'));
    free(s);
    s = text(&x.r, true, 0);
    ck_assert_ptr_nonnull(strstr(s, "\033[1;31mNEW 1 stuck thread"));
    ck_assert_ptr_nonnull(strstr(s, "\033[1mSUMMARY: leakwatch: 5 new findings"));
    free(s);
}
END_TEST

START_TEST(host_strings_cannot_inject_control_characters)
{
    struct fx x;
    fx_init(&x);
    x.news[0].name = FX_STR("evil\033[2J\nname\x9b\xff");
    x.news[0].title = FX_STR("line1\nline2\r");
    x.news[0].ctx_label = FX_STR("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_null(strchr(s, '\033'));
    ck_assert_ptr_null(strchr(s, '\r'));
    ck_assert_ptr_nonnull(strstr(s, "\"evil\\x1b[2J\\nname\\x9b\\xff\""));
    ck_assert_ptr_nonnull(strstr(s, ": line1\\nline2\\x0d [site"));
    /* valid non-ASCII passes through untouched */
    ck_assert_ptr_nonnull(strstr(s, "context \"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\""));
    free(s);
}
END_TEST

START_TEST(missing_optional_fields)
{
    struct fx x;
    fx_init(&x);
    struct lw_finding *f = &x.news[0];
    f->name = NULL;
    f->start_routine = NULL;
    f->blocked_call = NULL;
    f->blocked_family = LW_FAMILY_OTHER;
    f->ctx_label = NULL;
    f->ctx_cause = LW_CAUSE_NONE;
    f->ctx_origin_tid = 0;
    f->creators = NULL;
    f->ncreators = 0;
    f->ids = NULL;
    f->site = NULL;
    f->creation_stack = (struct lw_sym_stack){0, NULL};
    struct lw_sym_frame bare[2];
    fx_frame(&bare[0], 0x1234, NULL, NULL, 0, NULL, 0);
    fx_frame(&bare[1], 0x5678, NULL, "/src/x.c", 9, "/bin/x", 0x78);
    f->blocked_stack = (struct lw_sym_stack){2, bare};
    x.r.before_path = NULL;
    x.r.exe = NULL;
    char *s = text(&x.r, false, 0);
    ck_assert_ptr_nonnull(strstr(s, "    #0 0x0000000000001234 in ??\n"));
    ck_assert_ptr_nonnull(strstr(s, "    #1 0x0000000000005678 in x+0x78 /src/x.c:9\n"));
    ck_assert_ptr_nonnull(strstr(s, "  created at:\n    (no stack)\n"));
    ck_assert_ptr_nonnull(strstr(s, "  blocked in an unknown call for 95 ms\n"));
    ck_assert_ptr_nonnull(strstr(s, "  its scope ended 4.2 s ago: the owning thread ended (cause unknown)\n"));
    ck_assert_ptr_nonnull(strstr(s, "[site ?]"));
    ck_assert_str_eq(fx_last_line(s), "SUMMARY: leakwatch: 5 new findings (1 stuck thread, 3 "
                                      "leaked threads, 1 leaked socket), 1 persisting, 2 fixed");
    free(s);
}
END_TEST

START_TEST(many_findings_all_listed_ids_capped)
{
    enum { N = 400 };
    static struct lw_finding many[N];
    static char sites[N][17];
    static int ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = 1000 + i;
    struct lw_report r;
    fx_init_empty(&r);
    for (int i = 0; i < N; i++) {
        fx_empty_finding(&many[i]);
        snprintf(sites[i], sizeof sites[i], "%016x", i);
        many[i].site = sites[i];
        many[i].title = FX_STR("thread t");
        many[i].count = i == 7 ? 40 : 1;
        many[i].ids = i == 7 ? ids : &ids[i % 40];
    }
    r.new_findings = many;
    r.n_new = N;
    char *s = text(&r, false, 0);
    ck_assert_uint_eq(fx_count(s, "\nNEW "), N);
    ck_assert_ptr_nonnull(strstr(s, "SUMMARY: leakwatch: 439 new findings (439 leaked threads)"));
    /* the big site comes first and caps its id list */
    const char *first = strstr(s, "\nNEW ");
    ck_assert_ptr_nonnull(first);
    ck_assert(strncmp(first, "\nNEW 40 leaked threads", 22) == 0);
    ck_assert_ptr_nonnull(strstr(s, "and 39 more like this (tids 1001, 1002, 1003, 1004, 1005, "
                                    "1006, 1007, 1008, ... (+31 more))"));
    free(s);
}
END_TEST

START_TEST(bad_arguments_and_names)
{
    struct lw_report r;
    fx_init_empty(&r);
    ck_assert_int_lt(lw_render_text(NULL, &r, NULL), 0);
    ck_assert_int_lt(lw_render_text(stdout, NULL, NULL), 0);
    ck_assert_ptr_eq(lw_renderer_by_name("text"), lw_render_text);
    ck_assert_ptr_eq(lw_renderer_by_name("json"), lw_render_json);
    ck_assert_ptr_eq(lw_renderer_by_name("junit"), lw_render_junit);
    ck_assert_ptr_eq(lw_renderer_by_name("sarif"), lw_render_sarif);
    ck_assert_ptr_eq(lw_renderer_by_name("markdown"), lw_render_markdown);
    ck_assert_ptr_null(lw_renderer_by_name("xml"));
    ck_assert_ptr_null(lw_renderer_by_name(NULL));
    ck_assert_str_eq(lw_kind_name(LW_KIND_SOCKET), "socket");
    ck_assert_str_eq(lw_verdict_name(LW_VERDICT_UNJOINED), "unjoined");
    /* a NULL opts is allowed: no colour, all frames */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_int_eq(lw_render_text(m, &r, NULL), 0);
    fclose(m);
    free(buf);
}
END_TEST

Suite *lw_suite_reports_text(void)
{
    Suite *s = suite_create("reports_text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, summary_line_counts_instances_by_verdict_and_kind);
    tcase_add_test(tc, timer_ids_unsigned_fd_and_alive_at_exit);
    tcase_add_test(tc, empty_report_says_no_new_findings);
    tcase_add_test(tc, persisting_only_still_counts_them);
    tcase_add_test(tc, worst_first_and_new_before_persisting);
    tcase_add_test(tc, site_block_tells_the_story);
    tcase_add_test(tc, notes_sections);
    tcase_add_test(tc, unjoined_and_running);
    tcase_add_test(tc, first_wait_after_cancel_is_not_a_wake);
    tcase_add_test(tc, family_only_when_it_adds_information);
    tcase_add_test(tc, user_frame_skips_std_thread_constructor);
    tcase_add_test(tc, max_frames_truncates_with_a_note);
    tcase_add_test(tc, colour_only_when_asked);
    tcase_add_test(tc, host_strings_cannot_inject_control_characters);
    tcase_add_test(tc, missing_optional_fields);
    tcase_add_test(tc, many_findings_all_listed_ids_capped);
    tcase_add_test(tc, bad_arguments_and_names);
    suite_add_tcase(s, tc);
    return s;
}
