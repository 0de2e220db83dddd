/* What displayed stacks show (lw_frames.c): leakwatch's frames nowhere,
 * thread-start plumbing not at the outer end, and the user's function
 * behind std::thread's trampoline as the thread's name. Stacks are built by
 * hand for the trimming rules, and from the -g fixture
 * build/tests/analyzer/symfix (real symbols) for the naming. */
#include <unistd.h>

#include "test_analyzer_util.h"

/* A model frame with malloc'd strings (lw_sym_stack_trim frees them). */
static struct lw_sym_frame fr(const char *fn, const char *mod)
{
    return (struct lw_sym_frame){
        .function = fn ? strdup(fn) : NULL,
        .module = mod ? strdup(mod) : NULL,
        .file = fn ? strdup("x.c") : NULL,
        .line = fn ? 1 : 0,
    };
}

static struct lw_sym_stack stack_of(const struct lw_sym_frame *f, size_t n)
{
    struct lw_sym_stack st = {n, malloc(n * sizeof(*f))};
    memcpy(st.frames, f, n * sizeof(*f));
    return st;
}

#define LW "/opt/lw/libleakwatch.so"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define CXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
#define EXE "/srv/app"
#define PY "/usr/bin/python3.11"

static const char *fn_at(const struct lw_sym_stack *st, size_t i)
{
    ck_assert_uint_lt(i, st->n);
    return st->frames[i].function ? st->frames[i].function : "(null)";
}

START_TEST(c_thread_keeps_only_user_frames)
{
    /* blocked: the hook, the user's poller, lw_thread_start, libc start */
    struct lw_sym_stack st = stack_of((struct lw_sym_frame[]){fr("nanosleep", LW), fr("poller", EXE),
                                                              fr("lw_thread_start", LW), fr("start_thread", LIBC),
                                                              fr("__clone3", LIBC)},
                                      5);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 2);
    ck_assert_uint_eq(st.n, 1);
    ck_assert_str_eq(fn_at(&st, 0), "poller");
    lw_sym_stack_free(&st);
    /* leakwatch frames in the middle go too; libc in the middle stays */
    st = stack_of((struct lw_sym_frame[]){fr("qsort", LIBC), fr("cmp", EXE), fr("lw_hook", LW), fr("main", EXE),
                                          fr("__libc_start_call_main", LIBC), fr(NULL, LIBC), fr("_start", EXE)},
                  7);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 3);
    ck_assert_uint_eq(st.n, 3);
    ck_assert_str_eq(fn_at(&st, 0), "qsort");
    ck_assert_str_eq(fn_at(&st, 1), "cmp");
    ck_assert_str_eq(fn_at(&st, 2), "main");
    lw_sym_stack_free(&st);
}
END_TEST

START_TEST(cxx_thread_plumbing_trimmed_at_both_ends)
{
    struct lw_sym_stack st = stack_of(
        (struct lw_sym_frame[]){
            fr("std::condition_variable::wait(std::unique_lock<std::mutex>&)", CXX), fr("Session::listen()", EXE),
            fr("void std::__invoke_impl<void, void (Session::*)(), Session*>(std::__invoke_memfun_deref)", EXE),
            fr("void std::thread::_Invoker<std::tuple<void (Session::*)(), Session*> >::_M_invoke<0ul, 1ul>()", EXE),
            fr("std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (*)()> > >::_M_run()", EXE),
            fr(NULL, CXX), fr("lw_thread_start", LW), fr("start_thread", LIBC), fr("clone3", LIBC)},
        9);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 6);
    ck_assert_uint_eq(st.n, 2);
    ck_assert_str_eq(fn_at(&st, 1), "Session::listen()");
    lw_sym_stack_free(&st);
    /* creation: _M_start_thread is std::thread's pthread_create */
    st = stack_of((struct lw_sym_frame[]){fr("pthread_create", LW),
                                          fr("std::thread::_M_start_thread(std::unique_ptr<std::thread::_State>)", CXX),
                                          fr("std::thread::thread<void (&)()>(void (&)())", EXE),
                                          fr("Session::start()", EXE)},
                  4);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 0);  /* cut short by stack_depth: nothing at the outer end */
    ck_assert_uint_eq(st.n, 2);
    ck_assert_str_eq(fn_at(&st, 0), "std::thread::thread<void (&)()>(void (&)())");
    ck_assert_str_eq(fn_at(&st, 1), "Session::start()");
    lw_sym_stack_free(&st);
}
END_TEST

START_TEST(python_bootstrap_and_only_plumbing)
{
    struct lw_sym_stack st = stack_of((struct lw_sym_frame[]){fr("pysleep", PY), fr("thread_run", PY),
                                                              fr("pythread_wrapper", PY), fr("start_thread", LIBC)},
                                      4);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 3);
    ck_assert_uint_eq(st.n, 1);
    ck_assert_str_eq(fn_at(&st, 0), "pysleep");
    lw_sym_stack_free(&st);
    /* a user's own thread_run is not Python's */
    st = stack_of((struct lw_sym_frame[]){fr("thread_run", EXE), fr("start_thread", LIBC)}, 2);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 1);
    ck_assert_str_eq(fn_at(&st, 0), "thread_run");
    lw_sym_stack_free(&st);
    /* only plumbing (and leakwatch): shown as it is, not "(no stack)" */
    st = stack_of((struct lw_sym_frame[]){fr("lw_hook", LW), fr("start_thread", LIBC), fr("clone", LIBC)}, 3);
    ck_assert_uint_eq(lw_sym_stack_trim(&st), 0);
    ck_assert_uint_eq(st.n, 2);
    ck_assert_str_eq(fn_at(&st, 0), "start_thread");
    lw_sym_stack_free(&st);
}
END_TEST

/* Runs the -g fixture (it writes a snapshot of itself) and returns it. */
static struct lw_snapshot *symfix(void)
{
    const char *fx = getenv("LW_SYMFIX");
    if (!fx)
        fx = "build/tests/analyzer/symfix";
    char out[] = "/tmp/lw-frames-XXXXXX";
    int fd = mkstemp(out);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(system(tu_fmt("%s %s", fx, out)) == 0, "fixture %s failed", fx);
    char err[512];
    struct lw_snapshot *s = lw_snapshot_load(out, 0, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    unlink(out);
    return s;
}

static const char *ref(int mod, uint64_t off)
{
    return tu_fmt("{\"ip\":%llu,\"module\":%d,\"offset\":%llu}", (unsigned long long)(0x1000 + off), mod,
                  (unsigned long long)off);
}

START_TEST(cxx_thread_named_by_its_user_frames)
{
    /* Real offsets of poller_main (a function address) and of a return
     * address into handle_request, from the fixture's own snapshot. */
    struct lw_snapshot *s0 = symfix();
    struct lw_symbolizer *z = lw_symbolizer_new();
    uint64_t poller = 0, into_handle = 0;
    for (size_t i = 0; i < s0->nthreads; i++) {
        const char *fn = s0->threads[i].has_start ? lw_frame_function(z, s0, &s0->threads[i].start) : NULL;
        if (fn && strcmp(fn, "poller_main") == 0)
            poller = s0->threads[i].start.offset;
    }
    for (size_t i = 1; i < s0->stacks[0].n; i++) {
        const struct lw_symres *r = lw_symbolize(z, s0, &s0->stacks[0].frames[i], true);
        if (r->locs[r->n - 1].function && strcmp(r->locs[r->n - 1].function, "handle_request") == 0)
            into_handle = s0->stacks[0].frames[i].offset;
    }
    ck_assert(poller && into_handle);

    /* Modules: 0 the fixture, 1 libstdc++, 2 libc, 3 leakwatch (the last
     * three missing on disk: unnamed frames, classified by module). */
    const char *mods = tu_fmt("[{\"path\":\"%s\",\"base\":4096,\"build_id\":\"%s\"},"
                              "{\"path\":\"/nonexistent/" "libstdc++.so.6\",\"base\":0},"
                              "{\"path\":\"/nonexistent/libc.so.6\",\"base\":0},"
                              "{\"path\":\"/nonexistent/libleakwatch.so\",\"base\":0}]",
                              s0->modules[0].path, s0->modules[0].build_id);
    /* 0: thread 20's blocked stack, reaching its start; 1: thread 22's
     * creation stack (thread 21's stack); 2: cut short (no plumbing). */
    const char *stacks = tu_fmt("[[%s,%s,%s,%s,%s],[%s,%s,%s,%s],[%s]]", ref(3, 0x10), ref(0, poller + 1),
                                ref(1, 0x200), ref(3, 0x20), ref(2, 0x30), ref(3, 0x10), ref(0, into_handle),
                                ref(3, 0x20), ref(2, 0x30), ref(0, into_handle));
    const char *trampoline = ref(1, 0x100);
    /* Each thread owns its context; 21's ended, so 20's and 22's did. */
    const char *ctx_fmt = "{\"id\":%d,\"parent\":%d,\"label\":null,\"kind\":\"thread\",\"owner_tid\":%d,"
                          "\"owner_start\":%s,\"created_ns\":0,\"cancelled_ns\":5000000000,\"cause\":\"exited\","
                          "\"cancel_origin\":3,\"background\":false}";
    const char *ctxs = tu_fmt("%s,%s,%s,%s", TU_ROOT, tu_fmt(ctx_fmt, 3, 1, 21, trampoline),
                              tu_fmt(ctx_fmt, 4, 3, 20, trampoline), tu_fmt(ctx_fmt, 5, 3, 22, trampoline));
    const char *threads = tu_fmt(
        "{\"tid\":1,\"kind\":\"main\",\"name\":\"app\",\"state\":\"running\",\"context\":1},"
        "{\"tid\":20,\"kind\":\"tracked\",\"name\":\"app\",\"start_routine\":%s,\"creator_tid\":21,\"context\":4,\"state\":\"blocked\","
        "\"blocked\":{\"call\":\"pthread_cond_wait\",\"family\":\"cond\",\"object\":4096,\"since_ns\":1,\"stack\":0}},"
        "{\"tid\":21,\"kind\":\"tracked\",\"name\":\"app\",\"start_routine\":%s,\"context\":3,\"state\":\"running\"},"
        "{\"tid\":22,\"kind\":\"tracked\",\"name\":\"app\",\"start_routine\":%s,\"creator_tid\":21,\"context\":5,"
        "\"creation_stack\":1,\"state\":\"running\"},"
        "{\"tid\":23,\"kind\":\"tracked\",\"name\":\"app\",\"start_routine\":%s,\"context\":1,\"creation_stack\":2,"
        "\"state\":\"running\"}",
        trampoline, trampoline, trampoline, trampoline);
    const char *doc = tu_fmt("{\"leakwatch_schema\":1,\"pid\":1,\"exe\":\"/srv/app\",\"trigger\":\"signal\","
                             "\"taken_at\":{\"realtime_ns\":1,\"monotonic_ns\":10000000000},\"modules\":%s,"
                             "\"stacks\":%s,\"contexts\":[%s],\"threads\":[%s],\"timers\":[],\"sockets\":[]}",
                             mods, stacks, ctxs, threads);
    struct lw_snapshot *s = tu_parse(doc);

    /* The blocked stack shows only the user's frame. */
    struct lw_sym_stack st;
    lw_stack_symbolize(z, s, 0, &st);
    ck_assert_uint_eq(st.n, 1);
    ck_assert_str_eq(st.frames[0].function, "poller_main");
    lw_sym_stack_free(&st);
    /* Named through the trampoline: by its blocked stack (20), by the
     * creation stack of a thread it created (21); cut short: unknown. */
    char *e = lw_thread_entry(z, s, 20, true, &s->threads[1].start);
    ck_assert_str_eq(e, "poller_main");
    free(e);
    e = lw_thread_entry(z, s, 21, true, &s->threads[2].start);
    ck_assert_str_eq(e, "handle_request");
    free(e);
    ck_assert_ptr_null(lw_thread_entry(z, s, 23, true, &s->threads[4].start));

    /* The report: title, start routine and creator chain use those names;
     * no stack shows leakwatch or libc start frames. */
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    struct lw_report *r = lw_diff(z, NULL, s, &o);
    const struct lw_finding *f20 = NULL, *f22 = NULL;
    for (size_t i = 0; i < r->n_new; i++) {
        if (r->new_findings[i].ids[0] == 20)
            f20 = &r->new_findings[i];
        if (r->new_findings[i].ids[0] == 22)
            f22 = &r->new_findings[i];
    }
    ck_assert_ptr_nonnull(f20);
    ck_assert_ptr_nonnull(f22);
    ck_assert_str_eq(f20->start_routine, "poller_main");
    ck_assert_str_eq(f20->title, "thread poller_main (blocked in pthread_cond_wait)");
    ck_assert_uint_eq(f20->ncreators, 2);
    ck_assert_str_eq(f20->creators[0].function, "handle_request");
    ck_assert_uint_eq(f22->creation_stack.n, 1);
    ck_assert_str_eq(f22->creation_stack.frames[0].function, "handle_request");
    /* 22 itself runs nothing known: the raw frame, as before */
    ck_assert_ptr_nonnull(strstr(f22->start_routine, "libstdc++.so.6+0x100"));
    /* nothing about the (missing) leakwatch library in the warnings */
    for (size_t i = 0; i < r->n_warnings; i++)
        ck_assert_ptr_null(strstr(r->warnings[i], "libleakwatch"));
    lw_report_free(r);
    lw_snapshot_free(s);
    lw_snapshot_free(s0);
    lw_symbolizer_free(z);
}
END_TEST

Suite *lw_suite_analyzer_frames(void)
{
    Suite *s = suite_create("analyzer_frames");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, c_thread_keeps_only_user_frames);
    tcase_add_test(tc, cxx_thread_plumbing_trimmed_at_both_ends);
    tcase_add_test(tc, python_bootstrap_and_only_plumbing);
    tcase_add_test(tc, cxx_thread_named_by_its_user_frames);
    suite_add_tcase(s, tc);
    return s;
}
