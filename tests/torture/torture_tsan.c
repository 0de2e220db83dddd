/* torture_tsan.c — the shim core (PRELOAD_CORE_SRCS, linked directly like
 * the unit tests) under ThreadSanitizer: worker threads allocate, hash,
 * block, wake, cancel and free thread records, contexts and wait-object
 * owners while a reader walks the registry (as a snapshot does) and writes
 * real snapshots. Exit 0 and no "WARNING: ThreadSanitizer" output = pass.
 * Test code only. */
#include "../../preload/runtime/lw_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 4
static int rounds = 2000;
static _Atomic int stop;

static void *worker(void *arg)
{
    long id = (long)arg;
    int me = lw_gettid();
    /* filled, then published, as hook_thread.c does */
    struct lw_thread *self = lw_reg_alloc();
    if (!self)
        return (void *)1L;
    self->kind = LW_TK_TRACKED;
    self->tid = me;
    self->pt = pthread_self();
    self->ctx = lw_ctx_new(LW_CTX_ROOT, LW_CK_THREAD, "worker", me, 0x1000, false);
    lw_reg_publish(self);
    lw_reg_hash_insert(self);
    lw_self = self;
    for (int i = 0; i < rounds; i++) {
        /* a child record, as pthread_create would make */
        struct lw_thread *t = lw_reg_alloc();
        if (!t)
            continue;
        pthread_t fake = (pthread_t)(0x100000 * (id + 1) + (uintptr_t)i * 16);
        t->kind = LW_TK_TRACKED;
        t->ctx = lw_ctx_new(self->ctx, LW_CK_THREAD, NULL, me, 0x2000, i & 1);
        lw_reg_publish(t);
        /* the started thread writes its own tid after publication */
        lw_thread_set_tid(t, 1000000 + (int)id * 100000 + i);
        lw_thread_created(t, fake, true);
        uintptr_t obj = 0x5000 + (uintptr_t)id * 0x1000 + (uintptr_t)(i % 64) * 8;
        lw_obj_set(obj, t->ctx);
        lw_obj_touch(obj); /* a wait touches its object: owner = common ancestor */
        struct lw_wait_info wi = {"pthread_cond_wait", "cond", obj, -1, NULL, 0, -1,
                                  lw_obj_owner(obj), __builtin_return_address(0), 0};
        uintptr_t tok = lw_wait_begin(&wi);
        lw_ctx_cancel(t->ctx, LW_CAUSE_EXPLICIT);
        lw_wait_end(tok);
        (void)lw_ctx_is_under(t->ctx, LW_CTX_ROOT);
        lw_obj_remove(obj);
        lw_thread_exited(t, 0);
        uint64_t serial = 0;
        struct lw_thread *f = lw_reg_find(fake, &serial, NULL);
        if (f) {
            if (i & 2)
                lw_thread_detached(f, serial);
            else
                lw_thread_joined(f, serial);
        }
    }
    lw_self = NULL;
    return NULL;
}

struct tally {
    int n, blocked;
};

static void look(struct lw_thread *t, void *arg)
{
    struct tally *y = arg;
    struct lw_blocked b;
    uintptr_t st[LW_MAX_DEPTH];
    y->n++;
    y->blocked += lw_thread_read_blocked(t, &b, st);
}

static void *reader(void *arg)
{
    const char *dir = arg;
    int snaps = 0;
    while (!atomic_load(&stop)) {
        struct tally y = {0, 0};
        lw_reg_lock();
        lw_reg_foreach(look, &y);
        lw_reg_unlock();
        struct lw_ctx_info v[256];
        (void)lw_ctx_list(v, 256);
        if (dir && snaps < 20) {
            char path[4096];
            snprintf(path, sizeof path, "%s/tsan-%d.json", dir, snaps++);
            if (lw_snapshot_write(LW_TRIG_API, path) != 0)
                return (void *)1L;
        }
        usleep(1000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : NULL;
    if (argc > 2)
        rounds = atoi(argv[2]);
    lw_options_defaults(&lw_opt);
    lw_opt.quiet = 1;
    lw_log_open("stderr", true);
    if (lw_registry_init() < 0 || lw_ctx_init() < 0 || lw_objects_init() < 0)
        return 2;
    lw_stack_init();
    atomic_store(&lw_state, LW_ST_RUN);
    pthread_t w[WORKERS], r;
    pthread_create(&r, NULL, reader, (void *)dir);
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, (void *)i);
    int bad = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *x;
        pthread_join(w[i], &x);
        bad |= x != NULL;
    }
    atomic_store(&stop, 1);
    void *x;
    pthread_join(r, &x);
    bad |= x != NULL;
    printf("tsan: %d workers x %d rounds, created %llu, live contexts %llu: %s\n", WORKERS, rounds,
           (unsigned long long)atomic_load(&lw_stat_created),
           (unsigned long long)atomic_load(&lw_stat_ctx_live), bad ? "FAILED" : "ok");
    return bad;
}
