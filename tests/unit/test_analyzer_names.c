/* Names of the user's code: C++ and both Rust mangling schemes demangled
 * (lw_symbolize.c, GNU libiberty). */
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

Suite *lw_suite_analyzer_names(void)
{
    Suite *s = suite_create("analyzer_names");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, demangles_cxx_and_both_rust_schemes);
    suite_add_tcase(s, tc);
    return s;
}
