/* lw_launch.c — see lw_launch.h. Reads ELF program headers itself (a few
 * hundred bytes, no libelf) so `leakwatch run` costs little before exec. */
#include "lw_launch.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lw_arena.h"
#include "lw_cli.h"

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

const char *lw_launch_find_lib(char *err, size_t errlen)
{
    static char path[PATH_MAX];
    const char *env = getenv("LEAKWATCH_LIB");
    if (env && *env) {
        if (!is_file(env)) {
            snprintf(err, errlen, "preload library not found: LEAKWATCH_LIB=%s is not a readable file", env);
            return NULL;
        }
        /* LD_PRELOAD needs an absolute path: the command may change directory. */
        if (!realpath(env, path)) {
            snprintf(err, errlen, "preload library not found: %s: %s", env, strerror(errno));
            return NULL;
        }
        return path;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find my own location (/proc/self/exe): %s", strerror(errno));
        return NULL;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    *slash = 0;
    static const char *const rel[] = {"libleakwatch.so", "../lib/leakwatch/libleakwatch.so",
                                      "../build/libleakwatch.so"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/%s", self, rel[i]);
        if (is_file(cand) && realpath(cand, path))
            return path;
    }
    snprintf(err, errlen,
             "preload library libleakwatch.so not found next to %s (build it with 'make', or set "
             "LEAKWATCH_LIB=/path/to/libleakwatch.so)",
             self);
    return NULL;
}

/* PATH lookup like execvp: the first executable regular file; else the
 * first match at all (so the error says "not executable"). */
static bool path_search(const char *cmd, char *out, size_t len)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    bool found = false;
    char first[PATH_MAX] = "";
    for (const char *p = path;; p++) {
        const char *e = strchr(p, ':');
        size_t dl = e ? (size_t)(e - p) : strlen(p);
        char cand[PATH_MAX];
        snprintf(cand, sizeof cand, "%.*s%s%s", (int)dl, dl ? p : ".", "/", cmd);
        struct stat st;
        if (stat(cand, &st) == 0 && !S_ISDIR(st.st_mode)) {
            if (access(cand, X_OK) == 0) {
                snprintf(out, len, "%s", cand);
                return true;
            }
            if (!found)
                snprintf(first, sizeof first, "%s", cand), found = true;
        }
        if (!e)
            break;
        p = e;
    }
    if (found)
        snprintf(out, len, "%s", first);
    return found;
}

enum elf_kind { EK_DYNAMIC, EK_STATIC, EK_NONGLIBC, EK_SCRIPT, EK_OTHER };

/* What the kernel will run: a dynamic glibc program, a static one, another
 * loader (interp filled), a script (interp = its interpreter, "" when
 * none), or something else (left to exec to judge). */
static enum elf_kind elf_kind(const char *path, char *interp, size_t len)
{
    interp[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return EK_OTHER;
    unsigned char head[256];
    ssize_t n = pread(fd, head, sizeof head, 0);
    enum elf_kind k = EK_OTHER;
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        /* "#!/usr/bin/env -S python3 -u": env's first non-option word. */
        char line[256];
        size_t l = 0;
        for (ssize_t i = 2; i < n && head[i] != '\n' && l < sizeof line - 1; i++)
            line[l++] = (char)head[i];
        line[l] = 0;
        char *save, *w = strtok_r(line, " \t", &save);
        if (w) {
            const char *b = strrchr(w, '/');
            if (strcmp(b ? b + 1 : w, "env") == 0) {
                while ((w = strtok_r(NULL, " \t", &save)) && w[0] == '-')
                    ;
            }
        }
        snprintf(interp, len, "%s", w ? w : "");
        k = EK_SCRIPT;
    } else if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0 &&
               head[EI_CLASS] == ELFCLASS64) {
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
        k = EK_STATIC;
        for (unsigned i = 0; i < eh->e_phnum && i < 256; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh->e_phoff + (uint64_t)i * eh->e_phentsize)) != sizeof ph)
                break;
            if (ph.p_type != PT_INTERP)
                continue;
            size_t want = ph.p_filesz < len ? ph.p_filesz : len - 1;
            ssize_t got = pread(fd, interp, want, (off_t)ph.p_offset);
            interp[got > 0 ? (size_t)got : 0] = 0;
            const char *b = strrchr(interp, '/');
            b = b ? b + 1 : interp;
            k = strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "ld64.so", 7) == 0 || strncmp(b, "ld.so", 5) == 0
                    ? EK_DYNAMIC
                    : EK_NONGLIBC;
            break;
        }
    } else if (n >= (ssize_t)sizeof(Elf32_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0) {
        k = EK_OTHER; /* 32-bit: the loader says what it thinks */
    }
    close(fd);
    return k;
}

static int check_cmd(const char *cmd, char *path, size_t pathlen, char *err, size_t errlen, int depth)
{
    if (strchr(cmd, '/')) {
        snprintf(path, pathlen, "%s", cmd);
        if (access(cmd, F_OK) != 0) {
            snprintf(err, errlen, "%s: command not found (no such file)", cmd);
            return LW_EXIT_NOTFOUND;
        }
    } else if (!*cmd || !path_search(cmd, path, pathlen)) {
        snprintf(err, errlen, "%s: command not found in PATH", cmd);
        return LW_EXIT_NOTFOUND;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a command", path);
        return LW_EXIT_NOEXEC;
    }
    if (access(path, X_OK) != 0) {
        snprintf(err, errlen, "%s: not executable (permission denied)", path);
        return LW_EXIT_NOEXEC;
    }
    if (st.st_mode & (S_ISUID | S_ISGID)) {
        snprintf(err, errlen,
                 "%s is setuid/setgid: the dynamic loader ignores LD_PRELOAD for such programs "
                 "(secure-execution mode), so leakwatch cannot observe it; test a copy without the bit",
                 path);
        return LW_EXIT_CANNOT;
    }
    char interp[PATH_MAX];
    switch (elf_kind(path, interp, sizeof interp)) {
    case EK_STATIC:
        snprintf(err, errlen,
                 "%s is statically linked (no PT_INTERP program header): LD_PRELOAD cannot work on it; link it "
                 "dynamically to use leakwatch",
                 path);
        return LW_EXIT_CANNOT;
    case EK_NONGLIBC:
        snprintf(err, errlen, "%s uses the dynamic loader %s, not glibc's: libleakwatch.so supports glibc only", path,
                 interp);
        return LW_EXIT_CANNOT;
    case EK_SCRIPT:
        /* Check the interpreter the kernel will run, e.g. a static busybox. */
        if (interp[0] && strcmp(interp, cmd) != 0 && depth < 4) {
            char ipath[PATH_MAX], ierr[1024];
            int rc = check_cmd(interp, ipath, sizeof ipath, ierr, sizeof ierr, depth + 1);
            if (rc) {
                snprintf(err, errlen, "%s is a script run by: %s", path, ierr);
                return rc;
            }
        }
        break;
    case EK_DYNAMIC:
    case EK_OTHER: break;
    }
    return 0;
}

int lw_launch_check_cmd(const char *cmd, char *path_out, size_t pathlen, char *err, size_t errlen)
{
    char libc[64];
    if (confstr(_CS_GNU_LIBC_VERSION, libc, sizeof libc) == 0) {
        snprintf(err, errlen, "this system's C library is not glibc: libleakwatch.so supports glibc only");
        return LW_EXIT_CANNOT;
    }
    return check_cmd(cmd, path_out, pathlen, err, errlen, 0);
}

static size_t key_len(const char *kv)
{
    const char *e = strchr(kv, '=');
    return e ? (size_t)(e - kv) : strlen(kv);
}

char *lw_launch_merge_opts(const char *base, const char *const *kv, size_t n)
{
    size_t cap = (base ? strlen(base) : 0) + 2;
    for (size_t i = 0; i < n; i++)
        cap += strlen(kv[i]) + 1;
    char *out = lw_xmalloc(cap);
    size_t len = 0;
    out[0] = 0;
    for (const char *p = base ? base : ""; *p;) {
        const char *e = strchr(p, ':');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        bool drop = l == 0;
        for (size_t i = 0; i < n && !drop; i++)
            drop = key_len(kv[i]) == key_len(p) && key_len(p) <= l && strncmp(kv[i], p, key_len(p)) == 0;
        if (!drop)
            len += (size_t)sprintf(out + len, "%s%.*s", len ? ":" : "", (int)l, p);
        p += l + (e ? 1 : 0);
    }
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(out + len, "%s%s", len ? ":" : "", kv[i]);
    return out;
}

int lw_launch_snapshot_signal(const char *opts)
{
    const char *val = "SIGUSR2";
    size_t vl = 7;
    for (const char *p = opts ? opts : ""; *p;) {
        const char *e = strchr(p, ':');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > 7 && strncmp(p, "signal=", 7) == 0)
            val = p + 7, vl = l - 7;
        p += l + (e ? 1 : 0);
    }
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(vl < 31 ? vl : 31), val);
    if (name[0] >= '0' && name[0] <= '9') {
        int s = atoi(name);
        return s > 0 && s < NSIG ? s : 0;
    }
    const char *nm = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
    for (int s = 1; s < NSIG; s++) {
        const char *abbrev = sigabbrev_np(s);
        if (abbrev && strcasecmp(abbrev, nm) == 0)
            return s;
    }
    return 0;
}

void lw_launch_exec(const char *lib, const char *opts, const char *path, char *const argv[])
{
    const char *old = getenv("LD_PRELOAD");
    char *pre = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    if (!pre)
        return;
    sprintf(pre, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    setenv("LD_PRELOAD", pre, 1);
    free(pre);
    if (opts && *opts)
        setenv("LEAKWATCH_OPTIONS", opts, 1);
    else
        unsetenv("LEAKWATCH_OPTIONS");
    if (LW_LAUNCH_BLOCKS_SIGNAL) {
        int sig = lw_launch_snapshot_signal(opts);
        if (sig) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, sig);
            sigprocmask(SIG_BLOCK, &set, NULL);
        }
    }
    execv(path, argv);
}
