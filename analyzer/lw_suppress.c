/* lw_suppress.c — sanitizer-style suppressions: `TYPE:GLOB` lines.
 *
 *   thread:GLOB  any frame of the creation stack, the start routine or the
 *                thread name
 *   timer:GLOB   any frame of the timer's creation stack, or its callback
 *   socket:GLOB  any frame of the socket's creation stack, or its local or
 *                peer address
 *   fd:GLOB      any frame of the fd's creation stack, or its kind (epoll,
 *                eventfd, pipe, signalfd)
 *   top:GLOB     the start routine (thread) or callback (timer) only
 *   # comment, blank lines ignored
 * Must never: accept a malformed line silently (a typo would hide nothing
 * and the user would believe it does), or allocate per match.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lw_analyze.h"
#include "lw_arena.h"

static const struct {
    const char *word;
    enum lw_supp_type type;
} supp_types[] = {
    {"thread", LW_SUPP_THREAD},
    {"timer", LW_SUPP_TIMER},
    {"socket", LW_SUPP_SOCKET},
    {"top", LW_SUPP_TOP},
    {"fd", LW_SUPP_FD},
};

int lw_supp_parse(struct lw_suppressions *sp, const char *name, const char *text, size_t len, char *err,
                  size_t errlen)
{
    size_t pos = 0;
    int lineno = 0;
    const char *why = NULL; /* the comment line right above an entry */
    size_t why_len = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        lineno++;
        size_t b = pos, end = e;
        pos = e + 1;
        while (b < end && (text[b] == ' ' || text[b] == '\t' || text[b] == '\r'))
            b++;
        while (end > b && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
            end--;
        if (b == end) {
            why = NULL;
            continue;
        }
        if (text[b] == '#') {
            why = text + b + 1;
            why_len = end - b - 1;
            continue;
        }
        if (memchr(text + b, '\0', end - b)) {
            snprintf(err, errlen, "%s:%d: NUL byte in suppression line", name, lineno);
            return -1;
        }
        const char *colon = memchr(text + b, ':', end - b);
        int ti = -1;
        if (colon) {
            size_t wl = (size_t)(colon - (text + b));
            for (size_t k = 0; k < sizeof supp_types / sizeof supp_types[0]; k++)
                if (strlen(supp_types[k].word) == wl && memcmp(supp_types[k].word, text + b, wl) == 0)
                    ti = (int)k;
        }
        if (ti < 0 || colon + 1 >= text + end) {
            snprintf(err, errlen, "%s:%d: expected TYPE:PATTERN with TYPE thread, timer, socket, fd or top, got \"%.*s\"",
                     name, lineno, (int)(end - b > 60 ? 60 : end - b), text + b);
            return -1;
        }
        sp->rules = lw_xrealloc(sp->rules, (sp->n + 1) * sizeof(*sp->rules));
        struct lw_supp_rule *r = &sp->rules[sp->n++];
        r->type = supp_types[ti].type;
        r->text = lw_xmalloc(end - b + 1);
        memcpy(r->text, text + b, end - b);
        r->text[end - b] = 0;
        r->glob = lw_xstrdup(r->text + (colon + 1 - (text + b)));
        r->hits = 0;
        r->is_default = false;
        r->library = NULL;
        if (why) { /* "# LIBRARY: why" -> LIBRARY */
            while (why_len && (*why == ' ' || *why == '\t'))
                why++, why_len--;
            const char *c = memchr(why, ':', why_len);
            size_t n = c ? (size_t)(c - why) : why_len;
            if (n > 0 && n < 80) {
                r->library = lw_xmalloc(n + 1);
                memcpy(r->library, why, n);
                r->library[n] = 0;
            }
        }
    }
    return 0;
}

/* Reads a whole small text file (suppressions, baselines): capped at 16 MB. */
int lw_read_text(const char *path, char **out, size_t *len, char *err, size_t errlen);
int lw_read_text(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = lw_xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= ((size_t)16 << 20)) {
                fclose(f);
                free(buf);
                snprintf(err, errlen, "%s: larger than 16 MB", path);
                return -1;
            }
            cap *= 2;
            buf = lw_xrealloc(buf, cap);
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

int lw_supp_load(struct lw_suppressions *sp, const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    if (lw_read_text(path, &buf, &len, err, errlen) < 0)
        return -1;
    int r = lw_supp_parse(sp, path, buf, len, err, errlen);
    free(buf);
    return r;
}

int lw_supp_load_default(struct lw_suppressions *sp, char *err, size_t errlen)
{
    const char *env = getenv("LEAKWATCH_DEFAULT_SUPPRESSIONS");
    char path[4096] = "";
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            snprintf(err, errlen, "default suppressions: cannot find the executable (/proc/self/exe)");
            return -1;
        }
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        static const char *const rel[] = {"default.supp", "../share/leakwatch/default.supp"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0] && !*path; i++) {
            char p[sizeof path];
            snprintf(p, sizeof p, "%s/%s", exe, rel[i]);
            if (access(p, R_OK) == 0)
                snprintf(path, sizeof path, "%s", p);
        }
        if (!*path) {
            snprintf(err, errlen,
                     "default suppressions: no default.supp beside %s or in %s/../share/leakwatch (reinstall, or use "
                     "--no-default-suppressions)",
                     exe, exe);
            return -1;
        }
    }
    size_t first = sp->n;
    if (lw_supp_load(sp, path, err, errlen) < 0)
        return -1;
    for (size_t i = first; i < sp->n; i++)
        sp->rules[i].is_default = true;
    return 0;
}

void lw_supp_free(struct lw_suppressions *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        free(sp->rules[i].glob);
        free(sp->rules[i].text);
        free(sp->rules[i].library);
    }
    free(sp->rules);
    sp->rules = NULL;
    sp->n = 0;
}

static bool glob_hit(const char *glob, const char *s)
{
    return s && fnmatch(glob, s, 0) == 0;
}

static bool stack_hit(struct lw_symbolizer *z, const struct lw_snapshot *s, int si, const char *glob)
{
    if (si < 0)
        return false;
    const struct lw_snap_stack *st = &s->stacks[si];
    for (size_t i = 0; i < st->n; i++) {
        const struct lw_symres *r = lw_symbolize(z, s, &st->frames[i], i > 0);
        for (size_t k = 0; k < r->n; k++)
            if (glob_hit(glob, r->locs[k].function))
                return true;
    }
    return false;
}

static bool rule_hits(struct lw_symbolizer *z, const struct lw_supp_rule *r, const struct lw_inst *in)
{
    const struct lw_snapshot *s = in->snap;
    switch (in->kind) {
    case LW_KIND_THREAD: {
        const struct lw_snap_thread *t = &s->threads[in->idx];
        if (r->type != LW_SUPP_TOP && r->type != LW_SUPP_THREAD)
            return false;
        /* The raw start routine, and the name reports show for it (the
         * user's function behind std::thread's trampoline). */
        const char *start = t->has_start ? lw_frame_function(z, s, &t->start) : NULL;
        bool hit = glob_hit(r->glob, start);
        if (!hit) {
            char *entry = lw_thread_entry(z, s, t->tid, t->has_start, &t->start);
            hit = glob_hit(r->glob, entry);
            free(entry);
        }
        if (r->type == LW_SUPP_TOP)
            return hit;
        return hit || glob_hit(r->glob, t->name) || stack_hit(z, s, t->creation_stack, r->glob);
    }
    case LW_KIND_TIMER: {
        const struct lw_snap_timer *t = &s->timers[in->idx];
        const char *cb = t->has_callback ? lw_frame_function(z, s, &t->callback) : NULL;
        if (r->type == LW_SUPP_TOP)
            return glob_hit(r->glob, cb);
        if (r->type != LW_SUPP_TIMER)
            return false;
        return glob_hit(r->glob, cb) || stack_hit(z, s, t->creation_stack, r->glob);
    }
    case LW_KIND_FD: {
        const struct lw_snap_socket *k = &s->sockets[in->idx];
        if (r->type != LW_SUPP_FD)
            return false;
        return glob_hit(r->glob, k->kind) || stack_hit(z, s, k->creation_stack, r->glob);
    }
    case LW_KIND_SOCKET: {
        const struct lw_snap_socket *k = &s->sockets[in->idx];
        if (r->type != LW_SUPP_SOCKET)
            return false;
        return glob_hit(r->glob, k->local) || glob_hit(r->glob, k->peer) || stack_hit(z, s, k->creation_stack, r->glob);
    }
    }
    return false;
}

int lw_supp_match(struct lw_suppressions *sp, struct lw_symbolizer *z, const struct lw_inst *in, bool count)
{
    for (size_t i = 0; i < sp->n; i++)
        if (rule_hits(z, &sp->rules[i], in)) {
            if (count)
                sp->rules[i].hits++;
            return (int)i;
        }
    return -1;
}
