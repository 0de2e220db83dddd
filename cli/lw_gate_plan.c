/* lw_gate_plan.c — pairs the start and exit snapshots of a gate run.
 *
 * A snapshot says which process (pid) and which exec image of it (image,
 * with replaced_image naming the image it replaced) wrote it. Start and
 * exit pair per (pid, image); snapshots without image ids pair per pid in
 * time order (a second start means the first image exec'd). An exit
 * snapshot without a start of its own is a forked child: it is compared
 * with its parent's latest start snapshot taken before it, up the ppid
 * chain, or with an empty baseline. An image that wrote a start snapshot,
 * exec'd another image and left nothing else (a wrapper script, env, a
 * pyenv shim) is one REPLACED item. Must never: read a file the run did
 * not write (the caller owns the directory), or judge findings.
 */
#include "lw_gate.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"
#include "lw_cli.h"

struct meta {
    char *path;
    int pid, ppid;
    char *exe, *image, *replaced;
    enum lw_trigger trigger;
    int64_t seq, mono;
    bool used;
};

static void add(struct lw_plan *p, enum lw_plan_kind k, const struct meta *m, const char *before,
                const char *after, char *note)
{
    p->items = lw_xrealloc(p->items, (p->n + 1) * sizeof *p->items);
    p->items[p->n++] = (struct lw_plan_item){k, m ? m->pid : 0, m ? lw_xstrdup(m->exe) : NULL, lw_xstrdup(before),
                                             lw_xstrdup(after), note};
}

static int cmp_meta(const void *a, const void *b)
{
    const struct meta *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->mono != y->mono)
        return x->mono < y->mono ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return strcmp(x->path, y->path);
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The start snapshot a process without its own is compared with. */
static const struct meta *parent_start(const struct meta *m, size_t n, int pid, int64_t before, int depth)
{
    if (depth > 64 || pid <= 0)
        return NULL;
    const struct meta *best = NULL;
    int ppid = 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i].pid != pid)
            continue;
        ppid = m[i].ppid;
        if (m[i].trigger == LW_TRIGGER_START && m[i].mono <= before)
            best = &m[i];
    }
    if (best)
        return best;
    return ppid > 0 && ppid != pid ? parent_start(m, n, ppid, before, depth + 1) : NULL;
}

/* Did another image of the same pid replace image m[i]? */
static const struct meta *replacer(const struct meta *m, size_t n, size_t i)
{
    for (size_t k = 0; k < n; k++)
        if (k != i && m[k].pid == m[i].pid && m[i].image && same(m[k].replaced, m[i].image))
            return &m[k];
    return NULL;
}

int lw_gate_plan(const char *dir, size_t max_bytes, struct lw_plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot read the snapshot directory: %s", dir, strerror(e));
        return -e;
    }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (fnmatch("leakwatch-*.json", de->d_name, 0) != 0)
            continue;
        names = lw_xrealloc(names, (nn + 1) * sizeof *names);
        names[nn++] = lw_xasprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    struct meta *m = lw_xcalloc(nn ? nn : 1, sizeof *m);
    size_t n = 0;
    for (size_t i = 0; i < nn; i++) {
        char lerr[1024];
        struct lw_snapshot *s = lw_snapshot_load(names[i], max_bytes, lerr, sizeof lerr);
        if (!s) {
            struct meta bad = {.path = names[i]};
            /* the loader's message starts with the path */
            const char *msg = strncmp(lerr, names[i], strlen(names[i])) == 0 && lerr[strlen(names[i])] == ':'
                                  ? lerr + strlen(names[i]) + 2
                                  : lerr;
            add(p, LW_PLAN_BAD, &bad, NULL, names[i], lw_xstrdup(msg));
            continue;
        }
        m[n++] = (struct meta){
            .path = names[i], .pid = (int)s->pid, .ppid = s->ppid > 0 ? (int)s->ppid : 0,
            .exe = lw_xstrdup(s->exe ? s->exe : "?"), .image = lw_xstrdup(s->image),
            .replaced = lw_xstrdup(s->replaced_image), .trigger = s->trigger, .seq = s->seq,
            .mono = s->taken_mono_ns,
        };
        lw_snapshot_free(s);
    }
    qsort(m, n, sizeof *m, cmp_meta);

    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && m[end].pid == m[i].pid)
            end++;
        /* One process: its snapshots in time order. The image of each is
         * its id when present; without ids a start begins a new image. */
        const struct meta *start = NULL;
        for (size_t k = i; k < end; k++) {
            struct meta *x = &m[k];
            bool ids = x->image != NULL;
            if (x->trigger == LW_TRIGGER_START) {
                if (start && (!ids || !same(start->image, x->image)))
                    add(p, LW_PLAN_REPLACED, start, start->path, NULL,
                        lw_xasprintf("replaced by exec of %s", x->exe));
                start = x;
            } else if (x->trigger == LW_TRIGGER_EXIT) {
                if (start && (!ids || same(start->image, x->image))) {
                    add(p, LW_PLAN_PAIR, x, start->path, x->path, lw_xstrdup("own start snapshot"));
                } else {
                    if (start) /* an image with ids that never exited itself */
                        add(p, LW_PLAN_REPLACED, start, start->path, NULL,
                            lw_xasprintf("replaced by exec of %s", x->exe));
                    const struct meta *ps = parent_start(m, n, x->ppid, x->mono, 0);
                    if (ps)
                        add(p, LW_PLAN_PAIR, x, ps->path, x->path,
                            lw_xasprintf("forked child: compared with parent %d's start snapshot", ps->pid));
                    else
                        add(p, LW_PLAN_PAIR, x, NULL, x->path,
                            lw_xstrdup("no start snapshot: compared with an empty baseline"));
                }
                start = NULL;
            }
        }
        if (start) {
            size_t si = (size_t)(start - m);
            const struct meta *r = replacer(m, n, si);
            if (r)
                add(p, LW_PLAN_REPLACED, start, start->path, NULL, lw_xasprintf("replaced by exec of %s", r->exe));
            else
                add(p, LW_PLAN_NOEXIT, start, start->path, NULL,
                    lw_xstrdup("no exit snapshot: it was killed by a signal, called _exit(), or is still running"));
        }
        i = end;
    }
    for (size_t i = 0; i < n; i++) {
        free(m[i].exe);
        free(m[i].image);
        free(m[i].replaced);
    }
    free(m);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    return 0;
}

void lw_gate_plan_free(struct lw_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].exe);
        free(p->items[i].before);
        free(p->items[i].after);
        free(p->items[i].note);
    }
    free(p->items);
    memset(p, 0, sizeof *p);
}
