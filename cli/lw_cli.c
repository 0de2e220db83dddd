/* lw_cli.c — the shared command-line pieces declared in lw_cli.h. */
#include "lw_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *lw_prog = "leakwatch";

static void vmsg(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", lw_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void lw_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
}

void lw_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    exit(code);
}

long long lw_num(const char *opt, const char *arg, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > max || arg[0] == '+' || arg[0] == ' ')
        lw_die(LW_EXIT_USAGE, "%s: expected a number from 0 to %lld, got \"%s\"", opt, max, arg);
    return v;
}

void lw_color_check(const char *when)
{
    if (strcmp(when, "auto") && strcmp(when, "always") && strcmp(when, "never"))
        lw_die(LW_EXIT_USAGE, "--color: expected auto, always or never, got \"%s\"", when);
}

bool lw_color_wanted(const char *when, FILE *f)
{
    if (strcmp(when, "always") == 0)
        return true;
    if (strcmp(when, "auto") != 0)
        return false;
    const char *term = getenv("TERM");
    return isatty(fileno(f)) && !getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0);
}

void lw_out_open(struct lw_out *o, const char *path, const char *const *inputs, size_t ninputs)
{
    memset(o, 0, sizeof *o);
    o->f = stdout;
    if (!path)
        return;
    if (!*path)
        lw_die(LW_EXIT_USAGE, "-o: an empty file name");
    struct stat st, in;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            lw_die(LW_EXIT_USAGE, "-o %s: cannot write: is a directory", path);
        for (size_t i = 0; i < ninputs; i++)
            if (inputs[i] && strcmp(inputs[i], "-") != 0 && stat(inputs[i], &in) == 0 && in.st_dev == st.st_dev &&
                in.st_ino == st.st_ino)
                lw_die(LW_EXIT_USAGE, "-o %s: is the input %s; refusing to overwrite it", path, inputs[i]);
    }
    o->path = strdup(path);
    size_t n = strlen(path) + 32;
    o->tmp = malloc(n);
    if (!o->path || !o->tmp)
        lw_die(LW_EXIT_USAGE, "out of memory");
    /* Beside the target (same file system, so rename is atomic), hidden,
     * never an existing file (O_EXCL) and never through a symlink. */
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(o->tmp, n, "%.*s.%s.%d.%d.tmp", dirlen, path, slash ? slash + 1 : path, (int)getpid(), tries);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        lw_die(LW_EXIT_USAGE, "-o %s: cannot write: %s", path, strerror(errno));
    if (!(o->f = fdopen(fd, "w"))) {
        close(fd);
        unlink(o->tmp);
        lw_die(LW_EXIT_USAGE, "-o %s: cannot write: %s", path, strerror(errno));
    }
}

int lw_out_commit(struct lw_out *o)
{
    int rc = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        rc = -(errno ? errno : EIO);
    if (!o->path)
        return rc;
    if (fclose(o->f) != 0 && !rc)
        rc = -(errno ? errno : EIO);
    o->f = NULL;
    if (!rc && rename(o->tmp, o->path) != 0)
        rc = -errno;
    if (rc)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return rc;
}

void lw_out_abort(struct lw_out *o)
{
    if (!o->path)
        return;
    if (o->f)
        fclose(o->f);
    unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}
