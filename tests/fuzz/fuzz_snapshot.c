/* libFuzzer target: snapshot loader + verdicts + diff + dump on arbitrary
 * bytes. The input is loaded as AFTER and diffed against itself as BEFORE
 * (same-process path) and against nothing; both must never crash, leak or
 * hang. Module paths in the input are opened only if they are regular
 * files. */
#include <stdint.h>
#include <stdlib.h>

#include "lw_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct lw_snapshot *s = lw_snapshot_parse("fuzz.json", (const char *)data, size, err, sizeof err);
    if (!s)
        return 0;
    struct lw_symbolizer *z = lw_symbolizer_new();
    struct lw_diff_opts o = {.grace_ms = 1000, .fail_on = LW_FAIL_ALL};
    lw_report_free(lw_diff(z, s, s, &o));
    lw_report_free(lw_diff(z, NULL, s, &o));
    lw_dump_free(lw_dump_build(z, s, 0));
    lw_symbolizer_free(z);
    lw_snapshot_free(s);
    return 0;
}
