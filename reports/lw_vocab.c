/* lw_vocab.c — the word tables generated from lw_vocab.h's lists, and the
 * --fail-on words. Pure data and lookups: no allocation, no I/O.
 */
#include "lw_vocab.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LW_WORD_(n, s) s,
#define LW_VOCAB_TABLE_(name, LIST)                                                                                 \
    static const char *const name##_words[] = {LIST(LW_WORD_)};                                                      \
    const struct lw_vocab lw_vocab_##name = {name##_words, sizeof name##_words / sizeof name##_words[0]};

LW_VOCAB_TABLE_(kind, LW_KIND_LIST)
LW_VOCAB_TABLE_(verdict, LW_VERDICT_LIST)
LW_VOCAB_TABLE_(status, LW_STATUS_LIST)
LW_VOCAB_TABLE_(family, LW_FAMILY_LIST)
LW_VOCAB_TABLE_(cause, LW_CAUSE_LIST)
LW_VOCAB_TABLE_(trigger, LW_TRIGGER_LIST)
LW_VOCAB_TABLE_(thread_kind, LW_THREAD_KIND_LIST)
LW_VOCAB_TABLE_(thread_state, LW_THREAD_STATE_LIST)
LW_VOCAB_TABLE_(ctx_kind, LW_CTX_KIND_LIST)

static const char *word(const struct lw_vocab *v, int i, const char *none)
{
    return i >= 0 && (size_t)i < v->n ? v->words[i] : none;
}

int lw_vocab_find(const struct lw_vocab *v, const char *w, size_t n)
{
    for (size_t i = 0; i < v->n; i++)
        if (strlen(v->words[i]) == n && strncmp(v->words[i], w, n) == 0)
            return (int)i;
    return -1;
}

const char *lw_kind_name(enum lw_kind k) { return word(&lw_vocab_kind, (int)k, "unknown"); }
const char *lw_verdict_name(enum lw_verdict v) { return word(&lw_vocab_verdict, (int)v, "unknown"); }
const char *lw_status_name(enum lw_status s) { return s == LW_ST_NONE ? NULL : word(&lw_vocab_status, (int)s - 1, "unknown"); }
const char *lw_family_name(enum lw_family f) { return word(&lw_vocab_family, (int)f, "other"); }
const char *lw_cause_name(enum lw_cause c) { return c == LW_CAUSE_NONE ? NULL : word(&lw_vocab_cause, (int)c, "unknown"); }
const char *lw_trigger_name(enum lw_trigger t) { return word(&lw_vocab_trigger, (int)t, "unknown"); }
const char *lw_thread_kind_name(enum lw_thread_kind k) { return word(&lw_vocab_thread_kind, (int)k, "unknown"); }
const char *lw_thread_state_name(enum lw_thread_state s) { return word(&lw_vocab_thread_state, (int)s, "unknown"); }
const char *lw_ctx_kind_name(enum lw_ctx_kind k) { return word(&lw_vocab_ctx_kind, (int)k, "unknown"); }

unsigned lw_fail_bit(enum lw_kind k, enum lw_verdict v)
{
    return v == LW_VERDICT_LEAKED ? LW_FAIL_KIND(k) : LW_FAIL_VERDICT(v);
}

const char *lw_fail_word(unsigned b)
{
    if (b < (unsigned)LW_KIND_COUNT)
        return lw_kind_name((enum lw_kind)b);
    return lw_verdict_name((enum lw_verdict)(b - (unsigned)LW_KIND_COUNT + 1));
}

int lw_fail_on_parse(const char *arg, unsigned *mask, char *err, size_t errlen)
{
    unsigned m = 0;
    const char *p = arg;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t wn = n > 1 && p[n - 1] == 's' ? n - 1 : n; /* "threads" */
        unsigned bit = 0;
        bool found = false;
        for (unsigned b = 0; b < LW_FAIL_NBITS && !found; b++) {
            const char *w = lw_fail_word(b);
            if ((strlen(w) == n && strncmp(w, p, n) == 0) || (strlen(w) == wn && strncmp(w, p, wn) == 0)) {
                bit = 1u << b;
                found = true;
            }
        }
        if (!found && n == 3 && strncmp(p, "all", 3) == 0)
            bit = LW_FAIL_ALL, found = true;
        if (!found && n == 4 && strncmp(p, "none", 4) == 0)
            found = true;
        if (!found) {
            snprintf(err, errlen, "unknown kind \"%.*s\" (", (int)n, p);
            size_t l = strlen(err);
            for (unsigned b = 0; b < LW_FAIL_NBITS && l < errlen; b++) {
                snprintf(err + l, errlen - l, "%s%s", b ? ", " : "", lw_fail_word(b));
                l = strlen(err);
            }
            if (l < errlen)
                snprintf(err + l, errlen - l, ")");
            return -1;
        }
        m |= bit;
        p += n + (e ? 1 : 0);
    }
    *mask = m;
    return 0;
}
