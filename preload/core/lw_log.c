/* lw_log.c — leakwatch's own messages ("leakwatch[PID]: ...").
 *
 * Owns: the log destination and the cap on messages. Formatting uses
 * vsnprintf into a stack buffer and one raw write(2), so it is safe from any
 * hook and, for plain %s/%d formats, from signal handlers.
 * Must never: allocate, use stdio streams, or write more than LW_LOG_CAP
 * lines (a repeated failure must not flood the host's stderr).
 */
#include "lw_core.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LW_LOG_CAP 200

static int lw_log_fd = 2;
static int lw_log_quiet;
static _Atomic int lw_log_n;

int lw_log_open(const char *dest, bool quiet)
{
    lw_log_quiet = quiet;
    if (!dest || !*dest || strcmp(dest, "stderr") == 0) {
        lw_log_fd = 2;
        return -1;
    }
    /* O_NONBLOCK: a FIFO nobody reads would block open(2) — and the host's
     * start — for ever (ENXIO instead), and a full one would block every
     * message (they are dropped instead). Regular files ignore it. */
    int fd = lw_sys_open(dest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                         0600);
    if (fd < 0) {
        lw_log_fd = 2;
        lw_log("cannot open log file %s: %s; logging to stderr", dest, strerror(-fd));
        return -1;
    }
    /* kept for the process's life: out of the program's numbers (3.4) */
    int high = lw_sys_fd_high(fd);
    lw_log_fd = high >= 0 ? high : fd;
    return lw_log_fd;
}

void lw_log_reset(void)
{
    atomic_store(&lw_log_n, 0);
}

int lw_log_count(void)
{
    return atomic_load(&lw_log_n);
}

static void lw_vlog(const char *fmt, va_list ap)
{
    if (lw_log_quiet)
        return;
    int n = atomic_fetch_add(&lw_log_n, 1);
    if (n > LW_LOG_CAP)
        return;
    char buf[1024];
    int len;
    if (n == LW_LOG_CAP) {
        len = snprintf(buf, sizeof buf, "leakwatch[%d]: too many messages; staying quiet\n",
                       lw_sys_getpid());
    } else {
        len = snprintf(buf, sizeof buf, "leakwatch[%d]: ", lw_sys_getpid());
        int m = vsnprintf(buf + len, sizeof buf - (size_t)len - 1, fmt, ap);
        if (m < 0)
            m = 0;
        len += m;
        if (len > (int)sizeof buf - 2)
            len = (int)sizeof buf - 2;
        buf[len++] = '\n';
    }
    lw_sys_write_all(lw_log_fd, buf, (size_t)len);
}

void lw_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lw_vlog(fmt, ap);
    va_end(ap);
}

void lw_log_once(int *once, const char *fmt, ...)
{
    if (__atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
        return;
    va_list ap;
    va_start(ap, fmt);
    lw_vlog(fmt, ap);
    va_end(ap);
}
