/* lw_render_json.c — `--format=json`: one object, stable key order, every
 * field documented in docs/report-json.md and described by
 * docs/report.schema.json. Scripts depend on it: only ever add keys.
 *
 * Writes JSON by hand through lw_put_json_str (no jansson here, so the
 * renderers stay free of it). Optional values are null, never missing.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static void put_key(FILE *out, const char *indent, const char *key)
{
    fprintf(out, "%s\"%s\": ", indent, key);
}

static void put_int_or_null(FILE *out, int64_t v, bool present)
{
    if (present)
        fprintf(out, "%" PRId64, v);
    else
        fputs("null", out);
}

static void put_frame(FILE *out, const struct lw_sym_frame *fr)
{
    fputs("{\"function\": ", out);
    lw_put_json_str(out, fr->function);
    fputs(", \"file\": ", out);
    lw_put_json_str(out, fr->file);
    fputs(", \"line\": ", out);
    put_int_or_null(out, fr->line, fr->line > 0);
    fputs(", \"module\": ", out);
    lw_put_json_str(out, fr->module);
    fprintf(out, ", \"offset\": %" PRIu64 ", \"ip\": %" PRIu64 ", \"inlined\": %s}", fr->offset,
            fr->ip, fr->inlined ? "true" : "false");
}

static void put_stack(FILE *out, const struct lw_sym_stack *st, const char *indent)
{
    if (!st->n || !st->frames) {
        fputs("[]", out);
        return;
    }
    fputs("[\n", out);
    for (size_t i = 0; i < st->n; i++) {
        fprintf(out, "%s  ", indent);
        put_frame(out, &st->frames[i]);
        fputs(i + 1 < st->n ? ",\n" : "\n", out);
    }
    fprintf(out, "%s]", indent);
}

static void put_ids(FILE *out, enum lw_kind k, const int *ids, size_t n)
{
    putc('[', out);
    for (size_t i = 0; ids && i < n; i++) {
        fputs(i ? ", " : "", out);
        fprintf(out, lw_id_fmt(k), ids[i]);
    }
    putc(']', out);
}

static void put_finding(FILE *out, const struct lw_finding *f)
{
    const char *in = "      ";
    fputs("    {\n", out);
    fprintf(out, "%s\"kind\": \"%s\",\n", in, lw_kind_name(f->kind));
    fprintf(out, "%s\"verdict\": \"%s\",\n", in, lw_verdict_name(f->verdict));
    put_key(out, in, "site");
    lw_put_json_str(out, f->site);
    fputs(",\n", out);
    put_key(out, in, "title");
    lw_put_json_str(out, f->title);
    fprintf(out, ",\n%s\"count\": %zu,\n", in, f->count);
    fprintf(out, "%s\"fails\": %s,\n", in, f->fails ? "true" : "false");
    put_key(out, in, "ids");
    put_ids(out, f->kind, f->ids, f->count);
    fputs(",\n", out);
    put_key(out, in, "tids");
    put_ids(out, f->kind, f->kind == LW_KIND_THREAD ? f->ids : NULL, f->count);
    fputs(",\n", out);
    put_key(out, in, "name");
    lw_put_json_str(out, f->name);
    fputs(",\n", out);
    put_key(out, in, "start_routine");
    lw_put_json_str(out, f->start_routine);
    fputs(",\n", out);
    put_key(out, in, "location");
    const struct lw_sym_frame *uf = f->location_file ? NULL : lw_user_frame(&f->creation_stack);
    if (f->location_file || uf) {
        fputs("{\"file\": ", out);
        lw_put_json_str(out, f->location_file ? f->location_file : uf->file);
        fputs(", \"line\": ", out);
        int line = f->location_file ? f->location_line : uf->line;
        put_int_or_null(out, line, line > 0);
        fputs("}", out);
    } else
        fputs("null", out);
    fputs(",\n", out);
    put_key(out, in, "creation_stack");
    put_stack(out, &f->creation_stack, in);
    if (f->py_creation_stack.n) {
        fputs(",\n", out);
        put_key(out, in, "python_creation_stack");
        put_stack(out, &f->py_creation_stack, in);
    }
    fputs(",\n", out);

    put_key(out, in, "blocked");
    if (f->blocked) {
        fputs("{\n", out);
        fprintf(out, "%s  \"call\": ", in);
        lw_put_json_str(out, f->blocked_call);
        fprintf(out, ",\n%s  \"family\": ", in);
        lw_put_json_str(out, lw_family_name(f->blocked_family));
        fprintf(out, ",\n%s  \"object\": ", in);
        lw_put_json_str(out, f->blocked_object);
        fprintf(out, ",\n%s  \"for_ms\": %" PRId64 ",\n", in, f->blocked_for_ms);
        fprintf(out, "%s  \"timeout_infinite\": %s,\n", in,
                f->blocked_timeout_infinite ? "true" : "false");
        fprintf(out, "%s  \"wakes_since_cancel\": %" PRId64 ",\n", in, f->wakes_since_cancel);
        fprintf(out, "%s  \"stack\": ", in);
        put_stack(out, &f->blocked_stack, "        ");
        fprintf(out, "\n%s}", in);
    } else
        fputs("null", out);
    fprintf(out, ",\n%s\"running\": %s,\n", in,
            (f->kind == LW_KIND_THREAD && !f->blocked && f->verdict != LW_VERDICT_UNJOINED)
                ? "true"
                : "false");
    fprintf(out, "%s\"wakes_since_cancel\": %" PRId64 ",\n", in, f->wakes_since_cancel);

    put_key(out, in, "context");
    fputs("{\"cause\": ", out);
    lw_put_json_str(out, lw_cause_name(f->ctx_cause));
    fputs(", \"cancelled_ago_ms\": ", out);
    put_int_or_null(out, f->ctx_cancelled_ago_ms, f->ctx_cancelled_ago_ms >= 0);
    fputs(", \"label\": ", out);
    lw_put_json_str(out, f->ctx_label);
    fputs(", \"origin_tid\": ", out);
    put_int_or_null(out, f->ctx_origin_tid, f->ctx_origin_tid != 0);
    fputs("},\n", out);

    put_key(out, in, "creators");
    fputs("[", out);
    for (size_t i = 0; f->creators && i < f->ncreators; i++) {
        fprintf(out, "%s{\"tid\": %d, \"function\": ", i ? ", " : "", f->creators[i].tid);
        lw_put_json_str(out, f->creators[i].function);
        fputs(", \"label\": ", out);
        lw_put_json_str(out, f->creators[i].label);
        fputs("}", out);
    }
    fputs("],\n", out);

    put_key(out, in, "detail");
    lw_put_json_str(out, f->detail);
    fputs(",\n", out);
    put_key(out, in, "socket");
    if (f->kind == LW_KIND_SOCKET || f->kind == LW_KIND_FD) {
        fputs("{\"kind\": ", out);
        lw_put_json_str(out, f->sock_kind);
        fputs(", \"local\": ", out);
        lw_put_json_str(out, f->sock_local);
        fputs(", \"peer\": ", out);
        lw_put_json_str(out, f->sock_peer);
        fputs("}", out);
    } else
        fputs("null", out);
    fputs(",\n", out);
    put_key(out, in, "timer");
    if (f->kind == LW_KIND_TIMER)
        fprintf(out, "{\"interval_ms\": %" PRId64 ", \"armed\": %s}", f->timer_interval_ms,
                f->timer_armed ? "true" : "false");
    else
        fputs("null", out);
    fputs(",\n", out);
    put_key(out, in, "exited_ago_ms");
    put_int_or_null(out, f->exited_ago_ms, f->exited_ago_ms >= 0);
    fputs("\n    }", out);
}

static int put_findings(FILE *out, const char *key,
                        const struct lw_finding *f, size_t n)
{
    fprintf(out, "  \"%s\": [", key);
    if (!n) {
        fputs("],\n", out);
        return 0;
    }
    const struct lw_finding **v = lw_order_findings(f, n);
    if (!v)
        return -ENOMEM;
    fputs("\n", out);
    for (size_t i = 0; i < n; i++) {
        put_finding(out, v[i]);
        fputs(i + 1 < n ? ",\n" : "\n", out);
    }
    fputs("  ],\n", out);
    free(v);
    return 0;
}

static void put_tally_obj(FILE *out, const struct lw_tally *t)
{
    fprintf(out, "{\"instances\": %zu, \"sites\": %zu", t->total, t->sites);
    for (unsigned v = 0; v < LW_VERDICT_COUNT; v++)
        for (unsigned k = 0; k < LW_KIND_COUNT; k++)
            fprintf(out, ", \"%s_%s\": %zu", lw_verdict_name((enum lw_verdict)v),
                    lw_kind_name((enum lw_kind)k), t->by[v][k]);
    putc('}', out);
}

static void put_summary(FILE *out, const struct lw_report *r)
{
    struct lw_tally t;
    fputs("  \"summary\": {\n    \"new\": ", out);
    lw_tally_findings(&t, r->new_findings, r->n_new);
    put_tally_obj(out, &t);
    fputs(",\n    \"persisting\": ", out);
    lw_tally_findings(&t, r->persisting, r->n_persisting);
    put_tally_obj(out, &t);
    fputs(",\n    \"fixed\": ", out);
    lw_tally_findings(&t, r->fixed, r->n_fixed);
    put_tally_obj(out, &t);
    fprintf(out, ",\n    \"failing\": %zu,\n    \"fail_on\": [", r->failing);
    bool first = true;
    for (unsigned b = 0; b < LW_FAIL_NBITS; b++)
        if (r->fail_on & (1u << b)) {
            fprintf(out, "%s\"%s\"", first ? "" : ", ", lw_fail_word(b));
            first = false;
        }
    fprintf(out, "],\n    \"fails\": %s,\n    \"line\": ", r->fails ? "true" : "false");
    /* The text SUMMARY line, so scripts can echo the same words. */
    char *line = lw_summary_str(r);
    lw_put_json_str(out, line ? line : "");
    free(line);
    fputs("\n  },\n", out);
}

static void put_string_array(FILE *out, char **v, size_t n)
{
    putc('[', out);
    for (size_t i = 0; v && i < n; i++) {
        fputs(i ? ", " : "", out);
        lw_put_json_str(out, v[i]);
    }
    putc(']', out);
}

int lw_render_json(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !r)
        return -EINVAL;
    fputs("{\n  \"leakwatch_diff\": 1,\n  \"version\": \"" LW_VERSION "\",\n  \"before\": ", out);
    if (r->before_path) {
        fputs("{\"path\": ", out);
        lw_put_json_str(out, r->before_path);
        fprintf(out, ", \"pid\": %d}", r->before_pid);
    } else
        fputs("null", out);
    fputs(",\n  \"after\": {\"path\": ", out);
    lw_put_json_str(out, r->after_path);
    fprintf(out, ", \"pid\": %d, \"trigger\": ", r->after_pid);
    lw_put_json_str(out, lw_trigger_name(r->after_trigger));
    fputs(", \"exe\": ", out);
    lw_put_json_str(out, r->exe);
    fprintf(out, "},\n  \"same_process\": %s,\n  \"grace_ms\": %" PRId64 ",\n",
            r->same_process ? "true" : "false", r->grace_ms);
    int rc = put_findings(out, "new", r->new_findings, r->n_new);
    if (!rc)
        rc = put_findings(out, "persisting", r->persisting, r->n_persisting);
    if (!rc)
        rc = put_findings(out, "fixed", r->fixed, r->n_fixed);
    if (rc)
        return rc;
    put_summary(out, r);
    fputs("  \"suppressions\": [", out);
    for (size_t i = 0; r->suppressions && i < r->n_suppressions; i++) {
        fputs(i ? ", " : "", out);
        fputs("{\"pattern\": ", out);
        lw_put_json_str(out, r->suppressions[i].pattern);
        fprintf(out, ", \"hits\": %zu}", r->suppressions[i].hits);
    }
    fputs("],\n  \"warnings\": ", out);
    put_string_array(out, r->warnings, r->n_warnings);
    fprintf(out, ",\n  \"baseline\": {\"accepted\": %zu, \"expired\": ", r->baseline_accepted);
    put_string_array(out, r->baseline_expired, r->n_baseline_expired);
    fputs("}\n}\n", out);
    return ferror(out) ? -EIO : 0;
}

/* A gate run: {"leakwatch_gate": 1, "processes": [{pid, exe, status, note,
 * report}], "summary": {status: count}}; report is the diff's JSON object
 * above, or null for a process that could not be checked. */
int lw_render_gate_json(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    if (!out || !g)
        return -EINVAL;
    size_t by[LW_PROC_COUNT] = {0};
    fputs("{\n\"leakwatch_gate\": 1,\n\"version\": \"" LW_VERSION "\",\n\"processes\": [", out);
    for (size_t i = 0; i < g->nprocs; i++) {
        const struct lw_gate_proc *p = &g->procs[i];
        if ((unsigned)p->status < LW_PROC_COUNT)
            by[p->status]++;
        fprintf(out, "%s\n{\"pid\": %d, \"exe\": ", i ? "," : "", p->pid);
        lw_put_json_str(out, p->exe);
        fputs(", \"status\": ", out);
        lw_put_json_str(out, lw_proc_status_name(p->status));
        fputs(", \"note\": ", out);
        lw_put_json_str(out, p->note);
        fputs(", \"report\": ", out);
        if (p->report) {
            int rc = lw_render_json(out, p->report, o);
            if (rc)
                return rc;
        } else
            fputs("null", out);
        putc('}', out);
    }
    fputs("\n],\n\"summary\": {", out);
    for (unsigned s = 0; s < LW_PROC_COUNT; s++)
        fprintf(out, "%s\"%s\": %zu", s ? ", " : "", lw_proc_status_name((enum lw_proc_status)s), by[s]);
    fputs("}\n}\n", out);
    return ferror(out) ? -EIO : 0;
}
