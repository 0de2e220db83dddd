/* Loader errors, sites, diff (both modes), suppressions, baseline and
 * symbolization (on the -g fixture build/tests/analyzer/symfix). */
#include <sys/stat.h>
#include <unistd.h>

#include "test_analyzer_util.h"

START_TEST(loader_errors)
{
    ck_assert_str_eq(tu_err(""), "t.json: empty file (a snapshot is a JSON object)");
    ck_assert_ptr_nonnull(strstr(tu_err("{\"leakwatch_schema\":1,"), "truncated"));
    ck_assert_ptr_nonnull(strstr(tu_err("{\"leakwatch_schema\":2}"), "leakwatch_schema: unsupported schema version 2"));
    ck_assert_ptr_nonnull(strstr(tu_err("[1]"), "expected a JSON object"));
    char *doc = tu_doc(1, "signal", 10, TU_ROOT, "{\"tid\":\"x\",\"kind\":\"main\",\"state\":\"running\"}", NULL, NULL);
    ck_assert_str_eq(tu_err(doc), "t.json: threads[0].tid: expected an integer, got a string");
    doc = tu_doc(1, "signal", 10, TU_ROOT, "{\"tid\":5,\"kind\":\"main\",\"state\":\"running\",\"creation_stack\":3}", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(tu_err(doc), "threads[0].creation_stack: stack index 3 out of range"));
    doc = tu_doc(1, "signal", 10, TU_ROOT, "{\"tid\":-5,\"kind\":\"main\",\"state\":\"running\"}", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(tu_err(doc), "threads[0].tid: -5 is out of range"));
    /* cycle: 2 -> 3 -> 2 */
    doc = tu_doc(1, "signal", 10, tu_fmt("%s,%s,%s", TU_ROOT, tu_ctx(2, 3, -1, NULL, 0, 1), tu_ctx(3, 2, -1, NULL, 0, 1)),
                 "", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(tu_err(doc), "cycle in the context tree"));
    doc = tu_doc(1, "signal", 10, TU_ROOT, "{\"tid\":5,\"kind\":\"main\",\"state\":\"running\",\"context\":9}", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(tu_err(doc), "threads[0].context: no context with id 9"));
    ck_assert_ptr_nonnull(strstr(tu_err("{\"leakwatch_schema\":1,\"pid\":99999999999999999999999}"), "not valid JSON"));
    /* deep nesting ends in a parse error, not a stack overflow */
    size_t n = 200000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    ck_assert_ptr_nonnull(strstr(tu_err(deep), "not valid JSON"));
    free(deep);
}
END_TEST

static char *cancelled_tree(void)
{
    return tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, 5000, "exited", 3, 9));
}

/* A snapshot of process pid with leaked threads tids[0..n) (blocked in
 * nanosleep, ctx 3 cancelled). */
static struct lw_snapshot *leaks(int pid, const int *tids, size_t n)
{
    char *threads = tu_thr(1, "main", 1, NULL, -1, NULL);
    for (size_t i = 0; i < n; i++)
        threads = tu_fmt("%s,%s", threads, tu_thr(tids[i], "tracked", 3, tu_blk("nanosleep", "sleep", 0, 0, 9000), -1, NULL));
    return tu_parse(tu_doc(pid, "signal", 10000, cancelled_tree(), threads, NULL, NULL));
}

START_TEST(diff_same_process)
{
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_snapshot *b = leaks(100, (int[]){10, 12}, 2), *a = leaks(100, (int[]){10, 11}, 2);
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, b, a, &o);
    ck_assert(r->same_process);
    ck_assert_uint_eq(r->n_new, 1);
    ck_assert_uint_eq(r->new_findings[0].count, 1);
    ck_assert_int_eq(r->new_findings[0].ids[0], 11);
    ck_assert_uint_eq(r->n_persisting, 1);
    ck_assert_int_eq(r->persisting[0].ids[0], 10);
    ck_assert_uint_eq(r->n_fixed, 1);
    ck_assert_int_eq(r->fixed[0].ids[0], 12);
    ck_assert_uint_eq(lw_report_failing(r), 1);
    /* --fail-on without thread: still reported, not failing */
    lw_report_decide(r, LW_FAIL_TIMER);
    ck_assert_uint_eq(lw_report_failing(r), 0);
    ck_assert(!r->fails && !r->new_findings[0].fails);
    lw_report_free(r);
    lw_snapshot_free(a);
    lw_snapshot_free(b);
    lw_symbolizer_free(z);
}
END_TEST

START_TEST(diff_by_site_counts)
{
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_snapshot *b = leaks(100, (int[]){10, 11}, 2), *a = leaks(200, (int[]){10, 20, 21}, 3);
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, b, a, &o);
    ck_assert(!r->same_process);
    ck_assert_uint_eq(r->n_new, 1);
    ck_assert_uint_eq(r->new_findings[0].count, 1);  /* grew by one */
    ck_assert_uint_eq(r->n_persisting, 1);
    ck_assert_uint_eq(r->persisting[0].count, 2);
    ck_assert_uint_eq(r->n_fixed, 0);
    lw_report_free(r);
    /* single argument: everything is new */
    r = lw_diff(z, NULL, a, &o);
    ck_assert_uint_eq(r->n_new, 1);
    ck_assert_uint_eq(r->new_findings[0].count, 3);
    ck_assert_int_eq(r->new_findings[0].ctx_cause, LW_CAUSE_EXITED);
    ck_assert_int_eq(r->new_findings[0].ctx_cancelled_ago_ms, 5000);
    ck_assert_uint_eq(r->new_findings[0].ncreators, 1);  /* parent of ctx 3 is the root */
    ck_assert_str_eq(r->new_findings[0].creators[0].function, "main");
    lw_report_free(r);
    lw_snapshot_free(a);
    lw_snapshot_free(b);
    lw_symbolizer_free(z);
}
END_TEST

START_TEST(suppressions)
{
    struct lw_suppressions sp = {0};
    char err[256];
    const char *bad = "# comment\nthread:ok\nthred:x\n";
    ck_assert_int_eq(lw_supp_parse(&sp, "s.supp", bad, strlen(bad), err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "s.supp:3:"));
    lw_supp_free(&sp);
    const char *good = "  # names\nthread:t1?\ntop:nothing*\n\ntimer:x\n";
    ck_assert_int_eq(lw_supp_parse(&sp, "s.supp", good, strlen(good), err, sizeof err), 0);
    ck_assert_uint_eq(sp.n, 3);
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_snapshot *a = leaks(100, (int[]){10, 11, 20}, 3);
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL, .supp = &sp};
    struct lw_report *r = lw_diff(z, NULL, a, &o);
    /* thread names t10 and t11 match "t1?"; t20 does not */
    ck_assert_uint_eq(r->n_new, 1);
    ck_assert_uint_eq(r->new_findings[0].count, 1);
    ck_assert_int_eq(r->new_findings[0].ids[0], 20);
    ck_assert_uint_eq(r->n_suppressions, 3);
    ck_assert_str_eq(r->suppressions[0].pattern, "thread:t1?");
    ck_assert_uint_eq(r->suppressions[0].hits, 2);
    ck_assert_uint_eq(r->suppressions[1].hits, 0);
    lw_report_free(r);
    lw_snapshot_free(a);
    lw_symbolizer_free(z);
    lw_supp_free(&sp);
}
END_TEST

START_TEST(baseline_expiry_and_write)
{
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_snapshot *a = leaks(100, (int[]){10}, 1);
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, NULL, a, &o);
    ck_assert_uint_eq(r->n_new, 1);
    char path[] = "/tmp/lw-baseline-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char err[512];
    /* exists: refused without force */
    ck_assert_int_lt(lw_baseline_write(path, r, false, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "--force"));
    ck_assert_int_eq(lw_baseline_write(path, r, true, err, sizeof err), 0);
    struct lw_baseline b = {0};
    ck_assert_int_eq(lw_baseline_load(&b, path, "2030-01-01", err, sizeof err), 0);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(b.e[0].site, r->new_findings[0].site);
    lw_baseline_free(&b);
    char *site = strdup(r->new_findings[0].site);
    lw_report_free(r);

    /* accepted while valid, reported as expired after the date */
    char *text = tu_fmt("thread:%s owner=alice expires=2030-06-30 # known\n", site);
    ck_assert_int_eq(lw_baseline_parse(&b, "b.txt", text, strlen(text), "2030-06-30", err, sizeof err), 0);
    o.baseline = &b;
    r = lw_diff(z, NULL, a, &o);
    ck_assert_uint_eq(r->n_new, 0);
    ck_assert_uint_eq(r->baseline_accepted, 1);
    ck_assert_uint_eq(r->n_baseline_expired, 0);
    lw_report_free(r);
    lw_baseline_free(&b);
    ck_assert_int_eq(lw_baseline_parse(&b, "b.txt", text, strlen(text), "2030-07-01", err, sizeof err), 0);
    r = lw_diff(z, NULL, a, &o);
    ck_assert_uint_eq(r->n_new, 1);
    ck_assert_uint_eq(r->n_baseline_expired, 1);
    ck_assert_ptr_nonnull(strstr(r->baseline_expired[0], "expired on 2030-06-30"));
    lw_report_free(r);
    lw_baseline_free(&b);
    const char *bad = "thread:1234 \n";
    ck_assert_int_eq(lw_baseline_parse(&b, "b.txt", bad, strlen(bad), "2030-01-01", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "b.txt:1: site must be 16 hex digits"));
    lw_baseline_free(&b);
    free(site);
    unlink(path);
    lw_snapshot_free(a);
    lw_symbolizer_free(z);
}
END_TEST

/* Runs the -g fixture; it writes a snapshot of itself. */
static struct lw_snapshot *symfix_snapshot(const char *bid_override)
{
    const char *fx = getenv("LW_SYMFIX");
    if (!fx)
        fx = "build/tests/analyzer/symfix";
    char out[] = "/tmp/lw-symfix-XXXXXX";
    int fd = mkstemp(out);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char *cmd = tu_fmt("%s %s %s", fx, out, bid_override ? bid_override : "");
    ck_assert_msg(system(cmd) == 0, "fixture failed: %s", cmd);
    char err[512];
    struct lw_snapshot *s = lw_snapshot_load(out, 0, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    unlink(out);
    return s;
}

static const struct lw_finding *by_name(const struct lw_report *r, const char *start)
{
    for (size_t i = 0; i < r->n_new; i++)
        if (r->new_findings[i].start_routine && strcmp(r->new_findings[i].start_routine, start) == 0)
            return &r->new_findings[i];
    return NULL;
}

START_TEST(symbolize_fixture)
{
    struct lw_snapshot *s = symfix_snapshot(NULL);
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, NULL, s, &o);
    ck_assert_uint_eq(r->n_warnings, 0);
    const struct lw_finding *p = by_name(r, "poller_main");
    ck_assert_ptr_nonnull(p);
    /* creation stack: fake_pthread_create, inl_helper (inlined), outer_fn, handle_request */
    ck_assert_uint_ge(p->creation_stack.n, 4);
    const struct lw_sym_frame *f = p->creation_stack.frames;
    ck_assert_str_eq(f[0].function, "fake_pthread_create");
    ck_assert_str_eq(f[1].function, "inl_helper");
    ck_assert(f[1].inlined);
    ck_assert_ptr_nonnull(strstr(f[1].file, "symfix.c"));
    ck_assert_str_eq(f[2].function, "outer_fn");
    ck_assert(!f[2].inlined);
    ck_assert_str_eq(f[3].function, "handle_request");
    ck_assert_int_eq(p->location_line, f[0].line);
    /* the creator chain names every hop */
    ck_assert_uint_eq(p->ncreators, 3);
    ck_assert_str_eq(p->creators[0].function, "worker_main");
    ck_assert_str_eq(p->creators[1].function, "handle_request");
    ck_assert_str_eq(p->creators[1].label, "req-7");
    ck_assert_str_eq(p->creators[2].function, "main");
    /* demangled C++ start routine */
    ck_assert_ptr_nonnull(by_name(r, "demo::Worker::tick(void*)"));
    lw_report_free(r);
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
}
END_TEST

START_TEST(symbolize_lines_match_source)
{
    /* The fixture records the source lines of the inline call and of the
     * call in outer_fn in its "expect" object; read them back from the file
     * text (the loader ignores the key). */
    struct lw_snapshot *s = symfix_snapshot(NULL);
    struct lw_symbolizer *z = lw_symbolizer_new();
    const struct lw_snap_stack *st = &s->stacks[0];
    const struct lw_symres *res = lw_symbolize(z, s, &st->frames[1], true);
    ck_assert_uint_eq(res->n, 2);
    ck_assert_str_eq(res->locs[0].function, "inl_helper");
    ck_assert_str_eq(res->locs[1].function, "outer_fn");
    int inl = res->locs[0].line, call = res->locs[1].line;
    ck_assert_int_gt(inl, 0);
    ck_assert_int_gt(call, inl);  /* outer_fn is below inl_helper in symfix.c */
    /* cached: the same pointer the second time */
    ck_assert_ptr_eq(lw_symbolize(z, s, &st->frames[1], true), res);
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
}
END_TEST

START_TEST(symbolize_buildid_mismatch_and_missing)
{
    struct lw_snapshot *s = symfix_snapshot("00112233445566778899aabbccddeeff00112233");
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, NULL, s, &o);
    ck_assert_uint_eq(r->n_warnings, 1);  /* once per module, not per frame */
    ck_assert_ptr_nonnull(strstr(r->warnings[0], "build-id"));
    ck_assert_uint_eq(r->n_new, 2);
    ck_assert_ptr_null(r->new_findings[0].creation_stack.frames[0].function);
    ck_assert_ptr_nonnull(strstr(r->new_findings[0].start_routine, "symfix+0x"));
    lw_report_free(r);
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
}
END_TEST

START_TEST(site_stable_across_aslr)
{
    /* Two runs of the PIE fixture load at different bases: same sites, and
     * a different-process diff finds nothing new. */
    struct lw_snapshot *a = symfix_snapshot(NULL), *b = symfix_snapshot(NULL);
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, a, b, &o);
    ck_assert(!r->same_process);
    ck_assert_uint_eq(r->n_new, 0);
    ck_assert_uint_eq(r->n_persisting, 2);
    lw_report_free(r);
    /* names decide, not addresses: an address elsewhere in the same
     * function gives the same site */
    uint64_t s1 = lw_site_thread(z, a, 1, LW_ST_LEAKED);
    a->stacks[0].frames[0].offset += 1;
    a->stacks[0].frames[0].ip += 1;
    ck_assert_uint_eq(lw_site_thread(z, a, 1, LW_ST_LEAKED), s1);
    char buf[64];
    ck_assert_str_eq(lw_site_name("worker.constprop.0", buf, sizeof buf), "worker");
    lw_symbolizer_free(z);
    lw_snapshot_free(a);
    lw_snapshot_free(b);
}
END_TEST

START_TEST(dump_groups_and_parked)
{
    char *ctxs = tu_fmt("%s,%s", TU_ROOT, tu_ctx(3, 1, 5000, "exited", 3, 9));
    /* 10 and 11 alike and both named "t10"; 13 alike but named "t13" */
    char *t11 = tu_thr(11, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 7000), -1, NULL);
    memcpy(strstr(t11, "\"t11\""), "\"t10\"", 5);
    char *threads = tu_fmt("%s,%s,%s,%s,%s", tu_thr(1, "main", 1, NULL, -1, NULL),
                           tu_thr(10, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 6000), -1, NULL), t11,
                           tu_thr(12, "foreign", 1, NULL, -1, NULL),
                           tu_thr(13, "tracked", 3, tu_blk("pthread_cond_wait", "cond", 1, 0, 6000), -1, NULL));
    struct lw_snapshot *s = tu_parse(tu_doc(100, "signal", 10000, ctxs, threads, NULL, NULL));
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_dump *d = lw_dump_build(z, s, 1000);
    ck_assert_uint_eq(d->nthreads, 5);
    /* main, 2 parked workers, the differently named one, foreign */
    ck_assert_uint_eq(d->ngroups, 4);
    size_t found = 0;
    for (size_t g = 0; g < d->ngroups; g++)
        if (d->groups[g].count == 2) {
            ck_assert_int_eq(d->groups[g].verdict, LW_ST_PARKED);
            ck_assert_ptr_nonnull(strstr(d->groups[g].state, "for 4.0 s"));  /* the longest */
            found++;
        }
    ck_assert_uint_eq(found, 1);
    ck_assert_uint_eq(d->nctxs, 2);
    ck_assert_int_eq(d->ctxs[1].parent, 0);
    lw_dump_free(d);
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
}
END_TEST

Suite *lw_suite_analyzer_core(void)
{
    Suite *s = suite_create("analyzer_core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, loader_errors);
    tcase_add_test(tc, diff_same_process);
    tcase_add_test(tc, diff_by_site_counts);
    tcase_add_test(tc, suppressions);
    tcase_add_test(tc, baseline_expiry_and_write);
    tcase_add_test(tc, symbolize_fixture);
    tcase_add_test(tc, symbolize_lines_match_source);
    tcase_add_test(tc, symbolize_buildid_mismatch_and_missing);
    tcase_add_test(tc, site_stable_across_aslr);
    tcase_add_test(tc, dump_groups_and_parked);
    suite_add_tcase(s, tc);
    return s;
}
