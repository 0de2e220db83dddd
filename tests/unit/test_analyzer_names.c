/* Names of the user's code: C++ and both Rust mangling schemes demangled
 * (lw_symbolize.c, GNU libiberty); runtime frames recognised so threads are
 * named after the user's callable (lw_frames.c). The whole chain on real
 * programs is in the golden cases cxx_async, cxx_jthread, rust_ticker_O*. */
#include "test_analyzer_util.h"

static void expect_demangled(const char *mangled, const char *want)
{
    char *d = lw_demangle(mangled);
    ck_assert_msg(d != NULL, "%s: not demangled", mangled);
    ck_assert_str_eq(d, want);
    free(d);
}

START_TEST(demangles_cxx_and_both_rust_schemes)
{
    expect_demangled("_ZN7Session6listenEv", "Session::listen()");
    /* Rust legacy: the C++-like form with a trailing hash, which is dropped */
    expect_demangled("_ZN11rust_ticker6ticker17hade1683b03c9223aE", "rust_ticker::ticker");
    expect_demangled("_ZN3std2rt10lang_start17h1234567890abcdefE", "std::rt::lang_start");
    /* Rust v0 (std's start trampoline, as rustc 1.95 emits it) */
    expect_demangled("_RNvNvMs0_NtNtNtCsjrHSEGnQ3l9_3std3sys6thread4unixNtB7_6Thread3new12thread_start",
                     "<std::sys::thread::unix::Thread>::new::thread_start");
    expect_demangled("_RNvCs1234_7mycrate4main", "mycrate::main");
    /* not mangled, or not valid: no answer (the raw name is shown) */
    ck_assert_ptr_null(lw_demangle("main"));
    ck_assert_ptr_null(lw_demangle("_Rnot_a_name"));
    ck_assert_ptr_null(lw_demangle(NULL));
}
END_TEST

/* Runtime frames that thread names skip: the user's code is what is left. */
START_TEST(toolchain_frames)
{
    const char *exe = "/srv/app", *cxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
    /* C++ templates instantiated from the toolchain's headers */
    ck_assert(lw_frame_is_toolchain(exe, "std::thread::_Invoker<std::tuple<void (*)()> >::_M_invoke<0ul>()",
                                    "/usr/include/c++/12/bits/std_thread.h"));
    ck_assert(lw_frame_is_toolchain(exe, "void std::vector<int>::push_back(int)", NULL));
    ck_assert(lw_frame_is_toolchain(cxx, NULL, NULL));
    ck_assert(!lw_frame_is_toolchain(exe, "wait_for_config(std::shared_future<int>)", "/src/a.cpp"));
    ck_assert(!lw_frame_is_toolchain(exe, "Pool::start(int)::{lambda(std::stop_token)#1}::operator()", NULL));
    /* Rust's std, statically linked: its remapped paths and names */
    ck_assert(lw_frame_is_toolchain(exe, "<std::sys::thread::unix::Thread>::new::thread_start",
                                    "library/std/src/sys/thread/unix.rs"));
    ck_assert(lw_frame_is_toolchain(exe, "std::sys::backtrace::__rust_begin_short_backtrace",
                                    "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/sys/backtrace.rs"));
    ck_assert(lw_frame_is_toolchain(exe, "core::ops::function::FnOnce::call_once", NULL));
    ck_assert(!lw_frame_is_toolchain(exe, "rust_ticker::ticker", "/src/rust_ticker.rs"));
    ck_assert(!lw_frame_is_toolchain(exe, "<mycrate::Foo as core::ops::drop::Drop>::drop", NULL));
    /* a user function is not runtime code whatever it calls */
    ck_assert(!lw_frame_is_toolchain(exe, "main", NULL));
}
END_TEST

Suite *lw_suite_analyzer_names(void)
{
    Suite *s = suite_create("analyzer_names");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, demangles_cxx_and_both_rust_schemes);
    tcase_add_test(tc, toolchain_frames);
    suite_add_tcase(s, tc);
    return s;
}
