/* libFuzzer target: the LEAKWATCH_OPTIONS parser (preload/core/lw_options.c,
 * linked directly). Checks more than "no crash": after any input every
 * option is within its documented range and both path buffers are
 * NUL-terminated, and the number of complaints is bounded by the number of
 * ':'-separated items. lw_log is stubbed: the parser must not reach it
 * except through the error callback. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../preload/core/lw_core.h"

void lw_log(const char *fmt, ...) { (void)fmt; }

/* lw_options_each: count the options, check every key and string value */
static int option_calls;
static void on_option(void *arg, const char *key, enum lw_optv type, const char *str, int num)
{
    (void)arg, (void)num;
    if (!key || (type == LW_OPTV_STR && (!str || strlen(str) >= LW_PATH_MAX)))
        abort();
    option_calls++;
}

static size_t complaints;
static void on_err(const char *msg, void *arg)
{
    (void)arg;
    /* messages are formatted into a 300-byte buffer */
    if (strlen(msg) >= 300 || strncmp(msg, "LEAKWATCH_OPTIONS: ", 19) != 0)
        abort();
    complaints++;
}

#define IN(v, lo, hi) ((v) >= (lo) && (v) <= (hi))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    size_t items = 1;
    for (size_t i = 0; i < size && s[i]; i++)
        items += s[i] == ':';
    struct lw_options o;
    lw_options_defaults(&o);
    complaints = 0;
    int bad = lw_options_parse(&o, s, on_err, NULL);
    if (bad < 0 || (size_t)bad != complaints || complaints > items)
        abort();
    if (!memchr(o.output, 0, sizeof o.output) || !memchr(o.log, 0, sizeof o.log) || !o.output[0] ||
        !o.log[0])
        abort();
    if (!IN(o.at_start, 0, 1) || !IN(o.at_exit, 0, 1) || !IN(o.quiet, 0, 1) ||
        !IN(o.enabled, 0, 1) || !IN(o.help, 0, 1) || !IN(o.exit_grace_ms, 0, 3600000) ||
        !IN(o.interval_ms, 0, 86400000) || !IN(o.stack_depth, 1, LW_MAX_DEPTH) ||
        !IN(o.signo, 0, 64) || o.signo == 9 || o.signo == 19)
        abort();
    (void)lw_signame(o.signo);
    option_calls = 0;
    lw_options_each(&o, on_option, NULL);
    if (option_calls < 1)
        abort();
    free(s);
    return 0;
}
