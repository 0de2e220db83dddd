/* torture.h — shared by the torture host program's two halves
 * (torture.c: process lifecycle; torture_waits.c: blocking calls and
 * signals). Test code only; never linked into leakwatch. */
#ifndef LW_TORTURE_H
#define LW_TORTURE_H
#include <leakwatch.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* modes of torture_waits.c; returns the exit status, 2 for an unknown mode */
int torture_waits_main(int argc, char **argv);
/* /proc/self/task/TID/NAME into buf, NUL-terminated; 0 if unreadable */
int read_task_file(int tid, const char *name, char *buf, size_t size);
#endif
