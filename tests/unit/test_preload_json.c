/* Unit tests of the shim's JSON writer and snapshot writer, parsed back with
 * jansson (fine in tests; the shim itself never links a JSON library). */
#include "../../preload/runtime/lw_runtime.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpl[64];

static struct lw_json *open_tmp(int *fd)
{
    strcpy(tmpl, "/tmp/lw-unit-json-XXXXXX");
    *fd = mkstemp(tmpl);
    ck_assert_int_ge(*fd, 0);
    struct lw_json *w = lw_json_open(*fd);
    ck_assert_ptr_nonnull(w);
    return w;
}

static json_t *close_and_parse(struct lw_json *w, int fd)
{
    ck_assert_int_eq(lw_json_close(w), 0);
    close(fd);
    json_error_t err;
    json_t *j = json_load_file(tmpl, JSON_DECODE_ANY, &err);
    ck_assert_msg(j != NULL, "parse error: %s at line %d col %d", err.text, err.line, err.column);
    unlink(tmpl);
    return j;
}

START_TEST(json_nesting_and_scalars)
{
    int fd;
    struct lw_json *w = open_tmp(&fd);
    lw_json_obj_begin(w);
    lw_json_kint(w, "neg", INT64_MIN);
    lw_json_key(w, "big");
    lw_json_uint(w, UINT64_C(1) << 62);
    lw_json_kbool(w, "t", true);
    lw_json_kbool(w, "f", false);
    lw_json_knull(w, "n");
    lw_json_kstr(w, "nullstr", NULL);
    lw_json_key(w, "arr");
    lw_json_arr_begin(w);
    lw_json_arr_end(w);
    lw_json_key(w, "nested");
    lw_json_arr_begin(w);
    for (int i = 0; i < 3; i++) {
        lw_json_obj_begin(w);
        lw_json_kint(w, "i", i);
        lw_json_key(w, "inner");
        lw_json_arr_begin(w);
        lw_json_int(w, i);
        lw_json_str(w, "x");
        lw_json_null(w);
        lw_json_arr_end(w);
        lw_json_obj_end(w);
    }
    lw_json_arr_end(w);
    lw_json_key(w, "empty");
    lw_json_obj_begin(w);
    lw_json_obj_end(w);
    lw_json_obj_end(w);
    json_t *j = close_and_parse(w, fd);
    ck_assert(json_is_object(j));
    ck_assert(json_integer_value(json_object_get(j, "neg")) == INT64_MIN);
    ck_assert(json_integer_value(json_object_get(j, "big")) == (json_int_t)(UINT64_C(1) << 62));
    ck_assert(json_is_true(json_object_get(j, "t")));
    ck_assert(json_is_false(json_object_get(j, "f")));
    ck_assert(json_is_null(json_object_get(j, "n")));
    ck_assert(json_is_null(json_object_get(j, "nullstr")));
    ck_assert_int_eq(json_array_size(json_object_get(j, "arr")), 0);
    json_t *nested = json_object_get(j, "nested");
    ck_assert_int_eq(json_array_size(nested), 3);
    json_t *in2 = json_object_get(json_array_get(nested, 2), "inner");
    ck_assert_int_eq(json_integer_value(json_array_get(in2, 0)), 2);
    ck_assert_str_eq(json_string_value(json_array_get(in2, 1)), "x");
    ck_assert(json_is_null(json_array_get(in2, 2)));
    ck_assert(json_is_object(json_object_get(j, "empty")));
    json_decref(j);
}
END_TEST

START_TEST(json_escaping)
{
    int fd;
    struct lw_json *w = open_tmp(&fd);
    const char *tricky = "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f end";
    const char *utf8 = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80";
    const char *invalid = "bad\xff\xfe and \xc3 cut";
    lw_json_obj_begin(w);
    lw_json_kstr(w, "tricky", tricky);
    lw_json_kstr(w, "utf8", utf8);
    lw_json_kstr(w, "invalid", invalid);
    lw_json_kstr(w, "key \"with\" quotes", "v");
    lw_json_obj_end(w);
    json_t *j = close_and_parse(w, fd);
    ck_assert_str_eq(json_string_value(json_object_get(j, "tricky")), tricky);
    ck_assert_str_eq(json_string_value(json_object_get(j, "utf8")), utf8);
    ck_assert_str_eq(json_string_value(json_object_get(j, "invalid")),
                     "bad\xef\xbf\xbd\xef\xbf\xbd and \xef\xbf\xbd cut");
    ck_assert_str_eq(json_string_value(json_object_get(j, "key \"with\" quotes")), "v");
    json_decref(j);
}
END_TEST

START_TEST(json_large_output)
{
    int fd;
    struct lw_json *w = open_tmp(&fd);
    char big[100000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    lw_json_arr_begin(w);
    for (int i = 0; i < 20000; i++)
        lw_json_int(w, i);
    lw_json_str(w, big);
    lw_json_arr_end(w);
    json_t *j = close_and_parse(w, fd);
    ck_assert_int_eq(json_array_size(j), 20001);
    ck_assert_int_eq(json_integer_value(json_array_get(j, 19999)), 19999);
    ck_assert_int_eq(strlen(json_string_value(json_array_get(j, 20000))), sizeof big - 1);
    json_decref(j);
}
END_TEST

START_TEST(json_write_error_reported)
{
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        return; /* no /dev/full here */
    struct lw_json *w = lw_json_open(fd);
    lw_json_arr_begin(w);
    for (int i = 0; i < 100000; i++)
        lw_json_int(w, i);
    lw_json_arr_end(w);
    ck_assert_int_eq(lw_json_close(w), -ENOSPC);
    close(fd);
}
END_TEST

START_TEST(json_unbalanced_is_error)
{
    int fd;
    struct lw_json *w = open_tmp(&fd);
    lw_json_obj_begin(w);
    ck_assert_int_lt(lw_json_close(w), 0);
    close(fd);
    unlink(tmpl);
}
END_TEST

START_TEST(output_pattern)
{
    char out[LW_PATH_MAX];
    strcpy(lw_init_cwd, "/work/dir");
    ck_assert_int_eq(lw_expand_output("snap-%p-%n.json", 7, out, sizeof out), 0);
    char want[128];
    snprintf(want, sizeof want, "/work/dir/snap-%d-7.json", getpid());
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(lw_expand_output("/abs/%e-%%-%q.json", 1, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "-%-%q.json"));
    ck_assert(strncmp(out, "/abs/", 5) == 0);
    ck_assert_int_eq(lw_expand_output("/t/%t", 1, out, sizeof out), 0);
    ck_assert_int_gt(atol(out + 3), 1600000000);
    char longpat[LW_PATH_MAX];
    memset(longpat, 'a', sizeof longpat - 1);
    longpat[sizeof longpat - 1] = 0;
    ck_assert_int_eq(lw_expand_output(longpat, 1, out, sizeof out), -ENAMETOOLONG);
}
END_TEST

/* A whole snapshot of this (unit test) process, parsed back. */
START_TEST(snapshot_roundtrip)
{
    lw_options_defaults(&lw_opt);
    lw_opt.quiet = 1;
    lw_log_open("stderr", true);
    lw_real_init();
    ck_assert_int_eq(lw_registry_init(), 0);
    ck_assert_int_eq(lw_ctx_init(), 0);
    ck_assert_int_eq(lw_objects_init(), 0);
    lw_stack_init();
    struct lw_thread *t = lw_reg_alloc();
    if (t)
        lw_reg_publish(t);
    t->kind = LW_TK_MAIN;
    t->tid = getpid();
    t->ctx = LW_CTX_ROOT;
    t->cstack_n = lw_stack_capture(lw_thread_cstack(t), lw_stack_depth(), 0);
    lw_ctx_id e = lw_ctx_new(LW_CTX_ROOT, LW_CK_EXPLICIT, "label \"x\"", getpid(), 0, false);
    atomic_store(&lw_state, LW_ST_RUN);
    char dir[] = "/tmp/lw-unit-snap-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/s.json", dir);
    ck_assert_int_eq(lw_snapshot_write(LW_TRIG_API, path), 0);
    /* never overwrites */
    ck_assert_int_eq(lw_snapshot_write(LW_TRIG_API, path), -EEXIST);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    ck_assert_msg(j != NULL, "%s", err.text);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "leakwatch_schema")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "trigger")), "api");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")), getpid());
    json_t *threads = json_object_get(j, "threads");
    ck_assert_int_ge(json_array_size(threads), 1);
    json_t *main = json_array_get(threads, 0);
    ck_assert_str_eq(json_string_value(json_object_get(main, "kind")), "main");
    json_t *cs = json_object_get(main, "creation_stack");
    ck_assert(json_is_integer(cs));
    json_t *stack = json_array_get(json_object_get(j, "stacks"), (size_t)json_integer_value(cs));
    ck_assert_int_eq((int)json_array_size(stack), t->cstack_n);
    json_t *f0 = json_array_get(stack, 0);
    ck_assert_int_ge(json_integer_value(json_object_get(f0, "module")), 0);
    json_t *ctxs = json_object_get(j, "contexts");
    ck_assert_int_eq(json_array_size(ctxs), 2);
    json_t *c1 = json_array_get(ctxs, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(c1, "id")), e);
    ck_assert_str_eq(json_string_value(json_object_get(c1, "label")), "label \"x\"");
    ck_assert_str_eq(json_string_value(json_object_get(c1, "kind")), "explicit");
    json_t *mods = json_object_get(j, "modules");
    ck_assert_int_gt(json_array_size(mods), 2);
    ck_assert(json_is_array(json_object_get(j, "timers")));
    ck_assert(json_is_array(json_object_get(j, "sockets")));
    json_decref(j);
    /* bad directory: an error, nothing written */
    ck_assert_int_lt(lw_snapshot_write(LW_TRIG_API, "/nonexistent-dir/x.json"), 0);
    unlink(path);
    rmdir(dir);
    atomic_store(&lw_state, LW_ST_OFF);
}
END_TEST

Suite *lw_suite_preload_json(void)
{
    Suite *s = suite_create("preload_json");
    TCase *t = tcase_create("writer");
    tcase_add_test(t, json_nesting_and_scalars);
    tcase_add_test(t, json_escaping);
    tcase_add_test(t, json_large_output);
    tcase_add_test(t, json_write_error_reported);
    tcase_add_test(t, json_unbalanced_is_error);
    suite_add_tcase(s, t);
    TCase *sn = tcase_create("snapshot");
    tcase_add_test(sn, output_pattern);
    tcase_add_test(sn, snapshot_roundtrip);
    suite_add_tcase(s, sn);
    return s;
}
