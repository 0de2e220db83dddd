/* Parses the JSON and SARIF renderers' output back with jansson (this file
 * is in the analyzer runner because that one links jansson): every hostile
 * string must round-trip byte for byte, types must be what
 * docs/report-json.md says, and SARIF must be JSON with the 2.1.0 shape. */
#include <check.h>
#include <jansson.h>

#include "test_reports_fixture.h"

static json_t *parse(fx_render_fn fn, const struct lw_report *r)
{
    int rc = -1;
    char *s = fx_render(fn, r, false, 0, &rc);
    ck_assert_int_eq(rc, 0);
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    ck_assert_msg(j != NULL, "not JSON: %s at line %d: %s", err.text, err.line, s);
    free(s);
    return j;
}

START_TEST(json_round_trips_hostile_strings)
{
    static const char *names[] = {"q\"b\\s", "new\nline\r\ttab", "ctl\x01\x1f\x7f",
                                  "<xml>&amp;'", "caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct fx x;
        fx_init(&x);
        x.news[0].name = FX_STR(names[i]);
        x.news[0].ctx_label = FX_STR(names[i]);
        x.chain[0].function = FX_STR(names[i]);
        json_t *j = parse(lw_render_json, &x.r);
        /* "new" is worst first: the stuck thread, then the pollers */
        json_t *f = json_array_get(json_object_get(j, "new"), 1);
        ck_assert_str_eq(json_string_value(json_object_get(f, "name")), names[i]);
        ck_assert_str_eq(
            json_string_value(json_object_get(json_object_get(f, "context"), "label")), names[i]);
        json_t *c0 = json_array_get(json_object_get(f, "creators"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(c0, "function")), names[i]);
        json_decref(j);
    }
}
END_TEST

START_TEST(json_invalid_utf8_becomes_replacement)
{
    struct fx x;
    fx_init(&x);
    x.news[0].name = FX_STR("cut\xe6\x97");
    x.news[0].title = FX_STR("\xff\xfe overlong \xc0\xaf surrogate \xed\xa0\x80");
    json_t *j = parse(lw_render_json, &x.r);
    json_t *f = json_array_get(json_object_get(j, "new"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(f, "name")), "cut\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(f, "title")), " overlong "));
    json_decref(j);
}
END_TEST

START_TEST(json_types_match_the_documentation)
{
    struct fx x;
    fx_init(&x);
    x.news[0].creation_stack.frames[2].function = NULL;
    x.news[0].creation_stack.frames[2].file = NULL;
    json_t *j = parse(lw_render_json, &x.r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "leakwatch_diff")), 1);
    ck_assert(json_is_object(json_object_get(j, "before")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "grace_ms")), 1000);
    json_t *news = json_object_get(j, "new");
    ck_assert_uint_eq(json_array_size(news), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(news, 0), "verdict")), "stuck");
    json_t *p = json_array_get(news, 1);
    ck_assert_str_eq(json_string_value(json_object_get(p, "kind")), "thread");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "count")), 3);
    ck_assert_uint_eq(json_array_size(json_object_get(p, "tids")), 3);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(p, "tids"), 2)), 4125);
    json_t *b = json_object_get(p, "blocked");
    ck_assert_str_eq(json_string_value(json_object_get(b, "call")), "nanosleep");
    ck_assert_str_eq(json_string_value(json_object_get(b, "family")), "sleep");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "for_ms")), 95);
    ck_assert(json_is_null(json_object_get(b, "object")));
    ck_assert_int_eq(json_integer_value(json_object_get(b, "wakes_since_cancel")), 37);
    json_t *st = json_object_get(p, "creation_stack");
    ck_assert_uint_eq(json_array_size(st), 4);
    json_t *f2 = json_array_get(st, 2);
    ck_assert(json_is_null(json_object_get(f2, "function")));
    ck_assert(json_is_null(json_object_get(f2, "file")));
    ck_assert_int_eq(json_integer_value(json_object_get(f2, "line")), 71);
    ck_assert_int_eq(json_integer_value(json_object_get(f2, "offset")), 0x1400);
    json_t *ctx = json_object_get(p, "context");
    ck_assert_str_eq(json_string_value(json_object_get(ctx, "cause")), "exited");
    ck_assert_int_eq(json_integer_value(json_object_get(ctx, "cancelled_ago_ms")), 4200);
    ck_assert_uint_eq(json_array_size(json_object_get(p, "creators")), 3);
    json_t *sock = json_array_get(news, 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(sock, "socket"), "peer")),
                     "127.0.0.1:41234");
    ck_assert(json_is_null(json_object_get(sock, "blocked")));
    ck_assert_uint_eq(json_array_size(json_object_get(sock, "tids")), 0);
    json_t *sum = json_object_get(j, "summary");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(sum, "new"), "instances")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(sum, "fixed"), "leaked_timer")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "failing")), 5);
    json_decref(j);
}
END_TEST

START_TEST(json_empty_report_parses)
{
    struct lw_report r;
    fx_init_empty(&r);
    json_t *j = parse(lw_render_json, &r);
    ck_assert(json_is_null(json_object_get(j, "before")));
    ck_assert_uint_eq(json_array_size(json_object_get(j, "new")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "warnings")), 0);
    json_decref(j);
}
END_TEST

START_TEST(sarif_parses_with_required_shape)
{
    struct fx x;
    fx_init(&x);
    x.news[0].title = FX_STR("t\"\n<&>\x01");
    json_t *j = parse(lw_render_sarif, &x.r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "version")), "2.1.0");
    json_t *run = json_array_get(json_object_get(j, "runs"), 0);
    json_t *drv = json_object_get(json_object_get(run, "tool"), "driver");
    ck_assert_str_eq(json_string_value(json_object_get(drv, "name")), "leakwatch");
    json_t *rules = json_object_get(drv, "rules");
    ck_assert_uint_eq(json_array_size(rules), 7); /* LW1001..LW1007: fd and alive_at_exit have theirs */
    json_t *results = json_object_get(run, "results");
    ck_assert_uint_eq(json_array_size(results), 4);
    for (size_t i = 0; i < json_array_size(results); i++) {
        json_t *res = json_array_get(results, i);
        size_t ri = (size_t)json_integer_value(json_object_get(res, "ruleIndex"));
        ck_assert_str_eq(json_string_value(json_object_get(res, "ruleId")),
                         json_string_value(json_object_get(json_array_get(rules, ri), "id")));
        ck_assert(json_is_string(json_object_get(json_object_get(res, "message"), "text")));
    }
    json_t *poll = json_array_get(results, 1);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(poll, "message"), "text")),
                                 "t\"\\n<&>\\x01"));
    json_decref(j);
}
END_TEST

Suite *lw_suite_analyzer_reports_json(void)
{
    Suite *s = suite_create("analyzer_reports_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, json_round_trips_hostile_strings);
    tcase_add_test(tc, json_invalid_utf8_becomes_replacement);
    tcase_add_test(tc, json_types_match_the_documentation);
    tcase_add_test(tc, json_empty_report_parses);
    tcase_add_test(tc, sarif_parses_with_required_shape);
    suite_add_tcase(s, tc);
    return s;
}
