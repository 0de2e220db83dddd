/* Unit tests for the machine formats and the dump: json (string escaping,
 * nulls, order), junit (XML escaping, failure/skipped choice), sarif
 * (levels, locations, URIs), markdown (table, details, fences) and the
 * thread dump / context tree. Parsing JSON back with jansson lives in
 * test_analyzer_reports_json.c (this runner links no libraries). */
#include <check.h>
#include <unistd.h>

#include "test_reports_fixture.h"

static char *render(fx_render_fn fn, const struct lw_report *r)
{
    int rc = -1;
    char *s = fx_render(fn, r, false, 0, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(json_escapes_every_hostile_string)
{
    struct fx x;
    fx_init(&x);
    x.news[0].name = FX_STR("q\"b\\s\nn\t\x01\x7f<&>");
    x.news[0].ctx_label = FX_STR("caf\xc3\xa9\xe2\x80\xa8");
    x.news[0].title = FX_STR("cut \xe6\x97"); /* UTF-8 cut by the 15-byte name limit */
    char *s = render(lw_render_json, &x.r);
    ck_assert_ptr_nonnull(strstr(s, "\"name\": \"q\\\"b\\\\s\\nn\\t\\u0001\\u007f<&>\""));
    ck_assert_ptr_nonnull(strstr(s, "\"label\": \"caf\xc3\xa9\xe2\x80\xa8\""));
    ck_assert_ptr_nonnull(strstr(s, "\"title\": \"cut \xef\xbf\xbd\xef\xbf\xbd\""));
    free(s);
}
END_TEST

START_TEST(json_fields_and_order)
{
    struct fx x;
    fx_init(&x);
    char *s = render(lw_render_json, &x.r);
    const char *keys[] = {"\"leakwatch_diff\": 1", "\"before\": {\"path\": \"before.json\", \"pid\": 4100}",
                          "\"after\": {", "\"grace_ms\": 1000", "\"new\": [", "\"persisting\": [",
                          "\"fixed\": [", "\"summary\": {", "\"suppressions\": [{\"pattern\": \"thread:grpc_*\", \"hits\": 4}]",
                          "\"warnings\": [", "\"baseline\": {\"accepted\": 2"};
    const char *prev = s;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *p = strstr(s, keys[i]);
        ck_assert_msg(p != NULL, "missing %s", keys[i]);
        ck_assert_msg(p >= prev, "%s out of order", keys[i]);
        prev = p;
    }
    /* frames carry all five documented keys, unknown ones as null */
    ck_assert_ptr_nonnull(strstr(s, "{\"function\": \"nanosleep\", \"file\": null, \"line\": null, "
                                    "\"module\": \"/lib/x86_64-linux-gnu/libc.so.6\", \"offset\": "
                                    "921600, \"ip\": 139637976731648, \"inlined\": false}"));
    ck_assert_ptr_nonnull(strstr(s, "\"creators\": [{\"tid\": 4121, \"function\": \"worker_main\", "
                                    "\"label\": null}, {\"tid\": 4102"));
    ck_assert_ptr_nonnull(strstr(s, "\"context\": {\"cause\": \"exited\", \"cancelled_ago_ms\": 4200, "
                                    "\"label\": \"GET /users\", \"origin_tid\": 4102}"));
    ck_assert_ptr_nonnull(strstr(s, "\"tids\": [4123, 4124, 4125]"));
    ck_assert_ptr_nonnull(strstr(s, "\"ids\": [7],\n      \"tids\": []"));
    ck_assert_ptr_nonnull(strstr(s, "\"wakes_since_cancel\": 37,\n"));
    ck_assert_ptr_nonnull(strstr(s, "\"timer\": {\"interval_ms\": 100, \"armed\": true}"));
    ck_assert_ptr_nonnull(strstr(s, "\"exited_ago_ms\": 3100"));
    ck_assert_ptr_nonnull(strstr(s, "\"failing\": 5"));
    /* stuck first inside "new" */
    ck_assert(strstr(s, "00000000deadbeef") < strstr(s, "0123456789abcdef"));
    free(s);
}
END_TEST

START_TEST(json_empty_report_and_fail_on)
{
    struct lw_report r;
    fx_init_empty(&r);
    char *s = render(lw_render_json, &r);
    ck_assert_ptr_nonnull(strstr(s, "\"before\": null"));
    ck_assert_ptr_nonnull(strstr(s, "\"new\": [],\n  \"persisting\": [],\n  \"fixed\": [],"));
    ck_assert_ptr_nonnull(strstr(s, "\"line\": \"leakwatch: no new findings\""));
    free(s);
    struct fx x;
    fx_init(&x);
    fx_decide(&x.r, LW_FAIL_SOCKET);
    s = render(lw_render_json, &x.r);
    ck_assert_ptr_nonnull(strstr(s, "\"failing\": 1,\n    \"fail_on\": [\"socket\"]"));
    /* the socket finding and the summary's decision, nothing else */
    ck_assert_uint_eq(fx_count(s, "\"fails\": true"), 2);
    ck_assert_ptr_nonnull(strstr(s, "\"fails\": true,\n    \"line\""));
    free(s);
}
END_TEST

START_TEST(junit_failures_skipped_and_escaping)
{
    struct fx x;
    fx_init(&x);
    x.news[0].title = FX_STR("thread <poll> & \"q\" 'a'\x01");
    char *s = render(lw_render_junit, &x.r);
    ck_assert_ptr_nonnull(strstr(s, "<testsuite name=\"leakwatch\" tests=\"5\" failures=\"3\" "
                                    "errors=\"0\" skipped=\"1\">"));
    ck_assert_uint_eq(fx_count(s, "<testcase "), 5);
    ck_assert_uint_eq(fx_count(s, "<failure "), 3);
    ck_assert_uint_eq(fx_count(s, "<skipped "), 1);
    ck_assert_ptr_nonnull(strstr(s, "name=\"thread &lt;poll&gt; &amp; &quot;q&quot; &apos;a&apos;\xef\xbf\xbd [0123456789abcdef]\""));
    ck_assert_ptr_nonnull(strstr(s, "classname=\"leakwatch.socket\""));
    /* the failure body is the text report of the site */
    ck_assert_ptr_nonnull(strstr(s, "  created by worker_main in thread 4121 &lt;- created by"));
    ck_assert_ptr_null(strstr(s, "<poll>"));
    ck_assert_ptr_null(strchr(s, '\x01'));
    free(s);
    /* --fail-on without threads: thread findings pass with their text */
    fx_init(&x);
    fx_decide(&x.r, LW_FAIL_SOCKET);
    s = render(lw_render_junit, &x.r);
    ck_assert_uint_eq(fx_count(s, "<failure "), 1);
    ck_assert_ptr_nonnull(strstr(s, "failures=\"1\""));
    free(s);
}
END_TEST

START_TEST(junit_empty_has_one_passing_case)
{
    struct lw_report r;
    fx_init_empty(&r);
    char *s = render(lw_render_junit, &r);
    ck_assert_ptr_nonnull(strstr(s, "tests=\"1\" failures=\"0\""));
    ck_assert_ptr_nonnull(strstr(s, "<testcase classname=\"leakwatch\" name=\"no new findings\"/>"));
    ck_assert_ptr_nonnull(strstr(s, "SUMMARY: leakwatch: no new findings"));
    free(s);
}
END_TEST

START_TEST(sarif_levels_locations_and_uris)
{
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    char inside[4200];
    snprintf(inside, sizeof inside, "%s/src/a b.c", cwd);
    struct fx x;
    fx_init(&x);
    x.news[0].location_file = inside;
    x.news[0].location_line = 41;
    char *s = render(lw_render_sarif, &x.r);
    ck_assert_ptr_nonnull(strstr(s, "\"version\": \"2.1.0\""));
    ck_assert_ptr_nonnull(strstr(s, "\"name\": \"leakwatch\", \"version\": \"" LW_VERSION "\""));
    ck_assert_uint_eq(fx_count(s, "\"ruleId\": "), 4); /* 3 new + 1 persisting, fixed left out */
    ck_assert_uint_eq(fx_count(s, "\"level\": \"error\", \"message\""), 0);
    ck_assert_uint_eq(fx_count(s, "\"level\": \"error\",\n"), 3);
    ck_assert_uint_eq(fx_count(s, "\"level\": \"note\",\n"), 1);
    ck_assert_ptr_nonnull(strstr(s, "{\"uri\": \"src/a%20b.c\", \"uriBaseId\": \"%SRCROOT%\"}, "
                                    "\"region\": {\"startLine\": 41}"));
    /* outside the current directory: absolute file URI (stuck thread, no location set) */
    ck_assert_ptr_nonnull(strstr(s, "{\"uri\": \"file:///src/svc/server.c\"}, \"region\": {\"startLine\": 120}"));
    /* blocked frame as related location, site as fingerprint */
    ck_assert_ptr_nonnull(strstr(s, "\"relatedLocations\": [{\"id\": 1, \"physicalLocation\": "
                                    "{\"artifactLocation\": {\"uri\": \"file:///src/svc/poller.c\"}, "
                                    "\"region\": {\"startLine\": 22}}"));
    ck_assert_ptr_nonnull(strstr(s, "\"partialFingerprints\": {\"leakwatchSite/v1\": \"0123456789abcdef\"}"));
    /* socket: no frame with a file, falls back to no physical location */
    ck_assert_ptr_nonnull(strstr(s, "\"ruleId\": \"LW1003\""));
    free(s);
    fx_decide(&x.r, LW_FAIL_THREAD);
    s = render(lw_render_sarif, &x.r);
    ck_assert_uint_eq(fx_count(s, "\"level\": \"warning\",\n"), 2); /* stuck + socket */
    free(s);
}
END_TEST

START_TEST(markdown_table_and_details)
{
    struct fx x;
    fx_init(&x);
    x.news[0].title = FX_STR("a|b ```x``` <c>");
    char *s = render(lw_render_markdown, &x.r);
    ck_assert_ptr_nonnull(strstr(s, "**leakwatch: 5 new findings (1 stuck thread, 3 leaked threads, "
                                    "1 leaked socket), 1 persisting, 2 fixed**"));
    ck_assert_ptr_nonnull(strstr(s, "| new | leaked | thread | 3 | worker\\_main at worker.c:40 | nanosleep |\n"));
    ck_assert_uint_eq(fx_count(s, "\n| "), 6); /* header + 5 rows */
    ck_assert_uint_eq(fx_count(s, "<details>"), 4); /* new + persisting only */
    ck_assert_ptr_nonnull(strstr(s, "<summary>NEW: 3 leaked threads \xe2\x80\x94 a|b ```x``` &lt;c&gt; (site"));
    /* a title holding ``` gets a longer fence so it cannot close the block */
    ck_assert_ptr_nonnull(strstr(s, "````text\nNEW 3 leaked threads: a|b ```x``` <c>"));
    free(s);
    struct lw_report r;
    fx_init_empty(&r);
    s = render(lw_render_markdown, &r);
    ck_assert_ptr_nonnull(strstr(s, "**leakwatch: no new findings**"));
    ck_assert_ptr_null(strstr(s, "| verdict"));
    free(s);
}
END_TEST

static struct lw_ctx_node node(int id, int parent, enum lw_ctx_kind kind, const char *label, int tid)
{
    struct lw_ctx_node n = {0};
    n.id = id;
    n.parent = parent;
    n.kind = kind;
    n.label = FX_STR(label);
    n.owner_tid = tid;
    return n;
}

START_TEST(dump_groups_and_tree)
{
    struct fx x;
    fx_init(&x);
    struct lw_dump_group g[2] = {{0}};
    g[0].count = 3;
    g[0].tids = x.poll_ids;
    g[0].state = FX_STR("blocked in nanosleep for 4.2 s");
    g[0].verdict = LW_ST_LEAKED;
    g[0].name = FX_STR("poller");
    g[0].start_routine = FX_STR("poller_main");
    g[0].kind = LW_TK_TRACKED;
    g[0].stack = (struct lw_sym_stack){3, x.poll_blocked};
    g[0].creation_stack = (struct lw_sym_stack){4, x.poll_create};
    g[0].creators = x.chain;
    g[0].ncreators = 3;
    g[1].count = 1;
    g[1].tids = &x.chain[2].tid;
    g[1].state = FX_STR("running");
    g[1].kind = LW_TK_MAIN;
    struct lw_ctx_node c[5] = {node(1, -1, LW_CK_ROOT, NULL, 4100), node(2, 0, LW_CK_THREAD, "req \"1\"", 4102),
                               node(3, 1, LW_CK_THREAD, NULL, 4121), node(9, 3, LW_CK_THREAD, NULL, 1),
                               node(10, 42, LW_CK_EXPLICIT, NULL, 2)};
    c[1].owner_function = FX_STR("handle_request");
    c[1].cancel = FX_STR("cancelled 4.2 s ago (exited)");
    c[1].nthreads = 1;
    c[1].nsockets = 1;
    /* c[3] is its own parent: a cycle must not hang or repeat */
    c[3].parent = 3;
    struct lw_dump_fd fds[2] = {
        {7, LW_KIND_SOCKET, FX_STR("tcp 127.0.0.1:5000 -> 127.0.0.1:41234"), FX_STR("context #2 of thread 4102 (handle_request)"),
         LW_ST_LEAKED, false},
        {5, LW_KIND_FD, FX_STR("pipe"), NULL, LW_ST_NONE, true},
    };
    struct lw_dump d = {FX_STR("snap.json"), 4100, FX_STR("/bin/svc"), LW_TRIGGER_SIGNAL, 4, g, 2, c, 5, 0, 1, 0, fds, 2};
    int rc;
    char *s = fx_render_dump(&d, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(s, "leakwatch: snap.json (pid 4100, /bin/svc, signal snapshot): 4 threads, 0 timers, 1 socket, 0 other fds\n"));
    /* sockets are listed, the program's own first, foreign ones apart */
    ck_assert_ptr_nonnull(strstr(s, "sockets and fds:\n  fd 7 tcp 127.0.0.1:5000 -> 127.0.0.1:41234, owner context #2 of thread 4102 (handle_request)  [leaked]\n"
                                    "not seen opened (inherited, or opened behind leakwatch's back):\n  fd 5 pipe\n"));
    ck_assert_ptr_nonnull(strstr(s, "3 threads @ blocked in nanosleep for 4.2 s  [leaked]\n  name \"poller\", start routine poller_main, tracked\n  tids: 4123, 4124, 4125\n  stack:\n    #0 "));
    ck_assert_ptr_nonnull(strstr(s, "1 thread @ running  [\xe2\x80\x94]\n  main\n  tids: 4100\n\n"));
    free(s);
    s = fx_render_dump(&d, true, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(s, "#1 root owner thread 4100: 0 threads, 0 timers, 0 sockets\n"
                                    "  - #2 thread \"req \"1\"\" owner thread 4102 (handle_request), cancelled 4.2 s ago (exited): 1 thread, 0 timers, 1 socket\n"
                                    "    - #3 thread owner thread 4121"));
    ck_assert_ptr_nonnull(strstr(s, "contexts not reachable from the root:\n#9 thread"));
    ck_assert_ptr_nonnull(strstr(s, "\n#10 explicit"));
    ck_assert_uint_eq(fx_count(s, "#9 "), 1);
    free(s);
    struct lw_dump empty = {0};
    s = fx_render_dump(&empty, true, &rc);
    ck_assert_ptr_nonnull(strstr(s, "(no contexts)"));
    free(s);
    s = fx_render_dump(&empty, false, &rc);
    ck_assert_ptr_nonnull(strstr(s, "(no threads)"));
    free(s);
}
END_TEST

Suite *lw_suite_reports_formats(void)
{
    Suite *s = suite_create("reports_formats");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, json_escapes_every_hostile_string);
    tcase_add_test(tc, json_fields_and_order);
    tcase_add_test(tc, json_empty_report_and_fail_on);
    tcase_add_test(tc, junit_failures_skipped_and_escaping);
    tcase_add_test(tc, junit_empty_has_one_passing_case);
    tcase_add_test(tc, sarif_levels_locations_and_uris);
    tcase_add_test(tc, markdown_table_and_details);
    tcase_add_test(tc, dump_groups_and_tree);
    suite_add_tcase(s, tc);
    return s;
}
