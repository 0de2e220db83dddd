/* lw_json.c — buffered JSON writer over write(2) (declared in lw_snapshot.h;
 * the snapshot-specific helpers live in lw_snapshot.c).
 *
 * Owns: escaping, comma/nesting bookkeeping and the first write error.
 * Runs only in the snapshot writer (never in a signal handler), so it may
 * allocate its own buffer. Must never: use stdio or a JSON library (the host
 * may carry its own), or call write() through the interposed name.
 */
#include "lw_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LW_JSON_BUF 65536
#define LW_JSON_DEPTH 64

struct lw_json {
    int fd;
    int err;
    size_t len;
    int depth;
    bool first[LW_JSON_DEPTH]; /* nothing written yet at this level */
    bool after_key;
    char buf[LW_JSON_BUF];
};

struct lw_json *lw_json_open(int fd)
{
    struct lw_json *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = fd;
    w->first[0] = true;
    return w;
}

static void lw_json_flush(struct lw_json *w)
{
    if (w->len && !w->err) {
        int r = lw_sys_write_all(w->fd, w->buf, w->len);
        if (r < 0)
            w->err = r;
    }
    w->len = 0;
}

int lw_json_close(struct lw_json *w)
{
    if (!w)
        return -EINVAL;
    if (w->depth != 0 && !w->err)
        w->err = -EPROTO; /* unbalanced: a writer bug, never a valid file */
    lw_json_flush(w);
    int err = w->err;
    free(w);
    return err;
}

static void lw_put(struct lw_json *w, const char *s, size_t n)
{
    if (w->len + n > sizeof w->buf) {
        lw_json_flush(w);
        if (n > sizeof w->buf) {
            if (!w->err) {
                int r = lw_sys_write_all(w->fd, s, n);
                if (r < 0)
                    w->err = r;
            }
            return;
        }
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void lw_putc(struct lw_json *w, char c)
{
    if (w->len + 1 > sizeof w->buf)
        lw_json_flush(w);
    w->buf[w->len++] = c;
}

/* Comma before a value unless it is the first at this level or follows a key. */
static void lw_sep(struct lw_json *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        lw_putc(w, ',');
    w->first[w->depth] = false;
}

static void lw_open(struct lw_json *w, char c)
{
    lw_sep(w);
    lw_putc(w, c);
    if (w->depth + 1 < LW_JSON_DEPTH)
        w->depth++;
    w->first[w->depth] = true;
}

static void lw_close(struct lw_json *w, char c)
{
    lw_putc(w, c);
    if (w->depth > 0)
        w->depth--;
}

void lw_json_obj_begin(struct lw_json *w)
{
    lw_open(w, '{');
}
void lw_json_obj_end(struct lw_json *w)
{
    lw_close(w, '}');
}
void lw_json_arr_begin(struct lw_json *w)
{
    lw_open(w, '[');
}
void lw_json_arr_end(struct lw_json *w)
{
    lw_close(w, ']');
}

static void lw_put_string(struct lw_json *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    lw_putc(w, '"');
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    for (; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f)
            continue;
        if (c >= 0x80) {
            /* Pass valid UTF-8 through; replace invalid bytes with U+FFFD
             * so the file always parses (thread names come from /proc). */
            int n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
            bool ok = n > 0 && !(c == 0xc0 || c == 0xc1 || c > 0xf4);
            for (int i = 1; ok && i <= n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok) {
                p += n;
                continue;
            }
        }
        lw_put(w, (const char *)run, (size_t)(p - run));
        char e[8];
        switch (c) {
        case '"': lw_put(w, "\\\"", 2); break;
        case '\\': lw_put(w, "\\\\", 2); break;
        case '\n': lw_put(w, "\\n", 2); break;
        case '\r': lw_put(w, "\\r", 2); break;
        case '\t': lw_put(w, "\\t", 2); break;
        case '\b': lw_put(w, "\\b", 2); break;
        case '\f': lw_put(w, "\\f", 2); break;
        default:
            if (c >= 0x80) {
                lw_put(w, "\\ufffd", 6);
            } else {
                e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
                e[4] = hex[c >> 4]; e[5] = hex[c & 15];
                lw_put(w, e, 6);
            }
        }
        run = p + 1;
    }
    lw_put(w, (const char *)run, (size_t)(p - run));
    lw_putc(w, '"');
}

void lw_json_key(struct lw_json *w, const char *k)
{
    lw_sep(w);
    lw_put_string(w, k);
    lw_putc(w, ':');
    w->after_key = true;
}

void lw_json_str(struct lw_json *w, const char *s)
{
    if (!s) {
        lw_json_null(w);
        return;
    }
    lw_sep(w);
    lw_put_string(w, s);
}

void lw_json_int(struct lw_json *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);
    lw_sep(w);
    lw_put(w, b, (size_t)n);
}

void lw_json_uint(struct lw_json *w, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRIu64, v);
    lw_sep(w);
    lw_put(w, b, (size_t)n);
}

void lw_json_bool(struct lw_json *w, bool v)
{
    lw_sep(w);
    if (v)
        lw_put(w, "true", 4);
    else
        lw_put(w, "false", 5);
}

void lw_json_null(struct lw_json *w)
{
    lw_sep(w);
    lw_put(w, "null", 4);
}

void lw_json_kstr(struct lw_json *w, const char *k, const char *s)
{
    lw_json_key(w, k);
    lw_json_str(w, s);
}

void lw_json_kint(struct lw_json *w, const char *k, int64_t v)
{
    lw_json_key(w, k);
    lw_json_int(w, v);
}

void lw_json_kbool(struct lw_json *w, const char *k, bool v)
{
    lw_json_key(w, k);
    lw_json_bool(w, v);
}

void lw_json_knull(struct lw_json *w, const char *k)
{
    lw_json_key(w, k);
    lw_json_null(w);
}
