/* libFuzzer target: the suppressions parser (TYPE:GLOB lines). */
#include <stdint.h>
#include <stdlib.h>

#include "lw_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct lw_suppressions sp = {0};
    lw_supp_parse(&sp, "fuzz.supp", (const char *)data, size, err, sizeof err);
    lw_supp_free(&sp);
    return 0;
}
