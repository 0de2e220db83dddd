/* test_analyzer_util.h — builders for hand-made snapshots in the analyzer
 * unit tests. Times are given in milliseconds; the snapshot is taken at
 * `now_ms`. Strings returned are malloc'd and leak on purpose (each test
 * runs in its own forked process). */
#ifndef TEST_ANALYZER_UTIL_H
#define TEST_ANALYZER_UTIL_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"

/* Every string made here is freed at exit (before LeakSanitizer looks). */
static char **tu_strings;
static size_t tu_nstrings;
static void tu_free_all(void)
{
    for (size_t i = 0; i < tu_nstrings; i++)
        free(tu_strings[i]);
    free(tu_strings);
    tu_strings = NULL;
    tu_nstrings = 0;
}

__attribute__((format(printf, 1, 2), unused))
static char *tu_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (!tu_strings)
        atexit(tu_free_all);
    tu_strings = realloc(tu_strings, (tu_nstrings + 1) * sizeof(char *));
    tu_strings[tu_nstrings++] = p;
    return p;
}

/* A context; cancelled_ms < 0 = live; parent 0 = root. */
__attribute__((unused)) static char *tu_ctx(int id, int parent, long cancelled_ms, const char *cause, int origin, int owner)
{
    return tu_fmt("{\"id\":%d,\"parent\":%s,\"label\":null,\"kind\":\"%s\",\"owner_tid\":%d,\"owner_start\":null,"
                  "\"created_ns\":0,\"cancelled_ns\":%s,\"cause\":%s,\"cancel_origin\":%s,\"background\":false}",
                  id, parent ? tu_fmt("%d", parent) : "null", parent ? "thread" : "root", owner,
                  cancelled_ms >= 0 ? tu_fmt("%ld", cancelled_ms * 1000000L) : "null",
                  cause ? tu_fmt("\"%s\"", cause) : "null", origin ? tu_fmt("%d", origin) : "null");
}

/* A blocked object; owner/holder 0 = null. */
__attribute__((unused)) static char *tu_blk(const char *call, const char *family, int owner, int holder, long since_ms)
{
    return tu_fmt("{\"call\":\"%s\",\"family\":\"%s\",\"source\":\"intercepted\",\"object\":4096,\"fd\":null,"
                  "\"fds\":[],\"object_owner\":%s,\"holder_tid\":%s,\"join_target_tid\":null,\"since_ns\":%ld,"
                  "\"timeout_ns\":null,\"stack\":null,\"caller\":null}",
                  call, family, owner ? tu_fmt("%d", owner) : "null", holder ? tu_fmt("%d", holder) : "null",
                  since_ms * 1000000L);
}

/* A thread; blk NULL = running (or exited when exited_ms >= 0). extra is
 * spliced in (e.g. "\"detached\":true,"). */
__attribute__((unused)) static char *tu_thr(int tid, const char *kind, int ctx, const char *blk, long exited_ms, const char *extra)
{
    const char *state = exited_ms >= 0 ? "exited" : blk ? "blocked" : "running";
    return tu_fmt("{\"tid\":%d,\"kind\":\"%s\",\"name\":\"t%d\",\"start_routine\":null,\"created_ns\":%d,"
                  "\"creator_tid\":1,\"context\":%d,\"creation_stack\":null,\"state\":\"%s\",\"blocked\":%s,"
                  "%s\"waits\":3,\"wakes_since_cancel\":2,\"exited_ns\":%s}",
                  tid, kind, tid, tid * 10, ctx, state, blk ? blk : "null", extra ? extra : "",
                  exited_ms >= 0 ? tu_fmt("%ld", exited_ms * 1000000L) : "null");
}

__attribute__((unused)) static char *tu_doc(int pid, const char *trigger, long now_ms, const char *ctxs, const char *threads,
                           const char *timers, const char *sockets)
{
    return tu_fmt("{\"leakwatch_schema\":1,\"pid\":%d,\"exe\":\"/bin/t\",\"trigger\":\"%s\","
                  "\"taken_at\":{\"realtime_ns\":1,\"monotonic_ns\":%ld},\"modules\":[],\"stacks\":[],"
                  "\"contexts\":[%s],\"threads\":[%s],\"timers\":[%s],\"sockets\":[%s]}",
                  pid, trigger, now_ms * 1000000L, ctxs, threads, timers ? timers : "", sockets ? sockets : "");
}

__attribute__((unused)) static struct lw_snapshot *tu_parse(const char *json)
{
    char err[512] = "";
    struct lw_snapshot *s = lw_snapshot_parse("t.json", json, strlen(json), err, sizeof err);
    ck_assert_msg(s != NULL, "parse failed: %s", err);
    return s;
}

/* Loader error message for json (NULL when it loaded). */
__attribute__((unused)) static char *tu_err(const char *json)
{
    static char err[512];
    struct lw_snapshot *s = lw_snapshot_parse("t.json", json, strlen(json), err, sizeof err);
    if (s) {
        lw_snapshot_free(s);
        return NULL;
    }
    return err;
}

#define TU_ROOT tu_ctx(1, 0, -1, NULL, 0, 1)

#endif
