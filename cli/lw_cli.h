/* lw_cli.h — what every leakwatch command shares (jq's main.c habits): the
 * program name in messages, exit codes as one named enum, usage errors and
 * dying, numbers with range checks, the colour decision, output files
 * written atomically and never over an input.
 *
 * Must never: print a partial report after an error, or exit with a status
 * that is not one of enum lw_exit (a command's own status passes through
 * `run` and `gate` untouched, but that is the command's, not ours).
 */
#ifndef LW_CLI_H
#define LW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of every leakwatch command (leakwatch(1)). */
enum lw_exit {
    LW_EXIT_CLEAN = 0,      /* no new findings */
    LW_EXIT_FINDINGS = 1,   /* new findings (gate: --exitcode) / no snapshot in time */
    LW_EXIT_USAGE = 2,      /* usage or input error: the message names the file and what is wrong */
    LW_EXIT_CANNOT = 125,   /* leakwatch cannot work on this command or system */
    LW_EXIT_NOEXEC = 126,   /* like a shell: found but not executable */
    LW_EXIT_NOTFOUND = 127, /* like a shell: not found */
};

/* "leakwatch-diff", "leakwatch gate", ...: the prefix of every message. */
extern const char *lw_prog;

/* "PROG: message\n" on stderr. */
void lw_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* lw_msg, then exit(code). */
_Noreturn void lw_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A whole decimal number from 0 to max; otherwise dies with exit 2 naming
 * the option: "--grace: expected a number from 0 to N, got "x"". */
long long lw_num(const char *opt, const char *arg, long long max);

/* --color=auto|always|never: dies on another word. */
void lw_color_check(const char *when);
/* Colour for this stream? always; never; auto = a terminal, NO_COLOR unset,
 * TERM not "dumb". */
bool lw_color_wanted(const char *when, FILE *f);

/* An output file written atomically: a temporary file beside PATH, renamed
 * over it by lw_out_commit (so a reader never sees half a report and a
 * failed run leaves the old file). Opening it is the writability check, so
 * commands open it before their real work. */
struct lw_out {
    FILE *f;          /* stdout when path is NULL */
    char *path, *tmp;
};
/* Dies with exit 2 ("-o PATH: cannot write: why") when PATH is a directory,
 * is one of inputs[0..ninputs) (the same file, by device and inode), or its
 * directory cannot take a new file. path NULL: standard output. */
void lw_out_open(struct lw_out *o, const char *path, const char *const *inputs, size_t ninputs);
/* Flushes and renames into place; -errno (and the file removed) on failure. */
int lw_out_commit(struct lw_out *o);
/* Removes the temporary file (error paths). */
void lw_out_abort(struct lw_out *o);

/* Default --max-input-mb (a bounded amount of memory per snapshot). */
#define LW_CLI_MAX_INPUT_MB 256

/* The commands (lw_cmd_*.c). argv[0] is the command's name. */
int lw_cmd_diff(int argc, char **argv);
int lw_cmd_show(int argc, char **argv);
int lw_cmd_run(int argc, char **argv);
int lw_cmd_snapshot(int argc, char **argv);
int lw_cmd_gate(int argc, char **argv);
int lw_cmd_gate_report(int argc, char **argv);

#endif
