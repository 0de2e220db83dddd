/* lw_snapshot.c — gathers and writes one snapshot (docs/snapshot-format.md).
 *
 * Owns: the output path, the temporary file and the no-replace rename, the
 * top-level object (header, options, contexts, stats) and the order of the
 * arrays; modules/stacks are in lw_snap_stacks.c, threads in
 * lw_snap_threads.c. Runs in the writer thread or a thread calling the API
 * or exiting — never in a signal handler — with the recursion guard held,
 * so it may allocate.
 * Must never: overwrite an existing file, follow a symlink at the target,
 * or let a write failure reach the host (one message, temp file removed).
 */
#include "lw_snapshot.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static _Atomic uint64_t lw_snap_seq;
static lw_lock_t lw_snap_lk = LW_LOCK_INIT;
static int lw_snap_fail_once;
static _Atomic uint64_t lw_stat_snapshots;

/* ---- output path ---- */

int lw_expand_output(const char *pat, uint64_t seq, char *out, size_t n)
{
    size_t k = 0;
    char tmp[LW_PATH_MAX];
    if (pat[0] != '/' && lw_init_cwd[0]) {
        int m = snprintf(out, n, "%s/", lw_init_cwd);
        if (m < 0 || (size_t)m >= n)
            return -ENAMETOOLONG;
        k = (size_t)m;
    }
    for (const char *p = pat; *p; p++) {
        const char *add = tmp;
        if (*p == '%' && p[1]) {
            p++;
            switch (*p) {
            case 'p': snprintf(tmp, sizeof tmp, "%d", lw_sys_getpid()); break;
            case 'n': snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)seq); break;
            case 't': snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)(lw_now_realtime_ns() / 1000000000u)); break;
            case 'e': {
                long r = lw_sys6(SYS_readlinkat, AT_FDCWD, (long)"/proc/self/exe", (long)tmp,
                                 sizeof tmp - 1, 0, 0);
                tmp[r > 0 ? r : 0] = 0;
                char *slash = strrchr(tmp, '/');
                add = slash ? slash + 1 : tmp;
                break;
            }
            case 'i': snprintf(tmp, sizeof tmp, "%s", lw_image_id); break;
            case '%': strcpy(tmp, "%"); break;
            default: tmp[0] = '%'; tmp[1] = *p; tmp[2] = 0;
            }
        } else {
            tmp[0] = *p;
            tmp[1] = 0;
        }
        size_t len = strlen(add);
        if (k + len + 1 > n)
            return -ENAMETOOLONG;
        memcpy(out + k, add, len);
        k += len;
    }
    out[k] = 0;
    return 0;
}

static void lw_write_contexts(struct lw_snap *s, struct lw_json *w)
{
    size_t n = lw_ctx_list(NULL, 0) + 64;
    struct lw_ctx_info *v = malloc(n * sizeof *v);
    n = v ? lw_ctx_list(v, n) : 0;
    lw_json_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        struct lw_ctx_info *c = &v[i];
        lw_json_obj_begin(w);
        lw_json_key(w, "id");
        lw_json_uint(w, c->id);
        lw_kuint_or_null(w, "parent", c->id == LW_CTX_ROOT ? 0 : c->parent);
        lw_json_kstr(w, "label", c->label[0] ? c->label : NULL);
        lw_json_kstr(w, "kind", c->kind == LW_CK_ROOT ? "root"
                                : c->kind == LW_CK_THREAD ? "thread" : "explicit");
        lw_json_kint(w, "owner_tid", c->owner_tid);
        lw_json_key(w, "owner_start");
        lw_json_frame(s, w, c->id == LW_CTX_ROOT ? 0 : c->owner_start);
        lw_json_key(w, "created_ns");
        lw_json_uint(w, c->created_ns);
        lw_kuint_or_null(w, "cancelled_ns", c->cancelled_ns);
        lw_json_kstr(w, "cause", c->cancelled_ns ? lw_cause_name(c->cause) : NULL);
        lw_kuint_or_null(w, "cancel_origin", c->cancelled_ns ? c->origin : 0);
        lw_json_kbool(w, "background", c->background);
        lw_json_obj_end(w);
    }
    lw_json_arr_end(w);
    free(v);
}

static const char *lw_trig_name(int t)
{
    static const char *n[] = {"start", "exit", "signal", "api", "interval", "request"};
    return t >= 0 && t <= LW_TRIG_REQUEST ? n[t] : "api";
}

static void lw_write_option(void *arg, const char *key, enum lw_optv type, const char *str,
                            int num)
{
    struct lw_json *w = arg;
    if (type == LW_OPTV_STR)
        lw_json_kstr(w, key, str);
    else if (type == LW_OPTV_BOOL)
        lw_json_kbool(w, key, num != 0);
    else
        lw_json_kint(w, key, num);
}

static void lw_write_header(struct lw_json *w, int trigger, uint64_t seq, struct lw_snap *s)
{
    char buf[LW_PATH_MAX];
    lw_json_kint(w, "leakwatch_schema", 1);
    lw_json_kstr(w, "leakwatch_version", LW_VERSION);
    lw_json_kint(w, "pid", lw_sys_getpid());
    lw_json_kint(w, "ppid", lw_sys(SYS_getppid, 0, 0, 0));
    lw_json_kstr(w, "image", lw_image_id);
    lw_json_kstr(w, "replaced_image", lw_replaced_image[0] ? lw_replaced_image : NULL);
    long r = lw_sys6(SYS_readlinkat, AT_FDCWD, (long)"/proc/self/exe", (long)buf, sizeof buf - 1, 0, 0);
    buf[r > 0 ? r : 0] = 0;
    lw_json_kstr(w, "exe", buf);
    lw_json_key(w, "cmdline");
    lw_json_arr_begin(w);
    int fd = lw_sys_open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
    if (fd >= 0) {
        size_t cap = 65536, len = 0;
        char *cl = malloc(cap + 1);
        ssize_t k;
        while (cl && len < cap && (k = lw_sys_read(fd, cl + len, cap - len)) > 0)
            len += (size_t)k;
        lw_sys_close(fd);
        if (cl) {
            cl[len] = 0;
            for (size_t i = 0; i < len; i += strlen(cl + i) + 1)
                lw_json_str(w, cl + i);
            free(cl);
        }
    }
    lw_json_arr_end(w);
    lw_json_kstr(w, "trigger", lw_trig_name(trigger));
    lw_json_key(w, "seq");
    lw_json_uint(w, seq);
    lw_json_key(w, "taken_at");
    lw_json_obj_begin(w);
    lw_json_key(w, "realtime_ns");
    lw_json_uint(w, s->realtime);
    lw_json_key(w, "monotonic_ns");
    lw_json_uint(w, s->now);
    lw_json_obj_end(w);
    lw_json_key(w, "options");
    lw_json_obj_begin(w);
    lw_options_each(&lw_opt, lw_write_option, w);
    lw_json_obj_end(w);
}

static void lw_write_stats(struct lw_json *w)
{
    lw_json_obj_begin(w);
    lw_json_key(w, "threads_created");
    lw_json_uint(w, atomic_load(&lw_stat_created));
    lw_json_key(w, "threads_live");
    lw_json_uint(w, atomic_load(&lw_stat_live));
    lw_json_key(w, "records_dropped");
    lw_json_uint(w, atomic_load(&lw_stat_dropped));
    lw_json_key(w, "contexts_live");
    lw_json_uint(w, atomic_load(&lw_stat_ctx_live));
    lw_json_key(w, "objects");
    lw_json_uint(w, atomic_load(&lw_stat_objects));
    lw_json_key(w, "objects_dropped");
    lw_json_uint(w, atomic_load(&lw_stat_objects_dropped));
    lw_json_key(w, "record_bytes");
    lw_json_uint(w, lw_reg_record_size());
    lw_json_key(w, "snapshots_written");
    lw_json_uint(w, atomic_load(&lw_stat_snapshots));
    lw_json_obj_end(w);
}

/* Open "<dir>/.<name>.tmp.<pid>.<n>" next to the target: exclusive, no
 * symlink following, mode 0600. */
static int lw_open_temp(const char *final, char *tmp, size_t n)
{
    const char *slash = strrchr(final, '/');
    size_t dirlen = slash ? (size_t)(slash - final + 1) : 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        int m = snprintf(tmp, n, "%.*s.%s.tmp.%d.%d", (int)dirlen, final, final + dirlen,
                         lw_sys_getpid(), attempt);
        if (m < 0 || (size_t)m >= n)
            return -ENAMETOOLONG;
        int fd = lw_sys_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd != -EEXIST)
            return fd;
    }
    return -EEXIST;
}

/* Does the pattern number its files (%n not escaped as %%n)? */
static bool lw_pattern_numbered(const char *pat)
{
    for (const char *p = pat; *p; p++)
        if (*p == '%' && p[1]) {
            if (p[1] == 'n')
                return true;
            p++;
        }
    return false;
}

static int lw_snapshot_locked(int trigger, const char *path, char *final, size_t finaln)
{
    char tmp[LW_PATH_MAX + 64];
    const char *pat = path ? path : lw_opt.output;
    uint64_t seq = atomic_fetch_add(&lw_snap_seq, 1) + 1;
    int r = lw_expand_output(pat, seq, final, finaln);
    if (r < 0) {
        lw_log_once(&lw_snap_fail_once, "snapshot path too long; snapshot not written");
        return r;
    }
    /* An earlier image of this process (same pid, before exec) numbered
     * from 1 too: its files are skipped, never replaced (docs/design.md
     * §3.5). Bounded: a directory full of stale files ends with the usual
     * "exists" message. */
    if (lw_pattern_numbered(pat)) {
        struct stat st;
        for (int i = 0; i < 10000 && lw_sys6(SYS_newfstatat, AT_FDCWD, (long)final, (long)&st,
                                              AT_SYMLINK_NOFOLLOW, 0, 0) == 0;
             i++) {
            seq = atomic_fetch_add(&lw_snap_seq, 1) + 1;
            if (lw_expand_output(pat, seq, final, finaln) < 0)
                break;
        }
    }
    int fd = lw_open_temp(final, tmp, sizeof tmp);
    if (fd < 0) {
        lw_log_once(&lw_snap_fail_once, "cannot create a snapshot next to %s: %s; snapshot not written",
                    final, strerror(-fd));
        return fd;
    }
    struct lw_snap s;
    memset(&s, 0, sizeof s);
    s.now = lw_now_ns();
    s.realtime = lw_now_realtime_ns();
    lw_snap_load_modules(&s);
    struct lw_json *w = lw_json_open(fd);
    if (!w) {
        lw_sys_close(fd);
        lw_sys_unlink(tmp);
        lw_snap_free(&s);
        return -ENOMEM;
    }
    lw_json_obj_begin(w);
    lw_write_header(w, trigger, seq, &s);
    lw_json_key(w, "modules");
    lw_write_modules(&s, w);
    lw_json_key(w, "threads");
    lw_write_threads(&s, w);
    lw_json_key(w, "timers");
    lw_timers_write(&s, w);
    lw_json_key(w, "sockets");
    lw_sockets_write(&s, w);
    lw_json_key(w, "contexts");
    lw_write_contexts(&s, w);
    lw_json_key(w, "stacks");
    lw_write_stacks(&s, w);
    lw_json_key(w, "stats");
    lw_write_stats(w);
    lw_json_obj_end(w);
    r = lw_json_close(w);
    int cr = lw_sys_close(fd);
    if (r == 0)
        r = cr;
    lw_snap_free(&s);
    if (r == 0) {
        r = lw_sys_rename_noreplace(tmp, final);
        if (r == -EEXIST) {
            lw_log_once(&lw_snap_fail_once, "%s exists; not overwritten, snapshot not written", final);
        } else if (r < 0) {
            lw_log_once(&lw_snap_fail_once, "cannot rename snapshot to %s: %s", final, strerror(-r));
        }
    } else {
        lw_log_once(&lw_snap_fail_once, "cannot write snapshot %s: %s; snapshot not written", final,
                    strerror(-r));
    }
    if (r < 0)
        lw_sys_unlink(tmp);
    else
        atomic_fetch_add(&lw_stat_snapshots, 1);
    return r;
}

int lw_snapshot_write(int trigger, const char *path)
{
    char final[LW_PATH_MAX];
    return lw_snapshot_write_path(trigger, path, final, sizeof final);
}

int lw_snapshot_write_path(int trigger, const char *path, char *final, size_t finaln)
{
    final[0] = 0;
    if (atomic_load(&lw_state) != LW_ST_RUN)
        return -EAGAIN;
    int saved = errno;
    int g = lw_tls_guard;
    lw_tls_guard = 1;
    /* A file-size limit turns a big write into SIGXFSZ, whose default action
     * kills the host: block it here so write(2) reports EFBIG instead, and
     * consume the signal if this write raised it. */
    sigset_t xf, old, pend;
    sigemptyset(&xf);
    sigaddset(&xf, SIGXFSZ);
    bool had_pending = false;
    if (lw_real_pthread_sigmask) {
        lw_real_pthread_sigmask(SIG_BLOCK, &xf, &old);
        lw_sys_sigpending(&pend);
        had_pending = sigismember(&pend, SIGXFSZ);
    }
    lw_lock(&lw_snap_lk);
    int r = lw_snapshot_locked(trigger, path, final, finaln);
    lw_unlock(&lw_snap_lk);
    if (lw_real_pthread_sigmask) {
        lw_sys_sigpending(&pend);
        if (!had_pending && sigismember(&pend, SIGXFSZ)) {
            struct timespec zero = {0, 0};
            lw_sys6(SYS_rt_sigtimedwait, (long)&xf, 0, (long)&zero, _NSIG / 8, 0, 0);
        }
        lw_real_pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    lw_tls_guard = g;
    errno = saved;
    return r;
}

void lw_snapshot_after_fork_child(void)
{
    lw_lock_reset(&lw_snap_lk);
}

void lw_snapshot_lock_for_fork(bool lock)
{
    lw_lock_hold(&lw_snap_lk, lock);
}
