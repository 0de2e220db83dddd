/* lw_finding.c — from judged snapshot records to instances (with sites), and
 * from groups of instances to the renderers' struct lw_finding.
 *
 * Owns: titles, the human form of blocked objects, the creator chain
 * (thread -> its context's ancestors -> root), "why the scope ended"
 * (cause, age, origin thread, nearest label). Must never: decide verdicts
 * (lw_verdict.c does) or print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"

static enum lw_verdict verdict_of(enum lw_status st)
{
    switch (st) {
    case LW_ST_UNJOINED: return LW_VERDICT_UNJOINED;
    case LW_ST_STUCK: return LW_VERDICT_STUCK;
    case LW_ST_ALIVE_AT_EXIT: return LW_VERDICT_ALIVE_AT_EXIT;
    default: return LW_VERDICT_LEAKED;
    }
}

static bool is_finding(enum lw_status st)
{
    return st == LW_ST_LEAKED || st == LW_ST_UNJOINED || st == LW_ST_STUCK || st == LW_ST_ALIVE_AT_EXIT;
}

/* Sockets are network endpoints; every other descriptor leakwatch tracks
 * (epoll, eventfd, pipe, signalfd, inotify) is kind fd (docs/design.md
 * §1.2). "other" is a socket of a family leakwatch does not name. */
bool lw_socket_is_fd(const struct lw_snap_socket *k)
{
    static const char *const net[] = {"tcp", "udp", "unix", "other", NULL};
    for (const char *const *n = net; *n; n++)
        if (strcmp(k->kind, *n) == 0)
            return false;
    return true;
}

/* "epoll instance", "eventfd", "pipe": what a leaked fd is, in words. */
const char *lw_fd_words(const char *kind)
{
    if (strcmp(kind, "epoll") == 0)
        return "epoll instance";
    if (strcmp(kind, "inotify") == 0)
        return "inotify instance";
    return kind;
}

void lw_analyse(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t grace_ms, struct lw_analysis *a)
{
    memset(a, 0, sizeof(*a));
    a->snap = s;
    lw_judge(s, grace_ms, &a->j);
    size_t n = 0;
    for (size_t i = 0; i < s->nthreads; i++)
        n += is_finding(a->j.threads[i]);
    for (size_t i = 0; i < s->ntimers; i++)
        n += is_finding(a->j.timers[i]);
    for (size_t i = 0; i < s->nsockets; i++)
        n += is_finding(a->j.sockets[i]);
    a->insts = lw_xcalloc(n, sizeof(*a->insts));
    for (size_t i = 0; i < s->nthreads; i++) {
        if (!is_finding(a->j.threads[i]))
            continue;
        const struct lw_snap_thread *t = &s->threads[i];
        a->insts[a->ninsts++] = (struct lw_inst){
            .kind = LW_KIND_THREAD, .verdict = verdict_of(a->j.threads[i]), .snap = s, .j = &a->j, .idx = i,
            .site = lw_site_thread(z, s, i, a->j.threads[i]), .key1 = t->tid, .key2 = t->created_ns,
            .id = (int)t->tid, .created_ns = t->created_ns,
        };
    }
    for (size_t i = 0; i < s->ntimers; i++) {
        if (!is_finding(a->j.timers[i]))
            continue;
        const struct lw_snap_timer *t = &s->timers[i];
        a->insts[a->ninsts++] = (struct lw_inst){
            .kind = LW_KIND_TIMER, .verdict = LW_VERDICT_LEAKED, .snap = s, .j = &a->j, .idx = i,
            .site = lw_site_timer(z, s, i), .key1 = t->id, .key2 = 0, .id = (int)t->handle,
            .created_ns = t->created_ns,
        };
    }
    for (size_t i = 0; i < s->nsockets; i++) {
        if (!is_finding(a->j.sockets[i]))
            continue;
        const struct lw_snap_socket *k = &s->sockets[i];
        a->insts[a->ninsts++] = (struct lw_inst){
            .kind = lw_socket_is_fd(k) ? LW_KIND_FD : LW_KIND_SOCKET, .verdict = LW_VERDICT_LEAKED, .snap = s,
            .j = &a->j, .idx = i,
            .site = lw_site_socket(z, s, i), .key1 = k->fd, .key2 = k->created_ns, .id = (int)k->fd,
            .created_ns = k->created_ns,
        };
    }
}

void lw_analysis_free(struct lw_analysis *a)
{
    if (a->snap)
        lw_judgement_free(a->snap, &a->j);
    free(a->insts);
    memset(a, 0, sizeof(*a));
}

static const char *base_name(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b ? b + 1 : path;
}

/* Name of a function-address frame, or module+0xoffset when unknown. */
static char *frame_name(struct lw_symbolizer *z, const struct lw_snapshot *s, bool has, const struct lw_frame_ref *f)
{
    if (!has)
        return NULL;
    const char *fn = lw_frame_function(z, s, f);
    if (fn)
        return lw_xstrdup(fn);
    if (f->module >= 0)
        return lw_xasprintf("%s+0x%llx", base_name(s->modules[f->module].path), (unsigned long long)f->offset);
    return lw_xasprintf("0x%llx", (unsigned long long)f->ip);
}

void lw_creators_fill(struct lw_symbolizer *z, const struct lw_snapshot *s, int ci, bool include_self,
                      struct lw_creator **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (ci < 0)
        return;
    int cur = include_self ? ci : s->ctxs[ci].parent_idx;
    size_t cap = 0, guard = 0;
    while (cur >= 0 && guard++ <= s->nctxs) {
        const struct lw_snap_ctx *c = &s->ctxs[cur];
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            *out = lw_xrealloc(*out, cap * sizeof(**out));
        }
        char *fn;
        if (c->parent_idx < 0 || c->kind == LW_CK_ROOT)
            fn = lw_xstrdup("main");
        else if (!(fn = lw_thread_entry(z, s, c->owner_tid, c->has_owner_start, &c->owner_start)))
            fn = frame_name(z, s, c->has_owner_start, &c->owner_start);
        (*out)[(*n)++] = (struct lw_creator){
            /* the root is the process's main thread: the child's own pid
             * after fork, not the parent's recorded when the shim started */
            .tid = (int)(c->parent_idx < 0 ? s->pid : c->owner_tid),
            .function = fn ? fn : lw_xstrdup("?"),
            .label = lw_xstrdup(c->label),
        };
        cur = c->parent_idx;
    }
}

static const struct lw_snap_socket *socket_by_fd(const struct lw_snapshot *s, int64_t fd)
{
    for (size_t k = 0; k < s->nsockets; k++)
        if (s->sockets[k].fd == fd)
            return &s->sockets[k];
    return NULL;
}

static char *socket_words(const struct lw_snap_socket *k)
{
    if (k->local && k->peer)
        return lw_xasprintf("%s %s -> %s", k->kind, k->local, k->peer);
    if (k->local)
        return lw_xasprintf("%s %s%s", k->kind, k->local, k->listening ? " (listening)" : "");
    if (k->peer)
        return lw_xasprintf("%s -> %s", k->kind, k->peer);
    return lw_xstrdup(k->kind);
}

char *lw_blocked_object(const struct lw_snapshot *s, const struct lw_snap_blocked *b)
{
    if (b->fd >= 0) {
        const struct lw_snap_socket *k = socket_by_fd(s, b->fd);
        if (!k)
            return lw_xasprintf("fd %lld", (long long)b->fd);
        char *w = socket_words(k);
        char *r = lw_xasprintf("fd %lld (%s)", (long long)b->fd, w);
        free(w);
        return r;
    }
    if (b->nfds > 0) {
        char buf[256];
        int len = snprintf(buf, sizeof buf, "fds");
        for (size_t i = 0; i < b->nfds && i < 16 && len > 0 && (size_t)len < sizeof buf; i++)
            len += snprintf(buf + len, sizeof buf - (size_t)len, "%s %lld", i ? "," : "", (long long)b->fds[i]);
        return lw_xstrdup(buf);
    }
    if (b->family == LW_FAMILY_JOIN && b->join_target_tid >= 0)
        return lw_xasprintf("thread %lld", (long long)b->join_target_tid);
    if (b->object >= 0) {
        if (b->holder_tid >= 0)
            return lw_xasprintf("%s 0x%llx held by thread %lld", lw_family_name(b->family), (unsigned long long)b->object,
                                (long long)b->holder_tid);
        return lw_xasprintf("%s 0x%llx", lw_family_name(b->family), (unsigned long long)b->object);
    }
    return NULL;
}

static void set_location(struct lw_finding *f)
{
    /* started from Python: the interpreter's C file is no place to fix it */
    if (f->py_creation_stack.n && f->py_creation_stack.frames[0].file) {
        f->location_file = f->py_creation_stack.frames[0].file;
        f->location_line = f->py_creation_stack.frames[0].line;
        return;
    }
    for (size_t i = 0; i < f->creation_stack.n; i++) {
        struct lw_sym_frame *fr = &f->creation_stack.frames[i];
        /* std::thread's constructor is instantiated in the user's binary
         * but lives in a system header: the call site is its caller. */
        if (fr->file && !lw_frame_is_runtime(fr->module, fr->function) &&
            strncmp(fr->file, "/usr/include/", 13) != 0 && !(fr->function && strncmp(fr->function, "std::", 5) == 0)) {
            f->location_file = fr->file;
            f->location_line = fr->line;
            return;
        }
    }
}

/* Why the owning scope ended: cause, age, origin thread, nearest label. */
static void fill_context(struct lw_finding *f, const struct lw_snapshot *s, int ci)
{
    f->ctx_cancelled_ago_ms = -1;
    if (ci < 0)
        return;
    const struct lw_snap_ctx *c = &s->ctxs[ci];
    if (c->cancelled_ns >= 0) {
        f->ctx_cause = c->cause != LW_CAUSE_NONE ? c->cause : LW_CAUSE_EXITED;
        f->ctx_cancelled_ago_ms = (s->taken_mono_ns - c->cancelled_ns) / 1000000;
        if (f->ctx_cancelled_ago_ms < 0)
            f->ctx_cancelled_ago_ms = 0;
        int oi = lw_snapshot_ctx_index(s, c->cancel_origin);
        f->ctx_origin_tid = oi >= 0 && s->ctxs[oi].owner_tid > 0 ? (int)s->ctxs[oi].owner_tid : 0;
    }
    size_t guard = 0;
    for (int cur = ci; cur >= 0 && guard++ <= s->nctxs; cur = s->ctxs[cur].parent_idx)
        if (s->ctxs[cur].label) {
            f->ctx_label = lw_xstrdup(s->ctxs[cur].label);
            break;
        }
}

static void fill_thread(struct lw_symbolizer *z, struct lw_finding *f, struct lw_inst *const *g, size_t n)
{
    const struct lw_snapshot *s = g[0]->snap;
    const struct lw_snap_thread *t = &s->threads[g[0]->idx];
    f->name = lw_xstrdup(t->python && t->python->name ? t->python->name : t->name);
    f->start_routine = lw_thread_entry(z, s, t->tid, t->has_start, &t->start);
    lw_py_stack(t->python, &f->py_creation_stack);
    if (!f->start_routine)
        f->start_routine = frame_name(z, s, t->has_start, &t->start);
    lw_stack_symbolize(z, s, t->creation_stack, &f->creation_stack);
    fill_context(f, s, t->ctx_idx);
    lw_creators_fill(z, s, t->ctx_idx, false, &f->creators, &f->ncreators);
    /* Started from Python: the creator's native start is the interpreter's
     * (a bare address when stripped, some C function of it otherwise); the
     * Python function that started this thread says what it was doing. */
    if (f->py_creation_stack.n && f->ncreators > 1 && f->creators[0].tid == (int)t->creator_tid &&
        f->py_creation_stack.frames[0].function) {
        free(f->creators[0].function);
        f->creators[0].function = lw_xstrdup(f->py_creation_stack.frames[0].function);
    }
    const char *who = f->start_routine ? f->start_routine : t->name ? t->name : "?";
    f->exited_ago_ms = -1;
    for (size_t i = 0; i < n; i++) {
        const struct lw_snap_thread *ti = &g[i]->snap->threads[g[i]->idx];
        if (ti->wakes_since_cancel > f->wakes_since_cancel)
            f->wakes_since_cancel = ti->wakes_since_cancel;
        if (ti->is_blocked && ti->blocked.since_ns >= 0) {
            int64_t ms = (s->taken_mono_ns - ti->blocked.since_ns) / 1000000;
            if (ms > f->blocked_for_ms)
                f->blocked_for_ms = ms;
        }
        if (ti->exited_ns >= 0) {
            int64_t ms = (s->taken_mono_ns - ti->exited_ns) / 1000000;
            if (ms > f->exited_ago_ms)
                f->exited_ago_ms = ms;
        }
    }
    if (t->is_blocked) {
        f->blocked = true;
        f->blocked_call = lw_xstrdup(t->blocked.call);
        f->blocked_family = t->blocked.family;
        f->blocked_object = lw_blocked_object(s, &t->blocked);
        f->blocked_timeout_infinite = t->blocked.timeout_ns < 0;
        lw_stack_symbolize(z, s, t->blocked.stack, &f->blocked_stack);
    }
    switch (f->verdict) {
    case LW_VERDICT_UNJOINED:
        f->title = lw_xasprintf("thread %s (exited, never joined or detached)", who);
        /* exited_ago_ms carries the facts; the renderer words them. */
        break;
    case LW_VERDICT_STUCK:
        f->title = lw_xasprintf("thread %s (stuck in %s)", who, t->blocked.call);
        f->detail = lw_xstrdup(g[0]->j->thread_detail[g[0]->idx]);
        break;
    default:
        if (t->is_blocked) {
            f->title = lw_xasprintf("thread %s (blocked in %s)", who, t->blocked.call);
        } else {
            f->title = lw_xasprintf("thread %s (running)", who);
            f->detail = lw_xasprintf("running, not blocked in any known call; %lld blocking calls since its scope ended",
                                     (long long)f->wakes_since_cancel);
        }
        if (f->verdict == LW_VERDICT_ALIVE_AT_EXIT) {
            free(f->detail);
            f->detail = lw_xstrdup("still running at exit; nothing stopped it (owned by the process scope)");
        } else if (lw_is_exit_snapshot(s) && !f->detail)
            f->detail = lw_xstrdup("still alive at process exit");
        break;
    }
}

static void fill_timer(struct lw_symbolizer *z, struct lw_finding *f, struct lw_inst *const *g)
{
    const struct lw_snapshot *s = g[0]->snap;
    const struct lw_snap_timer *t = &s->timers[g[0]->idx];
    f->name = lw_xstrdup(t->kind);
    f->start_routine = frame_name(z, s, t->has_callback, &t->callback);
    lw_stack_symbolize(z, s, t->creation_stack, &f->creation_stack);
    fill_context(f, s, t->ctx_idx);
    lw_creators_fill(z, s, t->ctx_idx, true, &f->creators, &f->ncreators);
    f->timer_interval_ms = t->interval_ns / 1000000;
    f->timer_armed = t->armed;
    f->exited_ago_ms = -1;
    char every[64] = "one-shot";
    if (t->interval_ns > 0)
        snprintf(every, sizeof every, "every %lld ms", (long long)f->timer_interval_ms);
    if (f->start_routine)
        f->title = lw_xasprintf("timer %s (callback %s, %s)", t->kind, f->start_routine, every);
    else
        f->title = lw_xasprintf("timer %s (%s)", t->kind, every);
    char helpers[128] = "";
    int len = 0;
    for (size_t i = 0; i < t->nhelpers && i < 8 && len >= 0 && (size_t)len < sizeof helpers; i++)
        len += snprintf(helpers + len, sizeof helpers - (size_t)len, "%s%lld", i ? ", " : "; helper threads ",
                        (long long)t->helper_tids[i]);
    /* armed or not, and how often, are the renderers' line (timer_armed,
     * timer_interval_ms): said once */
    f->detail = lw_xasprintf("%lld expirations, notify %s%s", (long long)(t->expirations < 0 ? 0 : t->expirations),
                             t->notify ? t->notify : "?", helpers);
}

static void fill_socket(struct lw_symbolizer *z, struct lw_finding *f, struct lw_inst *const *g)
{
    const struct lw_snapshot *s = g[0]->snap;
    const struct lw_snap_socket *k = &s->sockets[g[0]->idx];
    f->name = lw_xstrdup(k->kind);
    f->sock_kind = lw_xstrdup(k->kind);
    f->sock_local = lw_xstrdup(k->local);
    f->sock_peer = lw_xstrdup(k->peer);
    lw_stack_symbolize(z, s, k->creation_stack, &f->creation_stack);
    fill_context(f, s, k->ctx_idx);
    lw_creators_fill(z, s, k->ctx_idx, true, &f->creators, &f->ncreators);
    f->exited_ago_ms = -1;
    if (f->kind == LW_KIND_FD) {
        /* "leaked fd: epoll instance" */
        f->title = lw_xstrdup(lw_fd_words(k->kind));
        f->detail = lw_xasprintf("still open (%s)", lw_fd_words(k->kind));
        return;
    }
    char *w = socket_words(k);
    f->title = lw_xasprintf("socket %s", w);
    f->detail = lw_xasprintf("still open (%s%s)", w, k->connected ? ", connected" : "");
    free(w);
}

void lw_finding_fill(struct lw_symbolizer *z, struct lw_finding *f, struct lw_inst *const *g, size_t n)
{
    memset(f, 0, sizeof(*f));
    f->ctx_cause = LW_CAUSE_NONE;
    f->kind = g[0]->kind;
    f->verdict = g[0]->verdict;
    f->site = lw_xmalloc(17);
    lw_site_hex(g[0]->site, f->site);
    f->count = n;
    f->ids = lw_xcalloc(n, sizeof(int));
    for (size_t i = 0; i < n; i++)
        f->ids[i] = g[i]->id;
    if (f->kind == LW_KIND_THREAD)
        fill_thread(z, f, g, n);
    else if (f->kind == LW_KIND_TIMER)
        fill_timer(z, f, g);
    else
        fill_socket(z, f, g);
    set_location(f);
}

void lw_finding_free(struct lw_finding *f)
{
    free(f->site);
    free(f->title);
    free(f->ids);
    free(f->name);
    free(f->start_routine);
    lw_sym_stack_free(&f->creation_stack);
    lw_sym_stack_free(&f->py_creation_stack);
    free(f->blocked_call);
    free(f->blocked_object);
    lw_sym_stack_free(&f->blocked_stack);
    free(f->ctx_label);
    for (size_t i = 0; i < f->ncreators; i++) {
        free(f->creators[i].function);
        free(f->creators[i].label);
    }
    free(f->creators);
    free(f->detail);
    free(f->sock_kind);
    free(f->sock_local);
    free(f->sock_peer);
    memset(f, 0, sizeof(*f));
}
