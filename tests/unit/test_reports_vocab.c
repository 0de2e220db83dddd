/* Unit tests for the one vocabulary (reports/lw_vocab.h) and the one list of
 * formats: every word maps back to its value, --fail-on words follow from
 * the kind and verdict lists, every format has both renderers and a gate
 * run renders in every format. */
#include <check.h>
#include <string.h>

#include "test_reports_fixture.h"

START_TEST(every_word_round_trips)
{
    const struct lw_vocab *lists[] = {&lw_vocab_family, &lw_vocab_cause, &lw_vocab_trigger, &lw_vocab_thread_kind,
                                      &lw_vocab_thread_state, &lw_vocab_ctx_kind};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (size_t i = 0; i < lists[l]->n; i++) {
            const char *w = lists[l]->words[i];
            ck_assert_int_eq(lw_vocab_find(lists[l], w, strlen(w)), (int)i);
        }
    ck_assert_int_eq(lw_vocab_find(&lw_vocab_trigger, "exi", 3), -1);
    ck_assert_str_eq(lw_family_name(LW_FAMILY_MUTEX), "mutex");
    ck_assert_str_eq(lw_cause_name(LW_CAUSE_PTHREAD_CANCEL), "pthread_cancel");
    ck_assert_ptr_null(lw_cause_name(LW_CAUSE_NONE));
    ck_assert_ptr_null(lw_status_name(LW_ST_NONE));
    ck_assert_str_eq(lw_status_name(LW_ST_PARKED), "parked");
    for (unsigned k = 0; k < LW_KIND_COUNT; k++)
        ck_assert_str_ne(lw_kind_name((enum lw_kind)k), "unknown");
    for (unsigned v = 0; v < LW_VERDICT_COUNT; v++)
        ck_assert_str_ne(lw_verdict_name((enum lw_verdict)v), "unknown");
}
END_TEST

START_TEST(fail_on_words_follow_the_lists)
{
    unsigned m = 0;
    char err[256];
    ck_assert_int_eq(lw_fail_on_parse("thread,stuck", &m, err, sizeof err), 0);
    ck_assert_uint_eq(m, LW_FAIL_THREAD | LW_FAIL_STUCK);
    ck_assert_int_eq(lw_fail_on_parse("threads,sockets", &m, err, sizeof err), 0);
    ck_assert_uint_eq(m, LW_FAIL_THREAD | LW_FAIL_SOCKET);
    ck_assert_int_eq(lw_fail_on_parse("none", &m, err, sizeof err), 0);
    ck_assert_uint_eq(m, 0);
    ck_assert_int_eq(lw_fail_on_parse("all", &m, err, sizeof err), 0);
    ck_assert_uint_eq(m, LW_FAIL_ALL);
    ck_assert_int_eq(lw_fail_on_parse("thread,bogus", &m, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown kind \"bogus\" (thread, timer, socket, fd, unjoined, stuck, alive_at_exit"));
    ck_assert_int_eq(lw_fail_on_parse("fd,alive_at_exit", &m, err, sizeof err), 0);
    ck_assert_uint_eq(m, LW_FAIL_FD | LW_FAIL_ALIVE_AT_EXIT);
    ck_assert_uint_eq(lw_fail_bit(LW_KIND_FD, LW_VERDICT_LEAKED), LW_FAIL_FD);
    ck_assert_uint_eq(lw_fail_bit(LW_KIND_THREAD, LW_VERDICT_ALIVE_AT_EXIT), LW_FAIL_ALIVE_AT_EXIT);
    /* every kind and every non-leaked verdict has a word and its own bit */
    unsigned seen = 0;
    for (unsigned b = 0; b < LW_FAIL_NBITS; b++) {
        const char *w = lw_fail_word(b);
        ck_assert_int_eq(lw_fail_on_parse(w, &m, err, sizeof err), 0);
        ck_assert_uint_eq(m, 1u << b);
        seen |= m;
    }
    ck_assert_uint_eq(seen, LW_FAIL_ALL);
    ck_assert_uint_eq(lw_fail_bit(LW_KIND_TIMER, LW_VERDICT_LEAKED), LW_FAIL_TIMER);
    ck_assert_uint_eq(lw_fail_bit(LW_KIND_SOCKET, LW_VERDICT_STUCK), LW_FAIL_STUCK);
}
END_TEST

START_TEST(one_format_list_for_diff_and_gate)
{
    const char *names = lw_format_names();
    ck_assert_str_eq(names, "text, json, junit, sarif, markdown, html, pprof, openmetrics");
    ck_assert_ptr_eq(lw_format_by_name("md"), lw_format_by_name("markdown"));
    ck_assert_ptr_null(lw_format_by_name("pdf"));
    struct fx x;
    fx_init(&x);
    struct lw_gate_proc procs[3] = {
        {4100, FX_STR("/bin/svc"), LW_PROC_FINDINGS, FX_STR("own start snapshot"), &x.r},
        {4101, FX_STR("/bin/sh"), LW_PROC_NO_EXIT, FX_STR("no exit snapshot"), NULL},
        {0, FX_STR("leakwatch-9-1.json"), LW_PROC_ERROR, FX_STR("unreadable snapshot: truncated"), NULL},
    };
    struct lw_gate g = {procs, 3};
    for (const char *const *n = (const char *const[]){"text", "json", "junit", "sarif", "markdown", "html", "pprof", "openmetrics", NULL}; *n; n++) {
        const struct lw_format_info *f = lw_format_by_name(*n);
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(f->render);
        ck_assert_ptr_nonnull(f->render_gate);
        char *out = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&out, &len);
        ck_assert_int_eq(f->render_gate(m, &g, NULL), 0);
        fclose(m);
        ck_assert_uint_gt(len, 0);
        if (strcmp(*n, "junit") == 0) {
            ck_assert_ptr_nonnull(strstr(out, "<testsuites name=\"leakwatch-gate\" tests=\"7\" failures=\"3\" "
                                              "errors=\"1\" skipped=\"2\">"));
            ck_assert_ptr_nonnull(strstr(out, "name=\"leakwatch: /bin/svc (pid 4100)\""));
        } else if (strcmp(*n, "json") == 0) {
            ck_assert_ptr_nonnull(strstr(out, "\"summary\": {\"findings\": 1, \"clean\": 0, \"error\": 1, "
                                              "\"no_exit_snapshot\": 1}"));
        } else if (strcmp(*n, "sarif") == 0) {
            ck_assert_ptr_nonnull(strstr(out, "\"automationDetails\": {\"id\": \"leakwatch-gate/pid-4100\"}"));
        }
        free(out);
    }
}
END_TEST

Suite *lw_suite_reports_vocab(void)
{
    Suite *s = suite_create("reports_vocab");
    TCase *tc = tcase_create("vocab");
    tcase_add_test(tc, every_word_round_trips);
    tcase_add_test(tc, fail_on_words_follow_the_lists);
    tcase_add_test(tc, one_format_list_for_diff_and_gate);
    suite_add_tcase(s, tc);
    return s;
}
