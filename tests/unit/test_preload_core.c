/* Unit tests of the shim's core (linked directly, no interposition):
 * options parsing, thread registry, context tree, wait-object owners. */
#include "../../preload/runtime/lw_runtime.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- options */

struct errs {
    int n;
    char last[300];
};

static void collect(const char *msg, void *arg)
{
    struct errs *e = arg;
    e->n++;
    snprintf(e->last, sizeof e->last, "%s", msg);
}

START_TEST(options_defaults)
{
    struct lw_options o;
    lw_options_defaults(&o);
    ck_assert_str_eq(o.output, "leakwatch-%p-%n.json");
    ck_assert_int_eq(o.at_start, 0);
    ck_assert_int_eq(o.at_exit, 1);
    ck_assert_int_eq(o.exit_grace_ms, 500);
    ck_assert_int_eq(o.signo, SIGUSR2);
    ck_assert_int_eq(o.interval_ms, 0);
    ck_assert_int_eq(o.stack_depth, 32);
    ck_assert_str_eq(o.log, "stderr");
    ck_assert_int_eq(o.quiet, 0);
}
END_TEST

START_TEST(options_good)
{
    struct lw_options o;
    struct errs e = {0};
    lw_options_defaults(&o);
    int bad = lw_options_parse(&o,
                               "output=/tmp/x-%p.json:at_start=1:at_exit=false:exit_grace_ms=0:"
                               "signal=SIGUSR1:interval_ms=250:stack_depth=128:quiet=true::",
                               collect, &e);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(e.n, 0);
    ck_assert_str_eq(o.output, "/tmp/x-%p.json");
    ck_assert_int_eq(o.at_start, 1);
    ck_assert_int_eq(o.at_exit, 0);
    ck_assert_int_eq(o.exit_grace_ms, 0);
    ck_assert_int_eq(o.signo, SIGUSR1);
    ck_assert_int_eq(o.interval_ms, 250);
    ck_assert_int_eq(o.stack_depth, 128);
    ck_assert_int_eq(o.quiet, 1);
    lw_options_parse(&o, "signal=usr2", collect, &e);
    ck_assert_int_eq(o.signo, SIGUSR2);
    lw_options_parse(&o, "signal=10", collect, &e);
    ck_assert_int_eq(o.signo, 10);
    lw_options_parse(&o, "signal=0", collect, &e);
    ck_assert_int_eq(o.signo, 0);
    ck_assert_int_eq(e.n, 0);
}
END_TEST

START_TEST(options_bad_ignored)
{
    struct lw_options o, ref;
    struct errs e = {0};
    lw_options_defaults(&o);
    lw_options_defaults(&ref);
    ck_assert_int_eq(lw_options_parse(&o, "nosuchkey=1", collect, &e), 1);
    ck_assert_ptr_nonnull(strstr(e.last, "unknown key 'nosuchkey'"));
    ck_assert_int_eq(lw_options_parse(&o, "at_exit=2", collect, &e), 1);
    ck_assert_ptr_nonnull(strstr(e.last, "at_exit"));
    ck_assert_int_eq(lw_options_parse(&o, "stack_depth=0", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "stack_depth=129", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "exit_grace_ms=-5", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "exit_grace_ms=12abc", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "interval_ms=99999999999999", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "signal=SIGKILL", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "signal=SIGNOPE", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "output=", collect, &e), 1);
    ck_assert_int_eq(lw_options_parse(&o, "justaword", collect, &e), 1);
    char big[LW_PATH_MAX + 20];
    memset(big, 'a', sizeof big);
    memcpy(big, "output=", 7);
    big[sizeof big - 1] = 0;
    ck_assert_int_eq(lw_options_parse(&o, big, collect, &e), 1);
    ck_assert_int_eq(e.n, 12);
    /* nothing changed */
    ck_assert_int_eq(memcmp(&o, &ref, sizeof o), 0);
    /* one bad item does not spoil the good ones around it */
    ck_assert_int_eq(lw_options_parse(&o, "at_start=1:bad:interval_ms=5", collect, &e), 1);
    ck_assert_int_eq(o.at_start, 1);
    ck_assert_int_eq(o.interval_ms, 5);
}
END_TEST

START_TEST(options_help)
{
    char path[] = "/tmp/lw-unit-help-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lw_options_defaults(&lw_opt);
    lw_log_open(path, false);
    lw_options_help();
    FILE *f = fopen(path, "r");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    unlink(path);
    const char *keys[] = {"output", "at_start", "at_exit", "exit_grace_ms", "signal",
                          "interval_ms", "stack_depth", "log", "quiet"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(strstr(buf, keys[i]), "help lacks %s", keys[i]);
    ck_assert_ptr_nonnull(strstr(buf, "leakwatch["));
}
END_TEST

START_TEST(options_env_scan)
{
    setenv("LEAKWATCH_OPTIONS_NOT", "x", 1);
    setenv("LEAKWATCH_OPTIONS", "at_start=1", 1);
    ck_assert_str_eq(lw_env("LEAKWATCH_OPTIONS"), "at_start=1");
    unsetenv("LEAKWATCH_OPTIONS");
    ck_assert_ptr_null(lw_env("LEAKWATCH_OPTIONS"));
}
END_TEST

/* ---------------------------------------------------------------- registry */

static void setup_tables(void)
{
    lw_options_defaults(&lw_opt);
    lw_opt.quiet = 1;
    lw_log_open("stderr", true);
    ck_assert_int_eq(lw_registry_init(), 0);
    ck_assert_int_eq(lw_ctx_init(), 0);
    ck_assert_int_eq(lw_objects_init(), 0);
}

static struct lw_thread *fake_thread(pthread_t pt, int tid)
{
    struct lw_thread *t = lw_reg_alloc();
    if (t)
        lw_reg_publish(t);
    ck_assert_ptr_nonnull(t);
    t->kind = LW_TK_TRACKED;
    t->tid = tid;
    t->pt = pt;
    t->ctx = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, tid, 0x1234, false);
    lw_reg_hash_insert(t);
    return t;
}

static void join_pt(pthread_t pt)
{
    uint64_t serial = 0;
    struct lw_thread *t = lw_reg_find(pt, &serial, NULL);
    lw_thread_joined(t, serial);
}

static void detach_pt(pthread_t pt)
{
    uint64_t serial = 0;
    struct lw_thread *t = lw_reg_find(pt, &serial, NULL);
    lw_thread_detached(t, serial);
}

static void count_one(struct lw_thread *t, void *arg)
{
    (void)t;
    (*(int *)arg)++;
}

static int count_records(void)
{
    int n = 0;
    lw_reg_lock();
    lw_reg_foreach(count_one, &n);
    lw_reg_unlock();
    return n;
}

START_TEST(registry_alloc_lookup_free)
{
    setup_tables();
    struct lw_thread *a = fake_thread((pthread_t)0x1000, 101);
    struct lw_thread *b = fake_thread((pthread_t)0x2000, 102);
    ck_assert_ptr_ne(a, b);
    ck_assert_uint_ge(lw_reg_record_size(), sizeof(struct lw_thread) + 2 * 32 * sizeof(uintptr_t));
    lw_reg_lock();
    ck_assert_ptr_eq(lw_reg_lookup((pthread_t)0x1000), a);
    ck_assert_ptr_eq(lw_reg_lookup((pthread_t)0x2000), b);
    ck_assert_ptr_null(lw_reg_lookup((pthread_t)0x3000));
    lw_reg_unlock();
    ck_assert_int_eq(count_records(), 2);
    /* exited, joinable: kept (the unjoined verdict needs it) */
    lw_thread_exited(a, LW_EXIT_RETURN);
    ck_assert_int_eq(a->exited, 1);
    ck_assert_int_eq(a->exit_kind, LW_EXIT_RETURN);
    ck_assert_int_eq(count_records(), 2);
    struct lw_ctx_info ci;
    ck_assert(lw_ctx_get(a->ctx, &ci));
    ck_assert_int_eq(ci.cause, LW_CAUSE_EXITED);
    /* joined: freed, hash entry gone, context recycled */
    lw_ctx_id actx = a->ctx;
    join_pt((pthread_t)0x1000);
    ck_assert_int_eq(count_records(), 1);
    lw_reg_lock();
    ck_assert_ptr_null(lw_reg_lookup((pthread_t)0x1000));
    lw_reg_unlock();
    ck_assert(!lw_ctx_get(actx, NULL));
    /* detached then exited: freed at exit */
    detach_pt((pthread_t)0x2000);
    ck_assert_int_eq(count_records(), 1);
    lw_thread_exited(b, LW_EXIT_PTHREAD_EXIT);
    ck_assert_int_eq(count_records(), 0);
    /* a freed record is reused */
    struct lw_thread *c = fake_thread((pthread_t)0x3000, 103);
    ck_assert(c == a || c == b);
    ck_assert_int_eq(c->exited, 0);
    ck_assert_int_eq(c->joined, 0);
}
END_TEST

START_TEST(registry_many_and_reuse)
{
    setup_tables();
    enum { N = 5000 };
    static struct lw_thread *v[N];
    for (int i = 0; i < N; i++)
        v[i] = fake_thread((pthread_t)(uintptr_t)(0x10000 + 64 * i), 1000 + i);
    ck_assert_int_eq(count_records(), N);
    ck_assert_int_eq((int)atomic_load(&lw_stat_live), N);
    lw_reg_lock();
    for (int i = 0; i < N; i += 97)
        ck_assert_ptr_eq(lw_reg_lookup((pthread_t)(uintptr_t)(0x10000 + 64 * i)), v[i]);
    lw_reg_unlock();
    for (int i = 0; i < N; i++) {
        lw_thread_exited(v[i], LW_EXIT_RETURN);
        join_pt((pthread_t)(uintptr_t)(0x10000 + 64 * i));
    }
    ck_assert_int_eq(count_records(), 0);
    /* pthread_t and tid reuse: a new thread with an old identity is a new record */
    struct lw_thread *r = fake_thread((pthread_t)0x10000, 1000);
    ck_assert_int_eq(r->exited, 0);
    ck_assert_int_eq(count_records(), 1);
}
END_TEST

START_TEST(registry_stale_pthread_t)
{
    setup_tables();
    /* a record whose thread we never saw joined keeps its slot, but a new
     * thread with the same pthread_t takes over the mapping */
    struct lw_thread *old = fake_thread((pthread_t)0x5000, 500);
    lw_thread_exited(old, LW_EXIT_RETURN);
    struct lw_thread *nw = fake_thread((pthread_t)0x5000, 501);
    lw_reg_lock();
    ck_assert_ptr_eq(lw_reg_lookup((pthread_t)0x5000), nw);
    lw_reg_unlock();
    ck_assert_int_eq(count_records(), 2);
    join_pt((pthread_t)0x5000);
    ck_assert_int_eq(count_records(), 1);
    ck_assert_int_eq(old->in_use, 1);
}
END_TEST

/* glibc reuses a pthread_t as soon as a join or detach released it, before
 * the hook's bookkeeping runs: the record named before the call is the one
 * affected, never a new thread's record that took the same slot. */
START_TEST(registry_reuse_race)
{
    setup_tables();
    struct lw_thread *a = fake_thread((pthread_t)0x7000, 700);
    uint64_t serial = 0;
    ck_assert_ptr_eq(lw_reg_find((pthread_t)0x7000, &serial, NULL), a);
    lw_thread_exited(a, LW_EXIT_RETURN);
    /* the real join ran; meanwhile the record was released by a racing
     * path and a new thread got both the slot and the pthread_t */
    lw_reg_free(a);
    struct lw_thread *b = fake_thread((pthread_t)0x7000, 701);
    ck_assert_ptr_eq(a, b); /* same slot */
    lw_thread_joined(a, serial);
    ck_assert_int_eq(b->in_use, 1);
    ck_assert_int_eq(b->joined, 0);
    ck_assert_int_eq(b->exited, 0);
    lw_thread_detached(a, serial);
    ck_assert_int_eq(b->detached, 0);
    /* a detached thread that exited is unhashed at once */
    detach_pt((pthread_t)0x7000);
    lw_thread_exited(b, LW_EXIT_RETURN);
    ck_assert_ptr_null(lw_reg_find((pthread_t)0x7000, &serial, NULL));
    ck_assert_int_eq(count_records(), 0);
}
END_TEST

static __attribute__((noinline)) uintptr_t nested_begin(const struct lw_wait_info *wi)
{
    volatile char pad[512];
    pad[0] = 0;
    uintptr_t r = lw_wait_begin(wi);
    pad[511] = 1;
    return r + (uintptr_t)(pad[0] & 0);
}

START_TEST(registry_blocked_state)
{
    setup_tables();
    lw_opt.enabled = 1;
    struct lw_thread *t = fake_thread(pthread_self(), lw_gettid());
    lw_self = t;
    atomic_store(&lw_state, LW_ST_RUN);
    int fds[3] = {7, 8, 9};
    struct lw_wait_info wi = {"recv", "socket", 0, 7, fds, 3, 5000000, 42,
                              __builtin_return_address(0), 0};
    uintptr_t tok = lw_wait_begin(&wi);
    ck_assert(tok != 0);
    struct lw_blocked b;
    uintptr_t st[LW_MAX_DEPTH];
    ck_assert(lw_thread_read_blocked(t, &b, st));
    ck_assert_str_eq(b.call, "recv");
    ck_assert_str_eq(b.family, "socket");
    ck_assert_int_eq(b.fd, 7);
    ck_assert_int_eq(b.nfds, 3);
    ck_assert_int_eq(b.fds[2], 9);
    ck_assert_int_eq(b.owner, 42);
    ck_assert_int_eq(b.timeout_ns, 5000000);
    ck_assert_int_gt(b.nstack, 0);
    ck_assert_uint_eq(atomic_load(&t->waits), 1);
    /* a nested (signal handler) wait, deeper on the stack, is not recorded
     * over the outer one */
    ck_assert(nested_begin(&wi) == 0);
    ck_assert(lw_thread_read_blocked(t, &b, st));
    ck_assert_int_eq(b.fd, 7);
    /* a wait at the same depth means the outer one was left by siglongjmp:
     * it replaces the stale state */
    struct lw_wait_info wi2 = wi;
    wi2.fd = 8;
    ck_assert(lw_wait_begin(&wi2) != 0);
    ck_assert(lw_thread_read_blocked(t, &b, st));
    ck_assert_int_eq(b.fd, 8);
    lw_wait_end(tok);
    ck_assert(!lw_thread_read_blocked(t, &b, st));
    /* wakes_since_cancel counts waits after the context was cancelled */
    lw_ctx_cancel(t->ctx, LW_CAUSE_EXPLICIT);
    for (int i = 0; i < 3; i++)
        lw_wait_end(lw_wait_begin(&wi));
    ck_assert_uint_eq(atomic_load(&t->wakes_since_cancel), 3);
    ck_assert_uint_eq(atomic_load(&t->waits), 5);
    /* guard: leakwatch's own work is not recorded */
    ck_assert(lw_guard_enter());
    ck_assert(!lw_guard_enter());
    ck_assert(lw_wait_begin(&wi) == 0);
    lw_guard_leave();
    atomic_store(&lw_state, LW_ST_OFF);
    lw_self = NULL;
}
END_TEST

/* Past LW_CTX_STACK nested entries, every reader of the current context
 * (lw_ctx_current, the wait path's cancelled-context count) agrees: the
 * thread's own context until the extra levels are left. */
START_TEST(registry_ctx_stack_overflow)
{
    setup_tables();
    lw_opt.enabled = 1;
    struct lw_thread *t = fake_thread(pthread_self(), lw_gettid());
    lw_self = t;
    atomic_store(&lw_state, LW_ST_RUN);
    lw_ctx_id own = t->ctx;
    lw_ctx_id c[LW_CTX_STACK + 1];
    for (int i = 0; i <= LW_CTX_STACK; i++) {
        c[i] = lw_ctx_new(LW_CTX_ROOT, LW_CK_EXPLICIT, "nest", lw_gettid(), 0, false);
        ck_assert_uint_ne(c[i], LW_CTX_NONE);
        lw_thread_ctx_push(t, c[i], false);
        ck_assert_uint_eq(lw_ctx_current(), i < LW_CTX_STACK ? c[i] : own);
    }
    /* the deepest tracked entry is cancelled: a wait one level deeper is not
     * under it, so it does not count as a wake since cancellation */
    lw_ctx_cancel(c[LW_CTX_STACK - 1], LW_CAUSE_EXPLICIT);
    struct lw_wait_info wi = {"recv", "socket", 0, 7, NULL, 0, -1, 0,
                              __builtin_return_address(0), 0};
    lw_wait_end(lw_wait_begin(&wi));
    ck_assert_uint_eq(atomic_load(&t->wakes_since_cancel), 0);
    /* leaving the untracked level makes the cancelled one current again */
    ck_assert_int_eq(lw_thread_ctx_pop(t), 0);
    ck_assert_uint_eq(lw_ctx_current(), c[LW_CTX_STACK - 1]);
    lw_wait_end(lw_wait_begin(&wi));
    ck_assert_uint_eq(atomic_load(&t->wakes_since_cancel), 1);
    for (int i = 0; i < LW_CTX_STACK; i++)
        ck_assert_int_eq(lw_thread_ctx_pop(t), 0);
    ck_assert_int_eq(lw_thread_ctx_pop(t), -1);
    ck_assert_uint_eq(lw_ctx_current(), own);
    atomic_store(&lw_state, LW_ST_OFF);
    lw_self = NULL;
}
END_TEST

/* ---------------------------------------------------------------- contexts */

/* lw_pthread_tid: the creator learns the new thread's kernel tid before
 * the thread has run (it waits on the gate), and 0 once it is gone. */
static pthread_mutex_t tid_gate = PTHREAD_MUTEX_INITIALIZER;
static void *tid_report(void *arg)
{
    pthread_mutex_lock(&tid_gate);
    pthread_mutex_unlock(&tid_gate);
    *(int *)arg = lw_gettid();
    return NULL;
}

START_TEST(registry_pthread_tid)
{
    int seen = 0;
    pthread_t t;
    pthread_mutex_lock(&tid_gate);
    ck_assert_int_eq(pthread_create(&t, NULL, tid_report, &seen), 0);
    int tid = lw_pthread_tid(t);
    ck_assert_int_gt(tid, 0);
    ck_assert_int_ne(tid, lw_gettid());
    pthread_mutex_unlock(&tid_gate);
    pthread_join(t, NULL);
    ck_assert_int_eq(tid, seen);
    ck_assert_int_eq(lw_pthread_tid(pthread_self()), lw_gettid());
}
END_TEST

START_TEST(ctx_propagation)
{
    setup_tables();
    lw_ctx_id a = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 1, 0, false);
    lw_ctx_id b = lw_ctx_new(a, LW_CK_THREAD, NULL, 2, 0, false);
    lw_ctx_id c = lw_ctx_new(b, LW_CK_EXPLICIT, "req-7", 2, 0, false);
    lw_ctx_id c2 = lw_ctx_new(b, LW_CK_THREAD, NULL, 3, 0, false);
    lw_ctx_id d = lw_ctx_new(c, LW_CK_THREAD, NULL, 4, 0, false);
    lw_ctx_id other = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 5, 0, false);
    ck_assert(lw_ctx_is_under(d, a));
    ck_assert(lw_ctx_is_under(d, d));
    ck_assert(!lw_ctx_is_under(a, d));
    ck_assert(!lw_ctx_is_under(other, a));
    lw_ctx_cancel(b, LW_CAUSE_EXITED);
    struct lw_ctx_info i;
    ck_assert(!lw_ctx_cancelled(a));
    ck_assert(!lw_ctx_cancelled(other));
    ck_assert(!lw_ctx_cancelled(LW_CTX_ROOT));
    lw_ctx_id under[] = {b, c, c2, d};
    for (int k = 0; k < 4; k++) {
        ck_assert(lw_ctx_get(under[k], &i));
        ck_assert(i.cancelled_ns != 0);
        ck_assert_int_eq(i.cause, LW_CAUSE_EXITED);
        ck_assert_uint_eq(i.origin, b);
    }
    ck_assert(lw_ctx_get(c, &i));
    ck_assert_str_eq(i.label, "req-7");
    ck_assert_int_eq(i.kind, LW_CK_EXPLICIT);
    /* an earlier cancellation keeps its cause */
    lw_ctx_cancel(a, LW_CAUSE_PTHREAD_CANCEL);
    ck_assert(lw_ctx_get(d, &i));
    ck_assert_int_eq(i.cause, LW_CAUSE_EXITED);
    ck_assert(lw_ctx_get(a, &i));
    ck_assert_int_eq(i.cause, LW_CAUSE_PTHREAD_CANCEL);
    /* born under a cancelled parent: cancelled already */
    lw_ctx_id late = lw_ctx_new(d, LW_CK_THREAD, NULL, 6, 0, false);
    ck_assert(lw_ctx_cancelled(late));
    ck_assert(lw_ctx_get(late, &i));
    ck_assert_uint_eq(i.origin, b);
    /* root cancellation reaches everything still live */
    lw_ctx_cancel(LW_CTX_ROOT, LW_CAUSE_PROCESS_EXIT);
    ck_assert(lw_ctx_get(other, &i));
    ck_assert_int_eq(i.cause, LW_CAUSE_PROCESS_EXIT);
    ck_assert_uint_eq(i.origin, LW_CTX_ROOT);
    ck_assert_str_eq(lw_cause_name(LW_CAUSE_PROCESS_EXIT), "process_exit");
}
END_TEST

START_TEST(ctx_recycling_rules)
{
    setup_tables();
    size_t base = lw_ctx_list(NULL, 0);
    lw_ctx_id p = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 1, 0, false); /* ref: thread p */
    lw_ctx_id c = lw_ctx_new(p, LW_CK_THREAD, NULL, 2, 0, false);           /* ref: thread c */
    ck_assert_uint_eq(lw_ctx_list(NULL, 0), base + 2);
    /* p's thread exits and goes away: p is kept, a live child refers to it */
    lw_ctx_cancel(p, LW_CAUSE_EXITED);
    lw_ctx_unref(p);
    ck_assert(lw_ctx_get(p, NULL));
    /* a resource reference keeps c after its thread went away */
    lw_ctx_ref(c);
    lw_ctx_unref(c); /* the thread record's reference */
    ck_assert(lw_ctx_get(c, NULL));
    ck_assert(lw_ctx_cancelled(c));
    /* last reference: c goes, and with it p (nothing refers to it any more) */
    lw_ctx_unref(c);
    ck_assert(!lw_ctx_get(c, NULL));
    ck_assert(!lw_ctx_get(p, NULL));
    ck_assert_uint_eq(lw_ctx_list(NULL, 0), base);
    /* a live (not cancelled) context with no references stays */
    lw_ctx_id live = lw_ctx_new(LW_CTX_ROOT, LW_CK_EXPLICIT, "x", 1, 0, false);
    lw_ctx_unref(live);
    ck_assert(lw_ctx_get(live, NULL));
    /* recycled slots get a new id: stale ids never match */
    lw_ctx_id n1 = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 1, 0, false);
    lw_ctx_id n2 = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 1, 0, false);
    ck_assert(n1 != c && n1 != p && n2 != c && n2 != p);
    ck_assert(((n1 ^ c) & 0xfffff) == 0 || ((n1 ^ p) & 0xfffff) == 0 ||
              ((n2 ^ c) & 0xfffff) == 0 || ((n2 ^ p) & 0xfffff) == 0);
    /* the root is never recycled */
    lw_ctx_cancel(LW_CTX_ROOT, LW_CAUSE_PROCESS_EXIT);
    lw_ctx_unref(LW_CTX_ROOT);
    lw_ctx_unref(LW_CTX_ROOT);
    ck_assert(lw_ctx_get(LW_CTX_ROOT, NULL));
    ck_assert(!lw_ctx_get(0, NULL));
    ck_assert(!lw_ctx_get(0xfffffff0u, NULL));
}
END_TEST

START_TEST(ctx_many)
{
    setup_tables();
    /* a deep chain and a wide fan-out both cancel fully */
    lw_ctx_id top = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 1, 0, false), cur = top;
    for (int i = 0; i < 2000; i++)
        cur = lw_ctx_new(cur, LW_CK_THREAD, NULL, i, 0, false);
    lw_ctx_id wide[3000];
    for (int i = 0; i < 3000; i++)
        wide[i] = lw_ctx_new(top, LW_CK_THREAD, NULL, i, 0, false);
    lw_ctx_cancel(top, LW_CAUSE_EXPLICIT);
    ck_assert(lw_ctx_cancelled(cur));
    for (int i = 0; i < 3000; i++)
        ck_assert(lw_ctx_cancelled(wide[i]));
}
END_TEST

/* ---------------------------------------------------------------- objects */

START_TEST(objects_owner_table)
{
    setup_tables();
    static char objs[64];
    uintptr_t a = (uintptr_t)&objs[0];
    ck_assert_uint_eq(lw_obj_owner(a), LW_CTX_NONE);
    lw_obj_set(a, 5);
    ck_assert_uint_eq(lw_obj_owner(a), 5);
    /* destroy, then re-init by someone else */
    lw_obj_remove(a);
    ck_assert_uint_eq(lw_obj_owner(a), LW_CTX_NONE);
    lw_obj_set(a, 11);
    ck_assert_uint_eq(lw_obj_owner(a), 11);
    /* init/destroy churn reuses tombstones instead of filling the table */
    uint64_t dropped = atomic_load(&lw_stat_objects_dropped);
    for (uintptr_t i = 0; i < 600000; i++) {
        lw_obj_set(0x100000 + i * 64, 3);
        lw_obj_remove(0x100000 + i * 64);
    }
    ck_assert_uint_eq(atomic_load(&lw_stat_objects_dropped), dropped);
    ck_assert_uint_eq(lw_obj_owner(a), 11);
}
END_TEST

/* docs/design.md §1.2: owner = lowest common ancestor of the touchers. */
START_TEST(objects_owner_lca)
{
    setup_tables();
    lw_ctx_id req1 = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 10, 0, false);
    lw_ctx_id req2 = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 11, 0, false);
    lw_ctx_id w1 = lw_ctx_new(req1, LW_CK_THREAD, NULL, 12, 0, false);
    lw_ctx_id w2 = lw_ctx_new(w1, LW_CK_THREAD, NULL, 13, 0, false);
    ck_assert_uint_eq(lw_ctx_lca(w2, req1), req1);
    ck_assert_uint_eq(lw_ctx_lca(req1, w2), req1);
    ck_assert_uint_eq(lw_ctx_lca(w2, req2), LW_CTX_ROOT);
    ck_assert_uint_eq(lw_ctx_lca(w1, w1), w1);
    ck_assert(lw_ctx_covers(req1, w2));
    ck_assert(lw_ctx_covers(req1, w2)); /* memo */
    ck_assert(!lw_ctx_covers(w2, req1));
    _Atomic lw_ctx_id own = LW_CTX_NONE;
    ck_assert_uint_eq(lw_obj_join(&own, w2), w2);     /* first toucher */
    ck_assert_uint_eq(lw_obj_join(&own, w2), w2);
    ck_assert_uint_eq(lw_obj_join(&own, req1), req1); /* its ancestor */
    ck_assert_uint_eq(lw_obj_join(&own, w1), req1);   /* below: no change */
    ck_assert_uint_eq(lw_obj_join(&own, req2), LW_CTX_ROOT);
    ck_assert_uint_eq(lw_obj_join(&own, w2), LW_CTX_ROOT); /* never moves down */
    /* an owner that is no longer live: the address holds a new object */
    lw_ctx_id gone = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, NULL, 14, 0, false);
    lw_ctx_cancel(gone, LW_CAUSE_EXITED);
    lw_ctx_unref(gone);
    atomic_store(&own, gone);
    ck_assert_uint_eq(lw_obj_join(&own, req2), req2);
}
END_TEST

START_TEST(objects_full_table)
{
    setup_tables();
    for (uintptr_t i = 0; i < 300000; i++)
        lw_obj_set(0x200000 + i * 64, 3);
    ck_assert_uint_gt(atomic_load(&lw_stat_objects_dropped), 0);
    ck_assert_uint_le(atomic_load(&lw_stat_objects), 1u << 18);
}
END_TEST

Suite *lw_suite_preload_core(void)
{
    Suite *s = suite_create("preload_core");
    TCase *o = tcase_create("options");
    tcase_add_test(o, options_defaults);
    tcase_add_test(o, options_good);
    tcase_add_test(o, options_bad_ignored);
    tcase_add_test(o, options_help);
    tcase_add_test(o, options_env_scan);
    suite_add_tcase(s, o);
    TCase *r = tcase_create("registry");
    tcase_add_test(r, registry_alloc_lookup_free);
    tcase_add_test(r, registry_many_and_reuse);
    tcase_add_test(r, registry_stale_pthread_t);
    tcase_add_test(r, registry_reuse_race);
    tcase_add_test(r, registry_blocked_state);
    tcase_add_test(r, registry_ctx_stack_overflow);
    tcase_add_test(r, registry_pthread_tid);
    suite_add_tcase(s, r);
    TCase *c = tcase_create("contexts");
    tcase_add_test(c, ctx_propagation);
    tcase_add_test(c, ctx_recycling_rules);
    tcase_add_test(c, ctx_many);
    suite_add_tcase(s, c);
    TCase *ob = tcase_create("objects");
    tcase_add_test(ob, objects_owner_table);
    tcase_add_test(ob, objects_owner_lca);
    tcase_add_test(ob, objects_full_table);
    suite_add_tcase(s, ob);
    return s;
}
