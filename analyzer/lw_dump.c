/* lw_dump.c — one snapshot as a thread dump (`leakwatch-show`): every thread
 * grouped by identical state and stacks (like pprof goroutine?debug=1), with
 * its verdict (including "parked"), plus the context tree for --tree.
 * Must never: hide a thread (foreign and main threads are listed too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"

static void fmt_dur(char *buf, size_t len, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    if (ns < 1000000000LL)
        snprintf(buf, len, "%lld ms", (long long)(ns / 1000000));
    else
        snprintf(buf, len, "%.1f s", (double)ns / 1e9);
}

static bool same_thread_group(const struct lw_snapshot *s, const struct lw_judgement *j, size_t a, size_t b)
{
    const struct lw_snap_thread *x = &s->threads[a], *y = &s->threads[b];
    if (j->threads[a] != j->threads[b] || x->kind != y->kind || x->state != y->state ||
        x->creation_stack != y->creation_stack || x->has_start != y->has_start)
        return false;
    /* a group shows one name: threads named differently are not alike */
    if ((x->name == NULL) != (y->name == NULL) || (x->name && strcmp(x->name, y->name) != 0))
        return false;
    if (x->has_start && (x->start.module != y->start.module || x->start.offset != y->start.offset))
        return false;
    if (x->is_blocked && (strcmp(x->blocked.call, y->blocked.call) || x->blocked.stack != y->blocked.stack))
        return false;
    return true;
}

static char *state_text(const struct lw_snapshot *s, size_t i, int64_t max_ns)
{
    const struct lw_snap_thread *t = &s->threads[i];
    char d[32];
    fmt_dur(d, sizeof d, max_ns);
    if (t->is_blocked) {
        char *obj = lw_blocked_object(s, &t->blocked);
        char *r = lw_xasprintf("blocked in %s%s%s%s for %s", t->blocked.call, obj ? " (" : "", obj ? obj : "",
                               obj ? ")" : "", d);
        free(obj);
        return r;
    }
    if (t->state == LW_TS_EXITED)
        return lw_xasprintf("exited %s ago%s%s", d, t->joined ? ", joined" : "", t->detached ? ", detached" : "");
    return lw_xstrdup("running");
}

/* --tree: a context's scope ended, and why, naming the thread where the
 * cancellation started (a live thread under it only inherited it). */
static char *scope_ended(struct lw_symbolizer *z, const struct lw_snapshot *s, const struct lw_snap_ctx *x)
{
    char dd[32];
    fmt_dur(dd, sizeof dd, s->taken_mono_ns - x->cancelled_ns);
    int oi = lw_snapshot_ctx_index(s, x->cancel_origin);
    const struct lw_snap_ctx *o = oi >= 0 ? &s->ctxs[oi] : x;
    char *who = o->parent_idx < 0 ? lw_xstrdup("main") : lw_thread_entry(z, s, o->owner_tid, o->has_owner_start, &o->owner_start);
    char *r;
    const char *how = x->cause == LW_CAUSE_PTHREAD_CANCEL ? "was the target of pthread_cancel" : "exited";
    switch (x->cause) {
    case LW_CAUSE_PROCESS_EXIT: r = lw_xasprintf("scope ended %s ago, when the process began to exit", dd); break;
    case LW_CAUSE_EXPLICIT:
        r = lw_xasprintf("scope ended %s ago, when context #%lld was cancelled with leakwatch_ctx_cancel", dd,
                         (long long)o->id);
        break;
    default:
        if (o == x) /* the owner thread is named on the line already */
            r = lw_xasprintf("scope ended %s ago, when its owner %s", dd, how);
        else
            r = lw_xasprintf("scope ended %s ago, when thread %lld%s%s%s %s", dd, (long long)o->owner_tid,
                             who ? " (" : "", who ? who : "", who ? ")" : "", how);
        break;
    }
    free(who);
    return r;
}

static char *fd_what(const struct lw_snap_socket *k)
{
    if (lw_socket_is_fd(k))
        return lw_xstrdup(lw_fd_words(k->kind));
    if (k->local && k->peer)
        return lw_xasprintf("%s %s -> %s", k->kind, k->local, k->peer);
    if (k->local)
        return lw_xasprintf("%s %s%s", k->kind, k->local, k->listening ? " (listening)" : "");
    if (k->peer)
        return lw_xasprintf("%s -> %s", k->kind, k->peer);
    return lw_xstrdup(k->kind);
}

static int cmp_fds(const void *a, const void *b)
{
    const struct lw_dump_fd *x = a, *y = b;
    if (x->foreign != y->foreign)
        return x->foreign ? 1 : -1;
    return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Every open socket and fd; only those leakwatch saw the program open count
 * as its sockets and fds (foreign ones may be inherited, or leakwatch's own
 * helpers' such as libunwind's validation pipe). */
static void fill_fds(struct lw_symbolizer *z, const struct lw_snapshot *s, const struct lw_judgement *j, struct lw_dump *d)
{
    d->fds = lw_xcalloc(s->nsockets ? s->nsockets : 1, sizeof(*d->fds));
    for (size_t i = 0; i < s->nsockets; i++) {
        const struct lw_snap_socket *k = &s->sockets[i];
        struct lw_dump_fd *f = &d->fds[d->nfd_entries++];
        bool isfd = lw_socket_is_fd(k);
        f->fd = (int)k->fd;
        f->kind = isfd ? LW_KIND_FD : LW_KIND_SOCKET;
        f->what = fd_what(k);
        f->verdict = j->sockets[i];
        f->foreign = k->foreign;
        if (k->timer >= 0)
            f->what = (free(f->what), lw_xasprintf("timerfd (timer %lld)", (long long)k->timer));
        if (!k->foreign) {
            if (isfd)
                d->nfds++;
            else
                d->nsockets++;
        }
        if (k->ctx_idx >= 0) {
            const struct lw_snap_ctx *c = &s->ctxs[k->ctx_idx];
            char *who = c->parent_idx < 0 ? lw_xstrdup("main")
                                          : lw_thread_entry(z, s, c->owner_tid, c->has_owner_start, &c->owner_start);
            f->owner = lw_xasprintf("context #%lld of thread %lld%s%s%s", (long long)c->id,
                                    (long long)(c->parent_idx < 0 ? s->pid : c->owner_tid), who ? " (" : "",
                                    who ? who : "", who ? ")" : "");
            free(who);
        }
    }
    qsort(d->fds, d->nfd_entries, sizeof(*d->fds), cmp_fds);
}

static int cmp_groups(const void *a, const void *b)
{
    const struct lw_dump_group *x = a, *y = b;
    bool xm = x->kind == LW_TK_MAIN, ym = y->kind == LW_TK_MAIN;
    if (xm != ym)
        return xm ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->tids[0] - y->tids[0];
}

struct lw_dump *lw_dump_build(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t grace_ms)
{
    struct lw_dump *d = lw_xcalloc(1, sizeof(*d));
    d->path = lw_xstrdup(s->path);
    d->pid = (int)s->pid;
    d->exe = lw_xstrdup(s->exe);
    d->trigger = s->trigger;
    d->nthreads = s->nthreads;
    d->ntimers = s->ntimers;

    struct lw_judgement j;
    lw_judge(s, grace_ms, &j);

    /* Group: a thread joins the first earlier group with the same shape.
     * Groups are found through a representative per group (O(threads x
     * groups), and groups are few in practice). */
    int *group_of = lw_xcalloc(s->nthreads, sizeof(int));
    size_t *rep = lw_xcalloc(s->nthreads, sizeof(size_t));
    size_t ng = 0;
    for (size_t i = 0; i < s->nthreads; i++) {
        size_t g = 0;
        while (g < ng && !same_thread_group(s, &j, rep[g], i))
            g++;
        if (g == ng)
            rep[ng++] = i;
        group_of[i] = (int)g;
    }
    d->groups = lw_xcalloc(ng, sizeof(*d->groups));
    d->ngroups = ng;
    for (size_t g = 0; g < ng; g++)
        d->groups[g].tids = NULL;
    int64_t *maxd = lw_xcalloc(ng, sizeof(int64_t));
    for (size_t i = 0; i < s->nthreads; i++) {
        struct lw_dump_group *G = &d->groups[group_of[i]];
        const struct lw_snap_thread *t = &s->threads[i];
        G->tids = lw_xrealloc(G->tids, (G->count + 1) * sizeof(int));
        G->ctx_of = lw_xrealloc(G->ctx_of, (G->count + 1) * sizeof(int));
        G->ctx_of[G->count] = t->ctx_idx;
        G->tids[G->count++] = (int)t->tid;
        int64_t dur = t->is_blocked && t->blocked.since_ns >= 0 ? s->taken_mono_ns - t->blocked.since_ns
                      : t->exited_ns >= 0                       ? s->taken_mono_ns - t->exited_ns
                                                                : 0;
        if (dur > maxd[group_of[i]])
            maxd[group_of[i]] = dur;
    }
    for (size_t g = 0; g < ng; g++) {
        struct lw_dump_group *G = &d->groups[g];
        size_t i = rep[g];
        const struct lw_snap_thread *t = &s->threads[i];
        G->state = state_text(s, i, maxd[g]);
        G->verdict = j.threads[i];
        G->name = lw_xstrdup(t->python && t->python->name ? t->python->name : t->name);
        G->start_routine = lw_thread_entry(z, s, t->tid, t->has_start, &t->start);
        if (!G->start_routine && t->kind == LW_TK_MAIN)
            G->start_routine = lw_xstrdup("main");
        G->kind = t->kind;
        for (int c = t->ctx_idx; c >= 0; c = s->ctxs[c].parent_idx)
            if (s->ctxs[c].label) {
                G->ctx_label = lw_xstrdup(s->ctxs[c].label);
                break;
            }
        if (t->is_blocked)
            lw_stack_symbolize(z, s, t->blocked.stack, &G->stack);
        lw_stack_symbolize(z, s, t->creation_stack, &G->creation_stack);
        lw_py_stack(t->python, &G->py_creation_stack);
        lw_creators_fill(z, s, t->ctx_idx, false, &G->creators, &G->ncreators);
    }
    qsort(d->groups, ng, sizeof(*d->groups), cmp_groups);
    free(maxd);
    free(group_of);
    free(rep);

    d->ctxs = lw_xcalloc(s->nctxs, sizeof(*d->ctxs));
    d->nctxs = s->nctxs;
    for (size_t c = 0; c < s->nctxs; c++) {
        const struct lw_snap_ctx *x = &s->ctxs[c];
        struct lw_ctx_node *n = &d->ctxs[c];
        n->id = (int)x->id;
        n->parent = x->parent_idx;  /* index into ctxs, as the model says */
        n->label = lw_xstrdup(x->label);
        n->kind = x->kind;
        /* the root belongs to the process's main thread: in a forked
         * child that is the child's own, whatever the parent's was */
        n->owner_tid = x->parent_idx < 0 ? (int)s->pid : (int)x->owner_tid;
        n->owner_function = x->parent_idx < 0 ? lw_xstrdup("main")
                            : lw_thread_entry(z, s, x->owner_tid, x->has_owner_start, &x->owner_start);
        if (x->cancelled_ns >= 0)
            n->cancel = scope_ended(z, s, x);
    }
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].ctx_idx >= 0)
            d->ctxs[s->threads[i].ctx_idx].nthreads++;
    for (size_t i = 0; i < s->ntimers; i++)
        if (s->timers[i].ctx_idx >= 0)
            d->ctxs[s->timers[i].ctx_idx].ntimers++;
    for (size_t i = 0; i < s->nsockets; i++)
        if (s->sockets[i].ctx_idx >= 0)
            d->ctxs[s->sockets[i].ctx_idx].nsockets++;
    fill_fds(z, s, &j, d);
    lw_judgement_free(s, &j);
    return d;
}

void lw_dump_free(struct lw_dump *d)
{
    if (!d)
        return;
    for (size_t g = 0; g < d->ngroups; g++) {
        struct lw_dump_group *G = &d->groups[g];
        free(G->tids);
        free(G->ctx_of);
        free(G->state);
        free(G->name);
        free(G->start_routine);
        free(G->ctx_label);
        lw_sym_stack_free(&G->stack);
        lw_sym_stack_free(&G->creation_stack);
        lw_sym_stack_free(&G->py_creation_stack);
        for (size_t i = 0; i < G->ncreators; i++) {
            free(G->creators[i].function);
            free(G->creators[i].label);
        }
        free(G->creators);
    }
    free(d->groups);
    for (size_t c = 0; c < d->nctxs; c++) {
        free(d->ctxs[c].label);
        free(d->ctxs[c].owner_function);
        free(d->ctxs[c].cancel);
    }
    free(d->ctxs);
    for (size_t i = 0; i < d->nfd_entries; i++) {
        free(d->fds[i].what);
        free(d->fds[i].owner);
    }
    free(d->fds);
    free(d->path);
    free(d->exe);
    free(d);
}
