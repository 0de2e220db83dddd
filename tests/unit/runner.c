/* One check runner for every unit suite. Each tests/unit/test_*.c defines
 * `Suite *lw_suite_NAME(void)`; the build generates suites.h from them, so
 * adding a test file needs no edit here. Fork mode with per-test timeouts
 * (CK_DEFAULT_TIMEOUT) isolates crashes. `runner NAME...` runs only those
 * suites. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LW_SUITE(name) Suite *lw_suite_##name(void);
#include "suites.h"
#undef LW_SUITE

struct entry { const char *name; Suite *(*make)(void); };
#define LW_SUITE(name) {#name, lw_suite_##name},
static const struct entry all[] = {
#include "suites.h"
    {NULL, NULL}};
#undef LW_SUITE

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    for (const struct entry *e = all; e->name; e++) {
        int want = argc < 2;
        for (int i = 1; i < argc; i++)
            want |= strcmp(argv[i], e->name) == 0;
        if (!want)
            continue;
        if (!sr)
            sr = srunner_create(e->make());
        else
            srunner_add_suite(sr, e->make());
    }
    if (!sr) {
        fprintf(stderr, "runner: no suite matched\n");
        return 2;
    }
    srunner_run_all(sr, CK_NORMAL);
    int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    const char *res = getenv("LW_RESULTS_FILE");
    if (res) {
        FILE *f = fopen(res, "w");
        if (f) {
            fprintf(f, "%d %d\n", run - failed, failed);
            fclose(f);
        }
    }
    return failed ? 1 : 0;
}
