/* libFuzzer target: the baseline parser (KIND:SITE [owner=] [expires=]). */
#include <stdint.h>
#include <stdlib.h>

#include "lw_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct lw_baseline b = {0};
    lw_baseline_parse(&b, "fuzz.baseline", (const char *)data, size, "2025-01-01", err, sizeof err);
    for (size_t i = 0; i < b.n; i++)
        lw_baseline_accepts(&b, LW_KIND_THREAD, LW_VERDICT_LEAKED, b.e[i].site);
    lw_baseline_free(&b);
    return 0;
}
