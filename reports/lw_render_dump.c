/* lw_render_dump.c — `leakwatch show`: one snapshot as a thread dump, like
 * pprof's goroutine?debug=1 (groups of identical stacks with counts), and
 * with `tree` the context tree (who owns what, what was cancelled).
 *
 * The analyzer has already grouped the threads and judged them; this file
 * only prints. Context parents are indexes into the ctxs array (-1 for a
 * root); bad indexes and cycles are printed as orphans, never followed.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_group(FILE *out, const struct lw_dump_group *g, const struct lw_render_opts *o)
{
    int maxf = o ? o->max_frames : 0;
    bool color = o && o->color;
    const char *on = "", *off = color ? "\033[0m" : "";
    const char *verdict = lw_status_name(g->verdict);
    if (color && verdict)
        on = g->verdict == LW_ST_PARKED ? "\033[1;36m" : "\033[1;31m";
    fprintf(out, "%s%zu thread%s", color ? "\033[1m" : "", g->count, g->count == 1 ? "" : "s");
    fputs(" @ ", out);
    lw_put_text(out, g->state ? g->state : "?");
    fprintf(out, "%s  %s[%s]%s\n", off, on, verdict ? verdict : "\xe2\x80\x94", off);
    fputs("  ", out);
    bool any = false;
    if (g->name && *g->name) {
        fputs("name \"", out);
        lw_put_text(out, g->name);
        putc('"', out);
        any = true;
    }
    if (g->start_routine) {
        fputs(any ? ", start routine " : "start routine ", out);
        lw_put_text(out, g->start_routine);
        any = true;
    }
    fputs(any ? ", " : "", out);
    lw_put_text(out, lw_thread_kind_name(g->kind));
    any = true;
    if (g->ctx_label) {
        fputs(any ? ", context \"" : "context \"", out);
        lw_put_text(out, g->ctx_label);
        putc('"', out);
    }
    fputs("\n  tids: ", out);
    lw_put_ids(out, g->tids, g->count, 0, 32);
    putc('\n', out);
    if (g->stack.n) {
        fputs("  stack:\n", out);
        lw_put_stack(out, &g->stack, maxf, "    ");
    }
    if (g->creation_stack.n) {
        fputs("  created at:\n", out);
        lw_put_stack(out, &g->creation_stack, maxf, "    ");
    }
    if (g->py_creation_stack.n) {
        fputs("  started from Python at:\n", out);
        lw_put_py_stack(out, &g->py_creation_stack, maxf, "    ");
    }
    if (g->ncreators) {
        fputs("  ", out);
        lw_put_creators(out, g->creators, g->ncreators);
        putc('\n', out);
    }
    putc('\n', out);
}

/* Sockets and fds: the program's own first, then those leakwatch did not
 * see opened (inherited, or opened behind its back). */
static void put_fds(FILE *out, const struct lw_dump *d)
{
    if (!d->nfd_entries)
        return;
    bool foreign_hdr = false;
    fputs("sockets and fds:\n", out);
    for (size_t i = 0; i < d->nfd_entries; i++) {
        const struct lw_dump_fd *f = &d->fds[i];
        if (f->foreign && !foreign_hdr) {
            fputs("not seen opened (inherited, or opened behind leakwatch's back):\n", out);
            foreign_hdr = true;
        }
        fprintf(out, "  fd %d ", f->fd);
        lw_put_text(out, f->what ? f->what : "?");
        if (f->owner) {
            fputs(", owner ", out);
            lw_put_text(out, f->owner);
        }
        if (f->verdict != LW_ST_NONE) {
            fputs("  [", out);
            lw_put_text(out, lw_status_name(f->verdict));
            putc(']', out);
        }
        putc('\n', out);
    }
}

static void put_node(FILE *out, const struct lw_ctx_node *c, size_t depth)
{
    for (size_t i = 0; i < depth; i++)
        fputs("  ", out);
    fprintf(out, "%s#%d ", depth ? "- " : "", c->id);
    lw_put_text(out, lw_ctx_kind_name(c->kind));
    if (c->label) {
        fputs(" \"", out);
        lw_put_text(out, c->label);
        putc('"', out);
    }
    fprintf(out, " owner thread %d", c->owner_tid);
    if (c->owner_function) {
        fputs(" (", out);
        lw_put_text(out, c->owner_function);
        putc(')', out);
    }
    if (c->cancel) {
        fputs(", ", out);
        lw_put_text(out, c->cancel);
    }
    fprintf(out, ": %zu thread%s, %zu timer%s, %zu socket%s\n", c->nthreads,
            c->nthreads == 1 ? "" : "s", c->ntimers, c->ntimers == 1 ? "" : "s", c->nsockets,
            c->nsockets == 1 ? "" : "s");
}

/* Depth-first without recursion limits on hostile input: explicit stack,
 * each node printed at most once. */
static int put_tree(FILE *out, const struct lw_dump *d)
{
    size_t n = d->nctxs;
    if (!n || !d->ctxs) {
        fputs("(no contexts)\n", out);
        return 0;
    }
    bool *done = calloc(n, sizeof *done);
    size_t *stk = calloc(n, sizeof *stk), *dep = calloc(n, sizeof *dep);
    if (!done || !stk || !dep) {
        free(done), free(stk), free(dep);
        return -ENOMEM;
    }
    /* Pass 0: roots (parent -1). Pass 1: anything left is unreachable from
     * a root (bad parent index or a cycle) and is shown as an orphan. */
    for (int pass = 0; pass < 2; pass++) {
        bool header = false;
        for (size_t r = 0; r < n; r++) {
            if (done[r])
                continue;
            if (pass == 0 && d->ctxs[r].parent != -1)
                continue;
            if (pass == 1 && !header) {
                fputs("contexts not reachable from the root:\n", out);
                header = true;
            }
            size_t sp = 0;
            stk[sp] = r, dep[sp] = 0, sp++;
            done[r] = true;
            while (sp) {
                sp--;
                size_t cur = stk[sp], depth = dep[sp];
                put_node(out, &d->ctxs[cur], depth);
                /* Push children in reverse so they print in array order. */
                for (size_t k = n; k-- > 0;) {
                    if (done[k] || d->ctxs[k].parent != (int)cur)
                        continue;
                    done[k] = true;
                    stk[sp] = k, dep[sp] = depth + 1, sp++;
                }
            }
        }
    }
    free(done), free(stk), free(dep);
    return 0;
}

int lw_render_dump(FILE *out, const struct lw_dump *d, bool tree, const struct lw_render_opts *o)
{
    if (!out || !d)
        return -EINVAL;
    fputs("leakwatch: ", out);
    lw_put_text(out, d->path ? d->path : "?");
    fprintf(out, " (pid %d", d->pid);
    if (d->exe) {
        fputs(", ", out);
        lw_put_text(out, d->exe);
    }
    {
        fputs(", ", out);
        lw_put_text(out, lw_trigger_name(d->trigger));
        fputs(" snapshot", out);
    }
    fprintf(out, "): %zu thread%s, %zu timer%s, %zu socket%s, %zu other fd%s\n\n", d->nthreads,
            d->nthreads == 1 ? "" : "s", d->ntimers, d->ntimers == 1 ? "" : "s", d->nsockets,
            d->nsockets == 1 ? "" : "s", d->nfds, d->nfds == 1 ? "" : "s");
    if (tree) {
        int rc = put_tree(out, d);
        if (rc)
            return rc;
    } else {
        if (!d->ngroups)
            fputs("(no threads)\n", out);
        for (size_t i = 0; d->groups && i < d->ngroups; i++)
            put_group(out, &d->groups[i], o);
        put_fds(out, d);
    }
    return ferror(out) ? -EIO : 0;
}
