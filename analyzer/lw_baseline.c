/* lw_baseline.c — accepted sites: `KIND:SITE [owner=NAME]
 * [expires=YYYY-MM-DD] [# why]` lines, so a project adopts the gate with
 * known leaks and still fails on new ones. An entry past its expiry date is
 * no longer accepted and the report says so. --write-baseline writes the
 * current new findings in the same format.
 * Must never: accept a malformed line (exit 2 naming file:line), or
 * overwrite an existing baseline without --force.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lw_analyze.h"
#include "lw_arena.h"

int lw_read_text(const char *path, char **out, size_t *len, char *err, size_t errlen);

static const char *const base_kinds[] = {"thread", "timer", "socket", "fd", "unjoined", "stuck", "alive_at_exit", NULL};

void lw_today(char out[11])
{
    const char *env = getenv("LEAKWATCH_TODAY");
    if (env && strlen(env) == 10) {
        memcpy(out, env, 11);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static bool valid_date(const char *d, size_t n)
{
    if (n != 10 || d[4] != '-' || d[7] != '-')
        return false;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)d[i]))
            return false;
    int m = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
    return m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

static char *dupn(const char *s, size_t n)
{
    char *p = lw_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

__attribute__((format(printf, 5, 6)))
static int bfail(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s:%d: ", name, line);
    if (n > 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int parse_line(struct lw_baseline *b, const char *name, int lineno, const char *p, const char *end,
                      const char *today, char *err, size_t errlen)
{
    struct lw_base_entry e = {.line = lineno};
    int tok = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end || *p == '#')
            break;
        const char *t = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        size_t tl = (size_t)(p - t);
        if (tok++ == 0) {
            const char *colon = memchr(t, ':', tl);
            size_t kl = colon ? (size_t)(colon - t) : 0;
            const char *const *k = base_kinds;
            for (; colon && *k; k++)
                if (strlen(*k) == kl && memcmp(*k, t, kl) == 0)
                    break;
            if (!colon || !*k)
                return bfail(err, errlen, name, lineno,
                             "expected KIND:SITE with KIND thread, timer, socket, unjoined or stuck, got \"%.*s\"",
                             (int)(tl > 60 ? 60 : tl), t);
            size_t sl = tl - kl - 1;
            bool hexok = sl == 16;
            for (size_t i = 0; hexok && i < 16; i++)
                hexok = isxdigit((unsigned char)colon[1 + i]);
            if (!hexok)
                return bfail(err, errlen, name, lineno, "site must be 16 hex digits, got \"%.*s\"",
                             (int)(sl > 40 ? 40 : sl), colon + 1);
            e.kind = lw_xstrdup(*k);
            for (size_t i = 0; i < 16; i++)
                e.site[i] = (char)tolower((unsigned char)colon[1 + i]);
        } else if (tl > 6 && strncmp(t, "owner=", 6) == 0) {
            free(e.owner);
            e.owner = dupn(t + 6, tl - 6);
        } else if (tl >= 8 && strncmp(t, "expires=", 8) == 0) {
            if (!valid_date(t + 8, tl - 8)) {
                free(e.kind);
                free(e.owner);
                free(e.expires); /* from an earlier expires= on the line (found by fuzz_baseline) */
                return bfail(err, errlen, name, lineno, "expires= wants a date YYYY-MM-DD, got \"%.*s\"",
                             (int)(tl > 40 ? 40 : tl), t);
            }
            free(e.expires);
            e.expires = dupn(t + 8, 10);
        } else {
            free(e.kind);
            free(e.owner);
            free(e.expires);
            return bfail(err, errlen, name, lineno, "unknown field \"%.*s\" (expected owner=NAME, expires=YYYY-MM-DD or # comment)",
                         (int)(tl > 40 ? 40 : tl), t);
        }
    }
    if (!tok)
        return 0;
    e.expired = e.expires && strcmp(today, e.expires) > 0;
    b->e = lw_xrealloc(b->e, (b->n + 1) * sizeof(*b->e));
    b->e[b->n++] = e;
    return 0;
}

int lw_baseline_parse(struct lw_baseline *b, const char *name, const char *text, size_t len, const char *today,
                      char *err, size_t errlen)
{
    if (!b->path)
        b->path = lw_xstrdup(name);
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        lineno++;
        size_t end = e;
        while (end > pos && (text[end - 1] == '\r' || text[end - 1] == ' '))
            end--;
        if (memchr(text + pos, '\0', end - pos))
            return bfail(err, errlen, name, lineno, "NUL byte in baseline line");
        if (parse_line(b, name, lineno, text + pos, text + end, today, err, errlen) < 0)
            return -1;
        pos = e + 1;
    }
    return 0;
}

int lw_baseline_load(struct lw_baseline *b, const char *path, const char *today, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    if (lw_read_text(path, &buf, &len, err, errlen) < 0)
        return -1;
    int r = lw_baseline_parse(b, path, buf, len, today, err, errlen);
    free(buf);
    return r;
}

void lw_baseline_free(struct lw_baseline *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->e[i].kind);
        free(b->e[i].owner);
        free(b->e[i].expires);
    }
    free(b->e);
    free(b->path);
    memset(b, 0, sizeof(*b));
}

static const char *entry_word(enum lw_kind k, enum lw_verdict v)
{
    /* the --fail-on word: a leaked finding by its kind, others by verdict */
    return v == LW_VERDICT_LEAKED ? lw_kind_name(k) : lw_verdict_name(v);
}

bool lw_baseline_accepts(struct lw_baseline *b, enum lw_kind k, enum lw_verdict v, const char *site)
{
    const char *word = entry_word(k, v);
    for (size_t i = 0; i < b->n; i++) {
        struct lw_base_entry *e = &b->e[i];
        if (e->expired || strcmp(e->site, site) != 0)
            continue;
        /* "thread" covers every verdict of a thread site. */
        if (strcmp(e->kind, word) == 0 || (k == LW_KIND_THREAD && strcmp(e->kind, "thread") == 0)) {
            e->hits++;
            return true;
        }
    }
    return false;
}

int lw_baseline_write(const char *path, const struct lw_report *r, bool force, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST)
            snprintf(err, errlen, "%s: already exists; not overwriting it without --force", path);
        else
            snprintf(err, errlen, "%s: cannot create: %s", path, strerror(e));
        return -e;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -EIO;
    }
    fprintf(f, "# leakwatch baseline: accepted sites, one per line: KIND:SITE [owner=NAME] [expires=YYYY-MM-DD] [# why]\n");
    for (size_t i = 0; i < r->n_new; i++) {
        const struct lw_finding *x = &r->new_findings[i];
        fprintf(f, "# %s (%zu seen)\n%s:%s\n", x->title ? x->title : "", x->count, entry_word(x->kind, x->verdict),
                x->site);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return -EIO;
    }
    return 0;
}
