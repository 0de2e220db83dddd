/* lw_render_text.c — the default report, read by people in a terminal or a
 * CI log: like a goroutine dump crossed with a sanitizer report.
 *
 * Per site, worst first: a header line (section, count, verdict, kind,
 * title, site id), what the thread is blocked in and for how long, its
 * wake-ups since its scope ended, when and why that scope ended, the blocked
 * and creation stacks as numbered frames and the creator chain. Then short
 * sections for persisting and fixed sites, suppressions, baseline notes,
 * warnings, and always one final SUMMARY line. ANSI colour only when asked.
 * Never symbolizes or judges; never prints a raw control character from the
 * host program.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define IDS_CAP 8

struct style {
    const char *hdr, *dim, *bold, *off;
};

static struct style style_for(const struct lw_render_opts *o, const char *section)
{
    struct style s = {"", "", "", ""};
    if (o && o->color) {
        s.hdr = strcmp(section, "NEW") == 0 ? "\033[1;31m"
                : strcmp(section, "FIXED") == 0 ? "\033[1;32m"
                                                 : "\033[1;33m";
        s.dim = "\033[2m";
        s.bold = "\033[1m";
        s.off = "\033[0m";
    }
    return s;
}

static const char *creator_function(const struct lw_finding *f, int tid)
{
    for (size_t i = 0; f->creators && i < f->ncreators; i++)
        if (f->creators[i].tid == tid)
            return f->creators[i].function;
    return NULL;
}

/* "thread 4102 (handle_request) exited" and the like. */
static void put_cause(FILE *out, const struct lw_finding *f)
{
    enum lw_cause cause = f->ctx_cause;
    const char *fn = f->ctx_origin_tid ? creator_function(f, f->ctx_origin_tid) : NULL;
    bool self = f->kind == LW_KIND_THREAD && f->ids && f->count && f->ids[0] == f->ctx_origin_tid;
    if (cause == LW_CAUSE_PROCESS_EXIT) {
        fputs("the process is exiting", out);
        return;
    }
    if (cause == LW_CAUSE_EXPLICIT) {
        fputs("its context was cancelled with leakwatch_ctx_cancel", out);
        if (f->ctx_origin_tid)
            fprintf(out, " (context of thread %d)", f->ctx_origin_tid);
        return;
    }
    if (f->ctx_origin_tid) {
        fprintf(out, "%sthread %d", self ? "this " : "", f->ctx_origin_tid);
        if (fn) {
            fputs(" (", out);
            lw_put_text(out, fn);
            putc(')', out);
        }
    } else {
        fputs("the owning thread", out);
    }
    if (cause == LW_CAUSE_EXITED)
        fputs(" exited", out);
    else if (cause == LW_CAUSE_PTHREAD_CANCEL)
        fputs(" was the target of pthread_cancel", out);
    else if (cause != LW_CAUSE_NONE) {
        fputs(" ended (", out);
        lw_put_text(out, lw_cause_name(cause));
        putc(')', out);
    } else
        fputs(" ended (cause unknown)", out);
}

static void put_instances(FILE *out, const struct lw_finding *f)
{
    bool fd = f->kind == LW_KIND_SOCKET || f->kind == LW_KIND_FD;
    fprintf(out, "  %s", fd ? "fd" : lw_kind_name(f->kind));
    if (f->ids && f->count) {
        putc(' ', out);
        fprintf(out, lw_id_fmt(f->kind), f->ids[0]);
    }
    /* A socket's name is its kind, which the address part says anyway. */
    if (f->name && *f->name && !(fd && f->sock_kind)) {
        fputs(f->kind == LW_KIND_THREAD ? " \"" : " (", out);
        lw_put_text(out, f->name);
        fputs(f->kind == LW_KIND_THREAD ? "\"" : ")", out);
    }
    if (fd && (f->sock_kind || f->sock_local || f->sock_peer)) {
        fputs(" (", out);
        lw_put_text(out, f->sock_kind ? f->sock_kind : "socket");
        if (f->sock_local) {
            putc(' ', out);
            lw_put_text(out, f->sock_local);
        }
        if (f->sock_peer) {
            fputs(" -> ", out);
            lw_put_text(out, f->sock_peer);
        }
        putc(')', out);
    }
    if (f->start_routine) {
        fputs(f->kind == LW_KIND_TIMER ? ", callback " : ", start routine ", out);
        lw_put_text(out, f->start_routine);
    }
    if (f->count > 1) {
        fprintf(out, " and %zu more like this", f->count - 1);
        if (f->ids) {
            fprintf(out, " (%s ", f->kind == LW_KIND_THREAD ? "tids" : "ids");
            lw_put_ids_k(out, f->kind, f->ids, f->count, 1, IDS_CAP);
            putc(')', out);
        }
    }
    putc('\n', out);
}

static void put_state(FILE *out, const struct lw_finding *f)
{
    char d[48];
    if (f->kind == LW_KIND_TIMER) {
        if (!f->timer_armed)
            fputs("  not armed, but never deleted\n", out);
        else if (f->timer_interval_ms > 0) {
            lw_fmt_duration(d, sizeof d, f->timer_interval_ms);
            fprintf(out, "  armed, fires every %s\n", d);
        } else
            fputs("  armed, one-shot\n", out);
    }
    /* The analyzer's detail sentence, when there is one, says it better. */
    if (f->verdict == LW_VERDICT_UNJOINED && !f->detail) {
        lw_fmt_duration(d, sizeof d, f->exited_ago_ms);
        fprintf(out, "  exited %s ago and was never joined or detached: its stack and TLS stay "
                     "allocated\n",
                d);
    }
    if (f->blocked) {
        fputs("  blocked in ", out);
        lw_put_text(out, f->blocked_call ? f->blocked_call : "an unknown call");
        if (lw_family_adds(f)) {
            fputs(" (", out);
            lw_put_text(out, lw_family_name(f->blocked_family));
            putc(')', out);
        }
        if (f->blocked_object) {
            fputs(" on ", out);
            lw_put_text(out, f->blocked_object);
        }
        lw_fmt_duration(d, sizeof d, f->blocked_for_ms);
        fprintf(out, " for %s%s\n", d, f->blocked_timeout_infinite ? ", no timeout" : "");
    } else if (f->kind == LW_KIND_THREAD && f->verdict != LW_VERDICT_UNJOINED) {
        fputs("  running: not blocked in any call leakwatch sees\n", out);
    }
    if (f->ctx_cancelled_ago_ms >= 0 && f->kind == LW_KIND_THREAD &&
        f->verdict != LW_VERDICT_UNJOINED) {
        /* wakes_since_cancel counts waits entered after the scope ended:
         * a thread blocked now has woken one time fewer than that. */
        int64_t woke = f->wakes_since_cancel - (f->blocked && f->wakes_since_cancel > 0);
        if (woke > 0)
            fprintf(out, "  woke %" PRId64 " time%s since its scope ended \xe2\x80\x94 still ticking\n",
                    woke, woke == 1 ? "" : "s");
        else if (f->blocked)
            fputs("  has not woken since its scope ended\n", out);
    }
}

void lw_text_finding(FILE *out, const struct lw_finding *f, const char *section,
                     const struct lw_render_opts *o)
{
    struct style s = style_for(o, section);
    int maxf = o ? o->max_frames : 0;
    fprintf(out, "%s%s %zu ", s.hdr, section, f->count);
    lw_put_what(out, f, f->count);
    fputs(": ", out);
    lw_put_text(out, f->title);
    fprintf(out, "%s %s[site %s]%s\n", s.off, s.dim, f->site ? f->site : "?", s.off);

    put_instances(out, f);
    put_state(out, f);
    if (f->ctx_cancelled_ago_ms >= 0) {
        char d[48];
        lw_fmt_duration(d, sizeof d, f->ctx_cancelled_ago_ms);
        fprintf(out, "  its scope ended %s ago: ", d);
        put_cause(out, f);
        putc('\n', out);
    }
    if (f->ctx_label) {
        fputs("  context \"", out);
        lw_put_text(out, f->ctx_label);
        fputs("\"\n", out);
    }
    if (f->detail) {
        fputs("  ", out);
        lw_put_text(out, f->detail);
        putc('\n', out);
    }
    if (f->blocked && f->blocked_stack.n) {
        fprintf(out, "  %sblocked at:%s\n", s.bold, s.off);
        lw_put_stack(out, &f->blocked_stack, maxf, "    ");
    }
    fprintf(out, "  %screated at:%s\n", s.bold, s.off);
    lw_put_stack(out, &f->creation_stack, maxf, "    ");
    if (f->py_creation_stack.n) {
        fprintf(out, "  %sstarted from Python at:%s\n", s.bold, s.off);
        lw_put_py_stack(out, &f->py_creation_stack, maxf, "    ");
    }
    if (f->ncreators) {
        fputs("  ", out);
        lw_put_creators(out, f->creators, f->ncreators);
        putc('\n', out);
    }
}

char *lw_text_finding_str(const struct lw_finding *f, const char *section,
                          const struct lw_render_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    lw_text_finding(m, f, section, o);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Persisting and fixed sites: one line each, the full story was told when
 * they were new. */
static void put_short(FILE *out, const struct lw_finding *f)
{
    fprintf(out, "  %zu ", f->count);
    lw_put_what(out, f, f->count);
    fputs(": ", out);
    lw_put_text(out, f->title);
    fprintf(out, " [site %s]", f->site ? f->site : "?");
    if (f->ids && f->count) {
        fprintf(out, " (%s ", f->kind == LW_KIND_THREAD ? "tids" : "ids");
        lw_put_ids_k(out, f->kind, f->ids, f->count, 0, IDS_CAP);
        putc(')', out);
    }
    if (f->ctx_label) {
        fputs(" context \"", out);
        lw_put_text(out, f->ctx_label);
        putc('"', out);
    }
    putc('\n', out);
}

static int put_section(FILE *out, const char *name, const struct lw_finding *f, size_t n,
                       const struct lw_render_opts *o, bool full)
{
    if (!n)
        return 0;
    const struct lw_finding **v = lw_order_findings(f, n);
    if (!v)
        return -ENOMEM;
    struct style s = style_for(o, name);
    if (!full)
        fprintf(out, "%s%s:%s\n", s.hdr, name, s.off);
    for (size_t i = 0; i < n; i++) {
        if (full) {
            lw_text_finding(out, v[i], name, o);
            putc('\n', out);
        } else
            put_short(out, v[i]);
    }
    if (!full)
        putc('\n', out);
    free(v);
    return 0;
}

static void put_header(FILE *out, const struct lw_report *r)
{
    char d[48];
    fputs("leakwatch: ", out);
    if (r->before_path) {
        lw_put_text(out, r->before_path);
        fprintf(out, " (pid %d) -> ", r->before_pid);
    } else
        fputs("empty baseline -> ", out);
    lw_put_text(out, r->after_path ? r->after_path : "?");
    fprintf(out, " (pid %d", r->after_pid);
    {
        fputs(", ", out);
        lw_put_text(out, lw_trigger_name(r->after_trigger));
        fputs(" snapshot", out);
    }
    lw_fmt_duration(d, sizeof d, r->grace_ms);
    fprintf(out, "), grace %s%s\n", d,
            r->before_path ? (r->same_process ? ", same process" : ", different processes") : "");
    if (r->exe) {
        fputs("leakwatch: program ", out);
        lw_put_text(out, r->exe);
        putc('\n', out);
    }
    putc('\n', out);
}

static void put_notes(FILE *out, const struct lw_report *r)
{
    if (r->n_suppressions) {
        fputs("Suppressions used:\n  count pattern\n", out);
        for (size_t i = 0; i < r->n_suppressions; i++) {
            fprintf(out, "  %5zu ", r->suppressions[i].hits);
            lw_put_text(out, r->suppressions[i].pattern);
            putc('\n', out);
        }
        putc('\n', out);
    }
    if (r->baseline_accepted || r->n_baseline_expired) {
        fprintf(out, "Baseline: %zu instance%s accepted\n", r->baseline_accepted,
                r->baseline_accepted == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_baseline_expired; i++) {
            fputs("  expired: ", out);
            lw_put_text(out, r->baseline_expired[i]);
            putc('\n', out);
        }
        putc('\n', out);
    }
    if (r->n_warnings) {
        fputs("Warnings:\n", out);
        for (size_t i = 0; i < r->n_warnings; i++) {
            fputs("  ", out);
            lw_put_text(out, r->warnings[i]);
            putc('\n', out);
        }
        putc('\n', out);
    }
}

int lw_render_text(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    if (!out || !r)
        return -EINVAL;
    put_header(out, r);
    int rc = put_section(out, "NEW", r->new_findings, r->n_new, o, true);
    if (!rc)
        rc = put_section(out, "PERSISTING", r->persisting, r->n_persisting, o, false);
    if (!rc)
        rc = put_section(out, "FIXED", r->fixed, r->n_fixed, o, false);
    if (rc)
        return rc;
    put_notes(out, r);
    bool color = o && o->color;
    fputs(color ? "\033[1mSUMMARY: " : "SUMMARY: ", out);
    lw_put_summary(out, r);
    fputs(color ? "\033[0m\n" : "\n", out);
    return ferror(out) ? -EIO : 0;
}

/* A gate run: each process's heading, then its report. */
int lw_render_gate_text(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    if (!out || !g)
        return -EINVAL;
    for (size_t i = 0; i < g->nprocs; i++) {
        lw_put_gate_heading(out, "====", &g->procs[i]);
        if (g->procs[i].report) {
            int rc = lw_render_text(out, g->procs[i].report, o);
            if (rc)
                return rc;
            putc('\n', out);
        }
    }
    return ferror(out) ? -EIO : 0;
}
