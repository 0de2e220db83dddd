/* hook_exec.c — execve and its family, posix_spawn: the image started
 * must not inherit leakwatch's block of the snapshot signal unless it runs
 * leakwatch too (docs/design.md §3.5).
 *
 * Owns: the interposed names only; the decision and the mask change are
 * lw_sigmask.c's. When the new image's environment preloads libleakwatch
 * with the same snapshot signal, the block stays (a signal sent while the
 * new image loads waits instead of killing it); otherwise the calling
 * thread's real mask is put back to the program's view of that signal
 * just before the exec, and blocked again if the exec fails.
 * Must never: allocate or take a lock (these run in vfork children), change
 * the arguments, or change errno or the result.
 */
#include "lw_hooks.h"

#include <stdarg.h>
#include <unistd.h>

extern char **environ;

LW_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    int ch = lw_sigmask_before_exec(envp);
    int r = LW_REAL(execve)(path, argv, envp);
    lw_sigmask_after_exec_failed(ch);
    return r;
}

LW_EXPORT int execv(const char *path, char *const argv[])
{
    int ch = lw_sigmask_before_exec(environ);
    int r = LW_REAL(execv)(path, argv);
    lw_sigmask_after_exec_failed(ch);
    return r;
}

LW_EXPORT int execvp(const char *file, char *const argv[])
{
    int ch = lw_sigmask_before_exec(environ);
    int r = LW_REAL(execvp)(file, argv);
    lw_sigmask_after_exec_failed(ch);
    return r;
}

LW_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    int ch = lw_sigmask_before_exec(envp);
    int r = LW_REAL(execvpe)(file, argv, envp);
    lw_sigmask_after_exec_failed(ch);
    return r;
}

LW_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    int ch = lw_sigmask_before_exec(envp);
    int r = LW_REAL(fexecve)(fd, argv, envp);
    lw_sigmask_after_exec_failed(ch);
    return r;
}

/* execl*: the argument list into an array on the stack (as glibc does),
 * then the vector call above. */
#define LW_COUNT_ARGS(first, n)                                                         \
    do {                                                                                \
        va_list ap_;                                                                    \
        va_start(ap_, first);                                                           \
        n = 1;                                                                          \
        while (va_arg(ap_, char *))                                                     \
            n++;                                                                        \
        va_end(ap_);                                                                    \
    } while (0)

LW_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    size_t n;
    LW_COUNT_ARGS(arg, n);
    char *argv[n + 1];
    argv[0] = (char *)arg;
    va_start(ap, arg);
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return execv(path, argv);
}

LW_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    size_t n;
    LW_COUNT_ARGS(arg, n);
    char *argv[n + 1];
    argv[0] = (char *)arg;
    va_start(ap, arg);
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return execvp(file, argv);
}

LW_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    size_t n;
    LW_COUNT_ARGS(arg, n);
    char *argv[n + 1];
    argv[0] = (char *)arg;
    va_start(ap, arg);
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(ap, char *);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

/* posix_spawn: the child starts with the caller's real mask unless the
 * attributes set one; give it the program's view instead. */
static const posix_spawnattr_t *lw_spawn_attr(const posix_spawnattr_t *attr, char *const envp[],
                                              posix_spawnattr_t *mine)
{
    short flags = 0;
    if (attr && posix_spawnattr_getflags(attr, &flags) == 0 && (flags & POSIX_SPAWN_SETSIGMASK))
        return attr; /* the program chose the child's mask */
    sigset_t m;
    if (!lw_sigmask_for_child(envp, &m))
        return attr;
    if (attr)
        *mine = *attr;
    else if (posix_spawnattr_init(mine) != 0)
        return attr;
    posix_spawnattr_setflags(mine, (short)(flags | POSIX_SPAWN_SETSIGMASK));
    posix_spawnattr_setsigmask(mine, &m);
    return mine;
}

LW_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    posix_spawnattr_t mine;
    return LW_REAL(posix_spawn)(pid, path, fa, lw_spawn_attr(attr, envp, &mine), argv, envp);
}

LW_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    posix_spawnattr_t mine;
    return LW_REAL(posix_spawnp)(pid, file, fa, lw_spawn_attr(attr, envp, &mine), argv, envp);
}
