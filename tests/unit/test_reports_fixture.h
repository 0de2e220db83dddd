/* test_reports_fixture.h — hand-made report models for the renderer tests
 * (tests/unit/test_reports_*.c and test_analyzer_reports_*.c).
 *
 * Builds a struct lw_report the way the analyzer would, from static
 * storage, so each test can change one field and look at the output. Also
 * renders into a malloc'd string. Header-only because the two unit runners
 * link different sets of files.
 */
#ifndef TEST_REPORTS_FIXTURE_H
#define TEST_REPORTS_FIXTURE_H

#include "../../reports/lw_model.h"

#include <stdlib.h>
#include <string.h>

struct fx {
    struct lw_report r;
    struct lw_finding news[3], pers[1], fixed[1];
    struct lw_sym_frame poll_blocked[3], poll_create[4], mtx_blocked[2], sock_create[2];
    struct lw_creator chain[3];
    int poll_ids[3], sock_ids[1], stuck_ids[1], unj_ids[1], timer_ids[2];
    struct lw_suppression_use supp[1];
    char *warn[1], *expired[1];
};

#define FX_STR(s) ((char *)(s))

static inline void fx_frame(struct lw_sym_frame *f, uint64_t ip, const char *fn, const char *file,
                            int line, const char *mod, uint64_t off)
{
    memset(f, 0, sizeof *f);
    f->ip = ip;
    f->function = FX_STR(fn);
    f->file = FX_STR(file);
    f->line = line;
    f->module = FX_STR(mod);
    f->offset = off;
}

/* What the analyzer decides (lw_report_decide): renderers only print it. */
static inline void fx_decide(struct lw_report *r, unsigned mask)
{
    r->fail_on = mask;
    r->failing = 0;
    for (size_t i = 0; i < r->n_new; i++) {
        r->new_findings[i].fails = (lw_fail_bit(r->new_findings[i].kind, r->new_findings[i].verdict) & mask) != 0;
        r->failing += r->new_findings[i].fails ? r->new_findings[i].count : 0;
    }
    r->fails = r->failing > 0;
}

static inline void fx_empty_finding(struct lw_finding *f)
{
    memset(f, 0, sizeof *f);
    f->ctx_cancelled_ago_ms = -1;
    f->exited_ago_ms = -1;
}

/* new: 3 leaked pollers (blocked, ticking), 1 leaked socket, 1 stuck thread;
 * persisting: 1 unjoined thread; fixed: 2 leaked timers. */
static inline void fx_init(struct fx *x)
{
    memset(x, 0, sizeof *x);
    struct lw_report *r = &x->r;
    r->before_path = FX_STR("before.json");
    r->after_path = FX_STR("after.json");
    r->before_pid = r->after_pid = 4100;
    r->same_process = true;
    r->after_trigger = LW_TRIGGER_SIGNAL;
    r->exe = FX_STR("/usr/local/bin/service");
    r->grace_ms = 1000;

    fx_frame(&x->poll_blocked[0], 0x7f0000001000, "nanosleep", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6", 0xe1000);
    fx_frame(&x->poll_blocked[1], 0x401200, "poller_main", "/src/svc/poller.c", 22, "/usr/local/bin/service", 0x1200);
    fx_frame(&x->poll_blocked[2], 0x7f0000002000, "start_thread", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6", 0x94000);
    fx_frame(&x->poll_create[0], 0x7f0000003000, "pthread_create", "/work/main/preload/lw_hooks_thread.c", 80, "/opt/lw/libleakwatch.so", 0x3000);
    fx_frame(&x->poll_create[1], 0x401300, "worker_main", "/src/svc/worker.c", 40, "/usr/local/bin/service", 0x1300);
    fx_frame(&x->poll_create[2], 0x401400, "handle_request", "/src/svc/server.c", 71, "/usr/local/bin/service", 0x1400);
    fx_frame(&x->poll_create[3], 0x401500, "main", "/src/svc/server.c", 120, "/usr/local/bin/service", 0x1500);
    x->chain[0] = (struct lw_creator){4121, FX_STR("worker_main"), NULL};
    x->chain[1] = (struct lw_creator){4102, FX_STR("handle_request"), FX_STR("GET /users")};
    x->chain[2] = (struct lw_creator){4100, FX_STR("main"), NULL};
    x->poll_ids[0] = 4123, x->poll_ids[1] = 4124, x->poll_ids[2] = 4125;

    struct lw_finding *p = &x->news[0];
    fx_empty_finding(p);
    p->kind = LW_KIND_THREAD;
    p->verdict = LW_VERDICT_LEAKED;
    p->site = FX_STR("0123456789abcdef");
    p->title = FX_STR("thread poller_main (blocked in nanosleep)");
    p->count = 3;
    p->ids = x->poll_ids;
    p->name = FX_STR("poller");
    p->start_routine = FX_STR("poller_main");
    p->creation_stack = (struct lw_sym_stack){4, x->poll_create};
    p->location_file = "/src/svc/worker.c";
    p->location_line = 40;
    p->blocked = true;
    p->blocked_call = FX_STR("nanosleep");
    p->blocked_family = LW_FAMILY_SLEEP;
    p->blocked_for_ms = 95;
    p->blocked_stack = (struct lw_sym_stack){3, x->poll_blocked};
    p->wakes_since_cancel = 37;
    p->ctx_cause = LW_CAUSE_EXITED;
    p->ctx_cancelled_ago_ms = 4200;
    p->ctx_label = FX_STR("GET /users");
    p->ctx_origin_tid = 4102;
    p->creators = x->chain;
    p->ncreators = 3;

    fx_frame(&x->sock_create[0], 0x7f0000004000, "socket", NULL, 0, "/opt/lw/libleakwatch.so", 0x4000);
    fx_frame(&x->sock_create[1], 0x401600, NULL, NULL, 0, "/usr/local/bin/service", 0x1600);
    x->sock_ids[0] = 7;
    struct lw_finding *s = &x->news[1];
    fx_empty_finding(s);
    s->kind = LW_KIND_SOCKET;
    s->verdict = LW_VERDICT_LEAKED;
    s->site = FX_STR("fedcba9876543210");
    s->title = FX_STR("socket tcp created in handle_request");
    s->count = 1;
    s->ids = x->sock_ids;
    s->name = FX_STR("tcp");
    s->creation_stack = (struct lw_sym_stack){2, x->sock_create};
    s->ctx_cause = LW_CAUSE_EXITED;
    s->ctx_cancelled_ago_ms = 4200;
    s->ctx_origin_tid = 4102;
    s->creators = &x->chain[1];
    s->ncreators = 2;
    s->sock_kind = FX_STR("tcp");
    s->sock_local = FX_STR("127.0.0.1:5000");
    s->sock_peer = FX_STR("127.0.0.1:41234");

    fx_frame(&x->mtx_blocked[0], 0x7f0000005000, "pthread_mutex_lock", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6", 0x5000);
    fx_frame(&x->mtx_blocked[1], 0x401700, "drain_main", "/src/svc/drain.c", 12, "/usr/local/bin/service", 0x1700);
    x->stuck_ids[0] = 4130;
    struct lw_finding *k = &x->news[2];
    fx_empty_finding(k);
    k->kind = LW_KIND_THREAD;
    k->verdict = LW_VERDICT_STUCK;
    k->site = FX_STR("00000000deadbeef");
    k->title = FX_STR("thread drain_main (blocked in pthread_mutex_lock)");
    k->count = 1;
    k->ids = x->stuck_ids;
    k->start_routine = FX_STR("drain_main");
    k->creation_stack = (struct lw_sym_stack){1, &x->poll_create[3]};
    k->blocked = true;
    k->blocked_call = FX_STR("pthread_mutex_lock");
    k->blocked_family = LW_FAMILY_MUTEX;
    k->blocked_object = FX_STR("mutex 0x55550000a0c0 held by thread 4129 (exited)");
    k->blocked_for_ms = 65000;
    k->blocked_timeout_infinite = true;
    k->blocked_stack = (struct lw_sym_stack){2, x->mtx_blocked};
    k->detail = FX_STR("its holder, thread 4129, exited without unlocking it");
    k->creators = &x->chain[2];
    k->ncreators = 1;

    x->unj_ids[0] = 4140;
    struct lw_finding *u = &x->pers[0];
    fx_empty_finding(u);
    u->kind = LW_KIND_THREAD;
    u->verdict = LW_VERDICT_UNJOINED;
    u->site = FX_STR("1111222233334444");
    u->title = FX_STR("thread oneshot_main (exited, never joined)");
    u->count = 1;
    u->ids = x->unj_ids;
    u->exited_ago_ms = 3100;
    u->creators = &x->chain[2];
    u->ncreators = 1;

    x->timer_ids[0] = 1, x->timer_ids[1] = 2;
    struct lw_finding *t = &x->fixed[0];
    fx_empty_finding(t);
    t->kind = LW_KIND_TIMER;
    t->verdict = LW_VERDICT_LEAKED;
    t->site = FX_STR("5555666677778888");
    t->title = FX_STR("timer posix, callback tick");
    t->count = 2;
    t->ids = x->timer_ids;
    t->timer_armed = true;
    t->timer_interval_ms = 100;

    r->new_findings = x->news;
    r->n_new = 3;
    r->persisting = x->pers;
    r->n_persisting = 1;
    r->fixed = x->fixed;
    r->n_fixed = 1;
    fx_decide(r, LW_FAIL_ALL);
    x->supp[0] = (struct lw_suppression_use){FX_STR("thread:grpc_*"), 4};
    r->suppressions = x->supp;
    r->n_suppressions = 1;
    x->warn[0] = FX_STR("/usr/lib/libfoo.so: build-id mismatch, using module+offset");
    r->warnings = x->warn;
    r->n_warnings = 1;
    x->expired[0] = FX_STR("thread:0123456789abcdef owner=alice expired 2024-01-01");
    r->baseline_expired = x->expired;
    r->n_baseline_expired = 1;
    r->baseline_accepted = 2;
}

/* Nothing found at all: single-argument diff of a clean program. */
static inline void fx_init_empty(struct lw_report *r)
{
    memset(r, 0, sizeof *r);
    r->after_path = FX_STR("after.json");
    r->after_pid = 1;
    r->grace_ms = 1000;
}

typedef int (*fx_render_fn)(FILE *, const struct lw_report *, const struct lw_render_opts *);

/* Renders into a NUL-terminated malloc'd string; *rc gets the renderer's
 * return value. */
static inline char *fx_render(fx_render_fn fn, const struct lw_report *r, bool color,
                              int max_frames, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    struct lw_render_opts o = {.color = color, .max_frames = max_frames};
    int ret = fn(m, r, &o);
    fclose(m);
    if (rc)
        *rc = ret;
    return buf;
}

static inline char *fx_render_dump(const struct lw_dump *d, bool tree, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    struct lw_render_opts o = {.color = false};
    int ret = lw_render_dump(m, d, tree, &o);
    fclose(m);
    if (rc)
        *rc = ret;
    return buf;
}

/* The last non-empty line of s (static buffer). */
static inline const char *fx_last_line(const char *s)
{
    static char line[1024];
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    size_t b = n;
    while (b && s[b - 1] != '\n')
        b--;
    size_t len = n - b < sizeof line - 1 ? n - b : sizeof line - 1;
    memcpy(line, s + b, len);
    line[len] = '\0';
    return line;
}

static inline size_t fx_count(const char *hay, const char *needle)
{
    size_t c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        c++;
    return c;
}

#endif
