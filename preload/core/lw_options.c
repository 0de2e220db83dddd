/* lw_options.c — LEAKWATCH_OPTIONS="key=value:key=value".
 *
 * Owns: the one option table that drives defaults, parsing, help=1 and the
 * snapshot's "options" object. Reads the environment straight from
 * `environ` (getenv is not safe this early and may be interposed).
 * Must never: allocate, or abort on bad input (one line, item ignored).
 */
#include "lw_core.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

struct lw_options lw_opt;

enum { LW_OT_STR, LW_OT_BOOL, LW_OT_INT, LW_OT_SIG };
struct lw_opt_def {
    const char *key;
    int type;
    size_t off;
    const char *def;
    long min, max;
    const char *help;
};
#define OFF(f) offsetof(struct lw_options, f)
static const struct lw_opt_def lw_opt_table[] = {
    {"output", LW_OT_STR, OFF(output), "leakwatch-%p-%n.json", 0, 0,
     "snapshot path pattern: %p pid, %n sequence, %t unix time, %e executable name, %i image id"},
    {"at_start", LW_OT_BOOL, OFF(at_start), "0", 0, 1, "snapshot when the library initialises"},
    {"at_exit", LW_OT_BOOL, OFF(at_exit), "1", 0, 1,
     "snapshot at exit (exit, return from main, SIGINT/SIGTERM without a handler)"},
    {"exit_grace_ms", LW_OT_INT, OFF(exit_grace_ms), "500", 0, 3600000,
     "at exit, wait up to this long for threads that are finishing"},
    {"signal", LW_OT_SIG, OFF(signo), "SIGUSR2", 0, 64,
     "snapshot signal (name or number, 0 = none)"},
    {"interval_ms", LW_OT_INT, OFF(interval_ms), "0", 0, 86400000,
     "periodic snapshots every N ms (0 = off)"},
    {"interval_keep", LW_OT_INT, OFF(interval_keep), "0", 0, 10000,
     "keep only this image's newest N interval snapshots (0 = keep all)"},
    {"stack_depth", LW_OT_INT, OFF(stack_depth), "32", 1, LW_MAX_DEPTH,
     "frames kept per stack (max 128)"},
    {"log", LW_OT_STR, OFF(log), "stderr", 0, 0, "where leakwatch's messages go (stderr or a path)"},
    {"quiet", LW_OT_BOOL, OFF(quiet), "0", 0, 1, "silence leakwatch's messages"},
    {"enabled", LW_OT_BOOL, OFF(enabled), "1", 0, 1, "0 = load but record nothing"},
    {"channel", LW_OT_BOOL, OFF(channel), "1", 0, 1,
     "control channel for 'leakwatch snapshot PID' (0 = none)"},
    {"help", LW_OT_BOOL, OFF(help), "0", 0, 1, "print this table"},
};
#define LW_NOPTS (sizeof lw_opt_table / sizeof lw_opt_table[0])

static const struct {
    const char *name;
    int no;
} lw_sigs[] = {{"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},
               {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGALRM", SIGALRM},
               {"SIGTERM", SIGTERM}, {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},
               {"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},
               {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},
               {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},
               {"SIGIO", SIGIO},     {"SIGPWR", SIGPWR},   {"SIGSYS", SIGSYS}};

const char *lw_signame(int signo)
{
    for (size_t i = 0; i < sizeof lw_sigs / sizeof lw_sigs[0]; i++)
        if (lw_sigs[i].no == signo)
            return lw_sigs[i].name;
    return NULL;
}

/* Parse a decimal integer in [min,max] from s[0..n); false when bad. */
static bool lw_parse_long(const char *s, size_t n, long min, long max, long *out)
{
    if (n == 0 || n > 12)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool lw_parse_sig(const char *s, size_t n, long *out)
{
    if (lw_parse_long(s, n, 0, SIGRTMAX, out))
        return *out != SIGKILL && *out != SIGSTOP;
    char name[16];
    if (n + 4 > sizeof name)
        return false;
    size_t k = 0;
    if (!(n > 3 && strncasecmp(s, "SIG", 3) == 0)) {
        memcpy(name, "SIG", 3);
        k = 3;
    }
    for (size_t i = 0; i < n; i++)
        name[k++] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]);
    name[k] = 0;
    for (size_t i = 0; i < sizeof lw_sigs / sizeof lw_sigs[0]; i++)
        if (strcmp(lw_sigs[i].name, name) == 0) {
            *out = lw_sigs[i].no;
            return true;
        }
    return false;
}

/* Apply one value; returns NULL or a static description of what is wrong. */
static const char *lw_opt_apply(struct lw_options *o, const struct lw_opt_def *d, const char *v,
                                size_t n)
{
    char *base = (char *)o;
    long x;
    switch (d->type) {
    case LW_OT_STR:
        if (n >= LW_PATH_MAX)
            return "value too long";
        if (n == 0)
            return "empty value";
        memcpy(base + d->off, v, n);
        (base + d->off)[n] = 0;
        return NULL;
    case LW_OT_BOOL:
        if ((n == 1 && (v[0] == '0' || v[0] == '1')))
            x = v[0] - '0';
        else if (n == 4 && strncasecmp(v, "true", 4) == 0)
            x = 1;
        else if (n == 5 && strncasecmp(v, "false", 5) == 0)
            x = 0;
        else
            return "expected 0 or 1";
        *(int *)(base + d->off) = (int)x;
        return NULL;
    case LW_OT_INT:
        if (!lw_parse_long(v, n, d->min, d->max, &x))
            return "expected an integer in range";
        *(int *)(base + d->off) = (int)x;
        return NULL;
    case LW_OT_SIG:
        if (!lw_parse_sig(v, n, &x))
            return "expected a signal name or number";
        *(int *)(base + d->off) = (int)x;
        return NULL;
    }
    return "internal error";
}

void lw_options_defaults(struct lw_options *o)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < LW_NOPTS; i++)
        lw_opt_apply(o, &lw_opt_table[i], lw_opt_table[i].def, strlen(lw_opt_table[i].def));
}

static void lw_opt_err(void (*err)(const char *, void *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lw_opt_err(void (*err)(const char *, void *), void *arg, const char *fmt, ...)
{
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (err)
        err(buf, arg);
    else
        lw_log("%s", buf);
}

int lw_options_parse(struct lw_options *o, const char *s, void (*err)(const char *, void *),
                     void *arg)
{
    int bad = 0;
    if (!s)
        return 0;
    while (*s) {
        const char *end = strchr(s, ':');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (len == 0) {
            /* empty item ("a=1::b=2"): nothing to do */
        } else if (!eq) {
            lw_opt_err(err, arg, "LEAKWATCH_OPTIONS: '%.*s%s' is not key=value; ignored",
                       (int)(len > 64 ? 64 : len), s, len > 64 ? "..." : "");
            bad++;
        } else {
            size_t klen = (size_t)(eq - s);
            const struct lw_opt_def *d = NULL;
            for (size_t i = 0; i < LW_NOPTS; i++)
                if (strlen(lw_opt_table[i].key) == klen &&
                    strncmp(lw_opt_table[i].key, s, klen) == 0)
                    d = &lw_opt_table[i];
            if (!d) {
                lw_opt_err(err, arg,
                           "LEAKWATCH_OPTIONS: unknown key '%.*s%s'; ignored (help=1 lists keys)",
                           (int)(klen > 64 ? 64 : klen), s, klen > 64 ? "..." : "");
                bad++;
            } else {
                size_t vlen = len - klen - 1;
                const char *why = lw_opt_apply(o, d, eq + 1, vlen);
                if (why) {
                    /* quote at most 64 bytes: the reason must fit on the line */
                    lw_opt_err(err, arg, "LEAKWATCH_OPTIONS: bad value '%.*s%s' for %s (%s); ignored",
                               (int)(vlen > 64 ? 64 : vlen), eq + 1, vlen > 64 ? "..." : "", d->key,
                               why);
                    bad++;
                }
            }
        }
        s += len;
        if (*s == ':')
            s++;
    }
    return bad;
}

void lw_options_help(void)
{
    lw_log("LEAKWATCH_OPTIONS=\"key=value:key=value\"; keys:");
    for (size_t i = 0; i < LW_NOPTS; i++)
        lw_log("  %-14s default %-22s %s", lw_opt_table[i].key, lw_opt_table[i].def,
               lw_opt_table[i].help);
}

void lw_options_each(const struct lw_options *o, lw_option_fn fn, void *arg)
{
    const char *base = (const char *)o;
    for (size_t i = 0; i < LW_NOPTS; i++) {
        const struct lw_opt_def *d = &lw_opt_table[i];
        if (d->type == LW_OT_STR)
            fn(arg, d->key, LW_OPTV_STR, base + d->off, 0);
        else
            fn(arg, d->key, d->type == LW_OT_BOOL ? LW_OPTV_BOOL : LW_OPTV_INT, NULL,
               *(const int *)(base + d->off));
    }
}

const char *lw_env(const char *name)
{
    size_t n = strlen(name);
    if (!environ)
        return NULL;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}
