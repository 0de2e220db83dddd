/* lw_launch.h — starting a command under the preload (`leakwatch run` and
 * the gate): where libleakwatch.so is, whether the command can be observed
 * at all (static, setuid, non-glibc, a script whose interpreter is one of
 * those), the environment it gets, and the snapshot signal blocked in the
 * mask it starts with.
 *
 * Must never: change the command's arguments, cwd or stdio, or leave a
 * descriptor of ours open across exec.
 */
#ifndef LW_LAUNCH_H
#define LW_LAUNCH_H

#include <stddef.h>

/* Start the command with the snapshot signal blocked (docs/design.md §4.1),
 * so a signal sent before the shim initialised waits instead of killing
 * it: the shim takes a pending one in its own thread (§3.5). */
#ifndef LW_LAUNCH_BLOCKS_SIGNAL
#define LW_LAUNCH_BLOCKS_SIGNAL 1
#endif

/* The preload library's absolute path: $LEAKWATCH_LIB, else beside this
 * program (build tree), ../lib/leakwatch/ (installed), ../build/. On
 * failure returns NULL with the message in err. */
const char *lw_launch_find_lib(char *err, size_t errlen);

/* Resolves cmd like a shell (PATH when it has no '/') and checks that the
 * preload can work on it. Returns 0 with the path in path_out, or the exit
 * status to use (126, 127, 125) with the message in err. */
int lw_launch_check_cmd(const char *cmd, char *path_out, size_t pathlen, char *err, size_t errlen);

/* LEAKWATCH_OPTIONS: base ("k=v:k=v", may be NULL) with every key of
 * kv[0..n) replaced by the given value, kv appended in order. malloc'd. */
char *lw_launch_merge_opts(const char *base, const char *const *kv, size_t n);

/* The signal number the options name (signal=NAME|NUMBER, default
 * SIGUSR2); 0 for none or an unknown name. */
int lw_launch_snapshot_signal(const char *opts);

/* Sets LD_PRELOAD (lib first) and LEAKWATCH_OPTIONS (unset when empty) in
 * this process's environment and execs path with argv, the snapshot signal
 * blocked when LW_LAUNCH_BLOCKS_SIGNAL. Returns only on failure (errno). */
void lw_launch_exec(const char *lib, const char *opts, const char *path, char *const argv[]);

#endif
