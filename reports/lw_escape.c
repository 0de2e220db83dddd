/* lw_escape.c — the one place output strings are escaped, for every format.
 *
 * Thread names, labels and paths come from the host program and may hold
 * anything: quotes, newlines, ESC sequences, or UTF-8 cut in half by the
 * 15-byte thread-name limit. Every writer here decodes UTF-8 strictly and
 * never emits invalid JSON, ill-formed XML or raw control characters on a
 * terminal. Must never allocate or fail: bad input is replaced, not
 * rejected.
 */
#include "lw_render_int.h"

#include <string.h>

/* Decodes one code point at s (n bytes left). Returns its length, or 0 for
 * an invalid sequence (overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Shared by text and markdown: makes control characters and bad bytes
 * visible instead of letting them reach a terminal or a renderer. Returns
 * true when it wrote something for this code point. */
static bool put_visible_escape(FILE *out, const unsigned char *p, size_t len, unsigned cp)
{
    if (!len) {
        fprintf(out, "\\x%02x", p[0]);
        return true;
    }
    if (cp == '\n') {
        fputs("\\n", out);
        return true;
    }
    if (cp == '\t') {
        fputs("\\t", out);
        return true;
    }
    if (cp < 0x20 || cp == 0x7f) {
        fprintf(out, "\\x%02x", cp);
        return true;
    }
    if (cp >= 0x80 && cp < 0xa0) { /* C1 controls: CSI (U+009B) starts ANSI sequences too */
        fprintf(out, "\\u%04x", cp);
        return true;
    }
    return false;
}

/* How one format writes a valid code point cp (its len bytes at p); attr is
 * lw_put_xml's, the other formats ignore it. */
typedef void (*lw_cp_writer)(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool attr);

/* Every format walks the string the same way and differs only in what it
 * does with bad input and with each code point: JSON and XML must stay valid
 * UTF-8, so a bad byte becomes U+FFFD; text and markdown (visible) show bad
 * bytes and control characters as escapes. The rest goes to put. */
static void lw_escape_walk(FILE *out, const char *s, bool visible, lw_cp_writer put, bool attr)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n) {
        unsigned cp = 0;
        size_t len = utf8_decode(p, n, &cp);
        bool done = visible && put_visible_escape(out, p, len, cp);
        if (!done && !len)
            fputs(REPLACEMENT, out);
        else if (!done)
            put(out, p, len, cp, attr);
        p += len ? len : 1;
        n -= len ? len : 1;
    }
}

static void put_json_cp(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool attr)
{
    (void)attr;
    switch (cp) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    case '\b': fputs("\\b", out); break;
    case '\f': fputs("\\f", out); break;
    default:
        if (cp < 0x20 || cp == 0x7f)
            fprintf(out, "\\u%04x", cp);
        else
            fwrite(p, 1, len, out);
    }
}

void lw_put_json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    putc('"', out);
    lw_escape_walk(out, s, false, put_json_cp, false);
    putc('"', out);
}

static void put_xml_cp(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool attr)
{
    switch (cp) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs(attr ? "&quot;" : "\"", out); break;
    case '\'': fputs(attr ? "&apos;" : "'", out); break;
    case '\n': fputs(attr ? "&#10;" : "\n", out); break;
    case '\r': fputs("&#13;", out); break;
    case '\t': fputs(attr ? "&#9;" : "\t", out); break;
    default:
        /* XML 1.0 cannot carry other C0 controls or U+FFFE/U+FFFF even
         * as character references. */
        if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
            fputs(REPLACEMENT, out);
        else
            fwrite(p, 1, len, out);
    }
}

void lw_put_xml(FILE *out, const char *s, bool attr)
{
    if (s)
        lw_escape_walk(out, s, false, put_xml_cp, attr);
}

static void put_text_cp(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool attr)
{
    (void)cp, (void)attr;
    fwrite(p, 1, len, out);
}

void lw_put_text(FILE *out, const char *s)
{
    if (s)
        lw_escape_walk(out, s, true, put_text_cp, false);
}

static void put_md_cp(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool attr)
{
    (void)attr;
    switch (cp) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '|': case '\\': case '`': case '*': case '_': case '[': case ']':
    case '#': case '~':
        putc('\\', out);
        putc((int)cp, out);
        break;
    default: fwrite(p, 1, len, out);
    }
}

void lw_put_md(FILE *out, const char *s)
{
    if (s)
        lw_escape_walk(out, s, true, put_md_cp, false);
}

void lw_put_uri_path(FILE *out, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
            putc(c, out);
        else
            fprintf(out, "%%%02X", c);
    }
}

void lw_put_html(FILE *out, const char *s)
{
    /* XML's attribute escaping is safe in HTML text and in quoted
     * attributes alike: & < > " ' escaped, newlines as &#10;, bad bytes and
     * C0 controls as U+FFFD. Nothing from the host ever lands inside the
     * page's <script> or <style>. */
    if (s)
        lw_escape_walk(out, s, false, put_xml_cp, true);
}

/* Prometheus text format: label values escape \ " and newline; HELP text
 * escapes \ and newline. Other C0 controls become U+FFFD so a carriage
 * return cannot split a line for a lenient reader. */
static void put_prom_cp(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool label)
{
    if (cp == '\\')
        fputs("\\\\", out);
    else if (cp == '\n')
        fputs("\\n", out);
    else if (cp == '"' && label)
        fputs("\\\"", out);
    else if (cp < 0x20 || cp == 0x7f)
        fputs(REPLACEMENT, out);
    else
        fwrite(p, 1, len, out);
}

void lw_put_prom_label(FILE *out, const char *s)
{
    if (s)
        lw_escape_walk(out, s, false, put_prom_cp, true);
}

void lw_put_prom_help(FILE *out, const char *s)
{
    if (s)
        lw_escape_walk(out, s, false, put_prom_cp, false);
}

static void put_raw_cp(FILE *out, const unsigned char *p, size_t len, unsigned cp, bool attr)
{
    (void)cp, (void)attr;
    fwrite(p, 1, len, out);
}

void lw_put_utf8(FILE *out, const char *s)
{
    if (s)
        lw_escape_walk(out, s, false, put_raw_cp, false);
}
