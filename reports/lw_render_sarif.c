/* lw_render_sarif.c — `--format=sarif`: SARIF 2.1.0 for code-review tools,
 * so the line that started a leaked thread gets the annotation.
 *
 * One run; tool.driver names leakwatch and carries one rule per
 * verdict/kind; one result per new or persisting site (fixed sites are not
 * results: nothing left to annotate), located at the creation frame's
 * file:line (first frame with a file outside leakwatch and libc), with the
 * blocked frame as a related location and the site id as the partial
 * fingerprint. Paths under the current directory become relative URIs
 * against %SRCROOT%; others become file:// URIs. Never symbolizes.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rule {
    enum lw_verdict verdict;
    enum lw_kind kind;
    const char *id, *name, *shortd, *help;
};

static const struct rule rules[] = {
    {LW_VERDICT_LEAKED, LW_KIND_THREAD, "LW1001", "LeakedThread",
     "A thread outlived the scope that started it.",
     "The thread's context (the thread or request that created it) ended, yet the thread is "
     "still alive after the grace period. Make it observe cancellation (a stop flag, a closed "
     "fd, pthread_cancel) and join it before its owner returns."},
    {LW_VERDICT_LEAKED, LW_KIND_TIMER, "LW1002", "LeakedTimer",
     "A timer outlived the scope that created it.",
     "The timer is still armed or not deleted although its owner context ended. Delete it "
     "(timer_delete, close the timerfd) when its owner finishes."},
    {LW_VERDICT_LEAKED, LW_KIND_SOCKET, "LW1003", "LeakedSocket",
     "A socket or fd outlived the scope that owned it.",
     "The socket is still open although the contexts that used it ended. Close it on every "
     "path out of its owner."},
    {LW_VERDICT_UNJOINED, LW_KIND_THREAD, "LW1004", "UnjoinedThread",
     "A thread exited but was never joined or detached.",
     "Its stack and thread-local storage stay allocated until someone calls pthread_join; "
     "join it, or create it detached."},
    {LW_VERDICT_STUCK, LW_KIND_THREAD, "LW1005", "StuckThread",
     "A thread is blocked on something that can never wake it.",
     "It waits on a mutex whose holder exited without unlocking it, or is part of a wait-for "
     "cycle. Fix the lock ordering or the missing unlock."},
    {LW_VERDICT_LEAKED, LW_KIND_FD, "LW1006", "LeakedFd",
     "A descriptor (epoll instance, eventfd, pipe, signalfd) outlived the scope that owned it.",
     "The fd is still open although the contexts that used it ended. Close it on every path out "
     "of its owner."},
    {LW_VERDICT_ALIVE_AT_EXIT, LW_KIND_THREAD, "LW1007", "ThreadAliveAtExit",
     "A thread of the process scope was still running at exit.",
     "Nothing stopped it before the process exited (started by main, or parked on something main "
     "owns). Stop and join it at shutdown, or leave alive_at_exit out of --fail-on for a service "
     "that never joins its threads."},
};
#define NRULES (sizeof rules / sizeof rules[0])

static size_t rule_index(const struct lw_finding *f)
{
    for (size_t i = 0; i < NRULES; i++)
        if (rules[i].verdict == f->verdict &&
            (f->verdict != LW_VERDICT_LEAKED || rules[i].kind == f->kind))
            return i;
    return 0;
}

/* Writes "uri": "…" (and uriBaseId when relative) for a source path. */
static void put_artifact(FILE *out, const char *file, const char *cwd)
{
    size_t cl = cwd ? strlen(cwd) : 0;
    fputs("\"artifactLocation\": {\"uri\": \"", out);
    if (file[0] != '/') {
        lw_put_uri_path(out, file);
        fputs("\", \"uriBaseId\": \"%SRCROOT%\"}", out);
    } else if (cl > 1 && strncmp(file, cwd, cl) == 0 && file[cl] == '/') {
        lw_put_uri_path(out, file + cl + 1);
        fputs("\", \"uriBaseId\": \"%SRCROOT%\"}", out);
    } else {
        fputs("file://", out);
        lw_put_uri_path(out, file);
        fputs("\"}", out);
    }
}

static void put_location(FILE *out, const char *file, int line, const char *fn, const char *cwd,
                         const char *msg)
{
    fputs("{\"physicalLocation\": {", out);
    put_artifact(out, file, cwd);
    if (line > 0)
        fprintf(out, ", \"region\": {\"startLine\": %d}", line);
    fputs("}", out);
    if (fn) {
        fputs(", \"logicalLocations\": [{\"fullyQualifiedName\": ", out);
        lw_put_json_str(out, fn);
        fputs(", \"kind\": \"function\"}]", out);
    }
    if (msg) {
        fputs(", \"message\": {\"text\": ", out);
        lw_put_json_str(out, msg);
        fputs("}", out);
    }
    fputs("}", out);
}

static void put_result(FILE *out, const struct lw_finding *f,
                       bool is_new, const char *cwd, bool first)
{
    size_t ri = rule_index(f);
    const char *level = !is_new ? "note" : f->fails ? "error" : "warning";
    struct lw_render_opts plain = {.color = false};
    char *text = lw_text_finding_str(f, is_new ? "NEW" : "PERSISTING", &plain);
    fprintf(out, "%s\n        {\"ruleId\": \"%s\", \"ruleIndex\": %zu, \"level\": \"%s\",\n",
            first ? "" : ",", rules[ri].id, ri, level);
    fputs("         \"message\": {\"text\": ", out);
    /* First line of the text block is the one-line message; the rest goes
     * goes to properties.report, so viewers show a short message. */
    char *nl = text ? strchr(text, '\n') : NULL;
    if (nl)
        *nl = '\0';
    lw_put_json_str(out, text ? text : f->title);
    fputs("},\n", out);

    const struct lw_sym_frame *uf = lw_user_frame(&f->creation_stack);
    const char *file = f->location_file ? f->location_file : uf ? uf->file : NULL;
    int line = f->location_file ? f->location_line : uf ? uf->line : 0;
    const char *fn = uf ? uf->function : f->start_routine;
    fputs("         \"locations\": [", out);
    if (file)
        put_location(out, file, line, fn, cwd, NULL);
    else if (fn) {
        fputs("{\"logicalLocations\": [{\"fullyQualifiedName\": ", out);
        lw_put_json_str(out, fn);
        fputs(", \"kind\": \"function\"}]}", out);
    }
    fputs("],\n", out);
    const struct lw_sym_frame *bf = f->blocked ? lw_user_frame(&f->blocked_stack) : NULL;
    if (bf) {
        fputs("         \"relatedLocations\": [", out);
        char msg[256];
        snprintf(msg, sizeof msg, "blocked here in %s", f->blocked_call ? f->blocked_call : "?");
        /* relatedLocations need an id to be referenced from messages. */
        fputs("{\"id\": 1, ", out);
        fputs("\"physicalLocation\": {", out);
        put_artifact(out, bf->file, cwd);
        if (bf->line > 0)
            fprintf(out, ", \"region\": {\"startLine\": %d}", bf->line);
        fputs("}, \"message\": {\"text\": ", out);
        lw_put_json_str(out, msg);
        fputs("}}],\n", out);
    }
    fputs("         \"partialFingerprints\": {\"leakwatchSite/v1\": ", out);
    lw_put_json_str(out, f->site);
    fprintf(out, "},\n         \"baselineState\": \"%s\",\n", is_new ? "new" : "unchanged");
    fprintf(out, "         \"properties\": {\"kind\": \"%s\", \"verdict\": \"%s\", \"count\": %zu, "
                 "\"ids\": [",
            lw_kind_name(f->kind), lw_verdict_name(f->verdict), f->count);
    for (size_t i = 0; f->ids && i < f->count; i++) {
        fputs(i ? ", " : "", out);
        fprintf(out, lw_id_fmt(f->kind), f->ids[i]);
    }
    fputs("], \"report\": ", out);
    if (nl)
        lw_put_json_str(out, nl + 1);
    else
        fputs("null", out);
    fputs("}}", out);
    free(text);
}

static int put_results(FILE *out, const struct lw_finding *f, size_t n,
                       bool is_new, const char *cwd, bool *first)
{
    if (!n)
        return 0;
    const struct lw_finding **v = lw_order_findings(f, n);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        put_result(out, v[i], is_new, cwd, *first);
        *first = false;
    }
    free(v);
    return 0;
}

#define SARIF_HEAD                                                                                                  \
    "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n  \"runs\": ["

/* One run object: the tool, the results of one diff, its warnings.
 * automation_id (may be NULL) names the process in a gate report. */
static int put_run(FILE *out, const struct lw_report *r, const char *cwd, const char *automation_id)
{
    fputs("\n    {\n"
          "      \"tool\": {\"driver\": {\"name\": \"leakwatch\", \"version\": \"" LW_VERSION "\",\n"
          "        \"informationUri\": \"https://github.com/leakwatch/leakwatch\",\n"
          "        \"rules\": [",
          out);
    for (size_t i = 0; i < NRULES; i++) {
        fprintf(out,
                "%s\n          {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ",
                i ? "," : "", rules[i].id, rules[i].name);
        lw_put_json_str(out, rules[i].shortd);
        fputs("}, \"fullDescription\": {\"text\": ", out);
        lw_put_json_str(out, rules[i].help);
        fputs("}, \"help\": {\"text\": ", out);
        lw_put_json_str(out, rules[i].help);
        fprintf(out, "}, \"defaultConfiguration\": {\"level\": \"error\"}, "
                     "\"properties\": {\"kind\": \"%s\", \"verdict\": \"%s\"}}",
                lw_kind_name(rules[i].kind), lw_verdict_name(rules[i].verdict));
    }
    fputs("]}},\n", out);
    if (automation_id) {
        fputs("      \"automationDetails\": {\"id\": ", out);
        lw_put_json_str(out, automation_id);
        fputs("},\n", out);
    }
    if (cwd) {
        fputs("      \"originalUriBaseIds\": {\"%SRCROOT%\": {\"uri\": \"file://", out);
        lw_put_uri_path(out, cwd);
        fputs("/\"}},\n", out);
    }
    fputs("      \"results\": [", out);
    bool first = true;
    int rc = put_results(out, r->new_findings, r->n_new, true, cwd, &first);
    if (!rc)
        rc = put_results(out, r->persisting, r->n_persisting, false, cwd, &first);
    if (rc)
        return rc;
    fputs(first ? "],\n" : "\n      ],\n", out);
    fputs("      \"invocations\": [{\"executionSuccessful\": true, "
          "\"toolExecutionNotifications\": [",
          out);
    for (size_t i = 0; r->warnings && i < r->n_warnings; i++) {
        fputs(i ? ", " : "", out);
        fputs("{\"level\": \"warning\", \"message\": {\"text\": ", out);
        lw_put_json_str(out, r->warnings[i]);
        fputs("}}", out);
    }
    fputs("]}]\n    }", out);
    return 0;
}

int lw_render_sarif(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !r)
        return -EINVAL;
    char cwdbuf[PATH_MAX];
    const char *cwd = getcwd(cwdbuf, sizeof cwdbuf);
    fputs(SARIF_HEAD, out);
    int rc = put_run(out, r, cwd, NULL);
    if (rc)
        return rc;
    fputs("\n  ]\n}\n", out);
    return ferror(out) ? -EIO : 0;
}

/* A gate run: one run per checked process (automationDetails names it). */
int lw_render_gate_sarif(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !g)
        return -EINVAL;
    char cwdbuf[PATH_MAX];
    const char *cwd = getcwd(cwdbuf, sizeof cwdbuf);
    fputs(SARIF_HEAD, out);
    bool first = true;
    for (size_t i = 0; i < g->nprocs; i++) {
        if (!g->procs[i].report)
            continue;
        char id[64];
        snprintf(id, sizeof id, "leakwatch-gate/pid-%d", g->procs[i].pid);
        if (!first)
            putc(',', out);
        first = false;
        int rc = put_run(out, g->procs[i].report, cwd, id);
        if (rc)
            return rc;
    }
    fputs(first ? "]\n}\n" : "\n  ]\n}\n", out);
    return ferror(out) ? -EIO : 0;
}
