/* lw_load.c — reads one snapshot file with jansson and checks it.
 *
 * Owns: size cap, schema version check, the type and range of every field the
 * analyzer relies on (indexes into modules/stacks/contexts, context parent
 * cycles), and messages that name the file and the JSON path
 * ("after.json: threads[12].tid: expected an integer"). Unknown fields are
 * ignored (the format only grows). Must never: crash or hang on hostile
 * input, read past the cap, or print (the caller prints the message).
 */
#include "lw_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ld {
    struct lw_snapshot *s;
    const char *name;
    char *err;
    size_t errlen;
    bool failed;
};

#define LW_PATH_MAX 160

__attribute__((format(printf, 3, 0)))
static int ld_vfail(struct ld *l, const char *path, const char *fmt, va_list ap)
{
    if (l->failed)
        return -1;
    l->failed = true;
    int n = snprintf(l->err, l->errlen, "%s: %s%s", l->name, path ? path : "", path && *path ? ": " : "");
    if (n < 0 || (size_t)n >= l->errlen)
        return -1;
    vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    return -1;
}

__attribute__((format(printf, 3, 4)))
static int ld_fail(struct ld *l, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ld_vfail(l, path, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *json_type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* prefix "." key into out (LW_PATH_MAX), truncated if ever too long. */
static void join_path(char *out, const char *prefix, const char *key)
{
    size_t n = 0;
    for (const char *p = prefix; p && *p && n < LW_PATH_MAX - 1; p++)
        out[n++] = *p;
    if (n && n < LW_PATH_MAX - 1)
        out[n++] = '.';
    for (const char *p = key; *p && n < LW_PATH_MAX - 1; p++)
        out[n++] = *p;
    out[n] = 0;
}

/* ld_fail at the path prefix.key: most messages are about one field. */
__attribute__((format(printf, 4, 5)))
static int lw_fail_at(struct ld *l, const char *prefix, const char *key, const char *fmt, ...)
{
    char p[LW_PATH_MAX];
    join_path(p, prefix, key);
    va_list ap;
    va_start(ap, fmt);
    ld_vfail(l, p, fmt, ap);
    va_end(ap);
    return -1;
}

/* Integer field. Absent or null -> *out = -1 unless required. Values below
 * min are refused (min 0 for counts, ids and times). */
static int get_int(struct ld *l, json_t *obj, const char *prefix, const char *key, bool required,
                   int64_t min, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    *out = -1;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        return v ? lw_fail_at(l, prefix, key, "expected an integer, got null")
                 : lw_fail_at(l, prefix, key, "missing");
    }
    if (!json_is_integer(v))
        return lw_fail_at(l, prefix, key, "expected an integer, got %s", json_type_word(v));
    json_int_t x = json_integer_value(v);
    if (x < min)
        return lw_fail_at(l, prefix, key, "%lld is out of range (expected >= %lld)", (long long)x,
                          (long long)min);
    *out = (int64_t)x;
    return 0;
}

static int get_str(struct ld *l, json_t *obj, const char *prefix, const char *key, bool required,
                   const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        return v ? lw_fail_at(l, prefix, key, "expected a string, got null")
                 : lw_fail_at(l, prefix, key, "missing");
    }
    if (!json_is_string(v))
        return lw_fail_at(l, prefix, key, "expected a string, got %s", json_type_word(v));
    *out = lw_arena_strdup(&l->s->arena, json_string_value(v));
    return 0;
}

/* A string that must be one of a fixed set of words (NULL-terminated). */
/* A word of vocabulary v (lw_vocab.h) as its index; -1 when absent. */
static int get_enum(struct ld *l, json_t *obj, const char *prefix, const char *key, bool required,
                    const struct lw_vocab *v, int *out)
{
    const char *w;
    *out = -1;
    if (get_str(l, obj, prefix, key, required, &w) < 0)
        return -1;
    if (!w)
        return 0;
    if ((*out = lw_vocab_find(v, w, strlen(w))) < 0)
        return lw_fail_at(l, prefix, key, "unknown value \"%.40s\"", w);
    return 0;
}

static int get_bool(struct ld *l, json_t *obj, const char *prefix, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    *out = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return lw_fail_at(l, prefix, key, "expected a boolean, got %s", json_type_word(v));
    *out = json_is_true(v);
    return 0;
}

static int get_obj(struct ld *l, json_t *obj, const char *prefix, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return lw_fail_at(l, prefix, key, "expected an object, got %s", json_type_word(v));
    *out = v;
    return 0;
}

static int get_arr(struct ld *l, json_t *obj, const char *prefix, const char *key, bool required,
                   json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? lw_fail_at(l, prefix, key, "missing") : 0;
    if (!json_is_array(v))
        return lw_fail_at(l, prefix, key, "expected an array, got %s", json_type_word(v));
    *out = v;
    return 0;
}

/* A frame object {"ip","module","offset"}; the whole value may be null. */
static int parse_frame(struct ld *l, json_t *v, const char *path, struct lw_frame_ref *f)
{
    if (!json_is_object(v))
        return ld_fail(l, path, "expected a frame object, got %s", json_type_word(v));
    int64_t ip, mod, off;
    if (get_int(l, v, path, "ip", true, 0, &ip) < 0 || get_int(l, v, path, "module", true, -1, &mod) < 0 ||
        get_int(l, v, path, "offset", false, 0, &off) < 0)
        return -1;
    if (mod >= (int64_t)l->s->nmodules)
        return lw_fail_at(l, path, "module", "module index %lld out of range (%zu modules)",
                          (long long)mod, l->s->nmodules);
    f->ip = (uint64_t)ip;
    f->module = (int)mod;
    if (off < 0)
        off = mod >= 0 ? (int64_t)((uint64_t)ip - l->s->modules[mod].base) : ip;
    f->offset = (uint64_t)off;
    return 0;
}

static int get_frame(struct ld *l, json_t *obj, const char *prefix, const char *key, bool *has,
                     struct lw_frame_ref *f)
{
    json_t *v = json_object_get(obj, key);
    *has = false;
    if (!v || json_is_null(v))
        return 0;
    char p[LW_PATH_MAX];
    join_path(p, prefix, key);
    if (parse_frame(l, v, p, f) < 0)
        return -1;
    *has = true;
    return 0;
}

static int get_stack_ref(struct ld *l, json_t *obj, const char *prefix, const char *key, int *out)
{
    int64_t v;
    *out = -1;
    if (get_int(l, obj, prefix, key, false, -1, &v) < 0)
        return -1;
    if (v < 0)
        return 0;
    if (v >= (int64_t)l->s->nstacks)
        return lw_fail_at(l, prefix, key, "stack index %lld out of range (%zu stacks)", (long long)v,
                          l->s->nstacks);
    *out = (int)v;
    return 0;
}

/* Array of non-negative integers (fds, helper tids). */
static int get_int_list(struct ld *l, json_t *obj, const char *prefix, const char *key, size_t *n,
                        int64_t **out)
{
    json_t *a;
    *n = 0;
    *out = NULL;
    if (get_arr(l, obj, prefix, key, false, &a) < 0 || !a)
        return l->failed ? -1 : 0;
    size_t cnt = json_array_size(a);
    *out = lw_arena_alloc(&l->s->arena, (cnt ? cnt : 1) * sizeof(int64_t));
    for (size_t i = 0; i < cnt; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            char p[LW_PATH_MAX];
            snprintf(p, sizeof p, "%s%s%s[%zu]", prefix, *prefix ? "." : "", key, i);
            return ld_fail(l, p, "expected a non-negative integer, got %s", json_type_word(v));
        }
        (*out)[i] = json_integer_value(v);
    }
    *n = cnt;
    return 0;
}

/* Loads one element of a top-level array into elem (zeroed arena memory);
 * path is "key[i]" for messages, i its index. */
typedef int (*lw_elem_loader)(struct ld *l, json_t *v, const char *path, size_t i, void *elem);

enum {
    LW_ARR_OPTIONAL = 0,   /* absent or null reads as empty */
    LW_ARR_REQUIRED = 1,   /* absent or null is an error */
    LW_ARR_OF_FRAMES = 2,  /* elements are arrays of frames, not objects */
};

/* The top-level arrays (modules, stacks, contexts, threads, timers, sockets)
 * are all read the same way, so the checks and their messages live here once:
 * the member must be an array, every element an object (stacks: an array of
 * frames), each handed to load with its path. Returns the elements (in the
 * arena, never NULL on success) and sets *n only once all of them loaded;
 * NULL after ld_fail. */
static void *lw_load_array(struct ld *l, json_t *root, const char *key, unsigned flags, size_t size,
                           lw_elem_loader load, size_t *n)
{
    json_t *a;
    if (get_arr(l, root, "", key, flags & LW_ARR_REQUIRED, &a) < 0)
        return NULL;
    size_t cnt = a ? json_array_size(a) : 0;
    char *elems = lw_arena_alloc(&l->s->arena, (cnt ? cnt : 1) * size);
    for (size_t i = 0; i < cnt; i++) {
        char p[LW_PATH_MAX];
        snprintf(p, sizeof p, "%s[%zu]", key, i);
        json_t *v = json_array_get(a, i);
        bool frames = flags & LW_ARR_OF_FRAMES;
        if (frames ? !json_is_array(v) : !json_is_object(v)) {
            ld_fail(l, p, "expected %s, got %s", frames ? "an array of frames" : "an object",
                    json_type_word(v));
            return NULL;
        }
        if (load(l, v, p, i, elems + i * size) < 0)
            return NULL;
    }
    *n = cnt;
    return elems;
}

static int load_module(struct ld *l, json_t *m, const char *p, size_t i, void *elem)
{
    (void)i;
    struct lw_snap_module *mod = elem;
    int64_t base, start, end;
    if (get_str(l, m, p, "path", true, &mod->path) < 0 || get_int(l, m, p, "base", true, 0, &base) < 0 ||
        get_int(l, m, p, "start", false, 0, &start) < 0 || get_int(l, m, p, "end", false, 0, &end) < 0 ||
        get_str(l, m, p, "build_id", false, &mod->build_id) < 0)
        return -1;
    mod->base = (uint64_t)base;
    mod->start = start < 0 ? 0 : (uint64_t)start;
    mod->end = end < 0 ? 0 : (uint64_t)end;
    return 0;
}

static int load_stack(struct ld *l, json_t *st, const char *p, size_t i, void *elem)
{
    (void)i;
    struct lw_snap_stack *x = elem;
    size_t nf = json_array_size(st);
    x->frames = lw_arena_alloc(&l->s->arena, (nf ? nf : 1) * sizeof(*x->frames));
    for (size_t j = 0; j < nf; j++) {
        char fp[LW_PATH_MAX];
        snprintf(fp, sizeof fp, "%s[%zu]", p, j);
        if (parse_frame(l, json_array_get(st, j), fp, &x->frames[j]) < 0)
            return -1;
    }
    x->n = nf;
    return 0;
}


struct id_idx {
    int64_t id;
    int idx;
};
static int cmp_id_idx(const void *a, const void *b)
{
    const struct id_idx *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorted (id -> index) tables for contexts and live threads; kept in the
 * arena after the arrays (see lw_snapshot_ctx_index). */
struct lw_index {
    size_t n;
    struct id_idx *e;
};
static struct lw_index *ctx_index_of(const struct lw_snapshot *s);
static struct lw_index *thr_index_of(const struct lw_snapshot *s);

static int find_idx(const struct lw_index *ix, int64_t id)
{
    if (!ix || id < 0)
        return -1;
    struct id_idx key = {id, 0};
    struct id_idx *e = bsearch(&key, ix->e, ix->n, sizeof(*ix->e), cmp_id_idx);
    return e ? e->idx : -1;
}

/* The two indexes hang off a private trailer allocated with the snapshot. */
struct lw_snapshot_priv {
    struct lw_snapshot pub;
    struct lw_index ctx_ix, thr_ix;
};
static struct lw_index *ctx_index_of(const struct lw_snapshot *s)
{
    return &((struct lw_snapshot_priv *)(uintptr_t)s)->ctx_ix;
}
static struct lw_index *thr_index_of(const struct lw_snapshot *s)
{
    return &((struct lw_snapshot_priv *)(uintptr_t)s)->thr_ix;
}

int lw_snapshot_ctx_index(const struct lw_snapshot *s, int64_t id)
{
    return find_idx(ctx_index_of(s), id);
}

int lw_snapshot_live_thread(const struct lw_snapshot *s, int64_t tid)
{
    return find_idx(thr_index_of(s), tid);
}

static int load_context(struct ld *l, json_t *c, const char *p, size_t i, void *elem)
{
    struct lw_snapshot *s = l->s;
    struct lw_snap_ctx *x = elem;
    int kind, cause;
    if (get_int(l, c, p, "id", true, 1, &x->id) < 0 || get_int(l, c, p, "parent", false, 1, &x->parent) < 0 ||
        get_str(l, c, p, "label", false, &x->label) < 0 ||
        get_enum(l, c, p, "kind", false, &lw_vocab_ctx_kind, &kind) < 0 ||
        get_int(l, c, p, "owner_tid", false, 0, &x->owner_tid) < 0 ||
        get_frame(l, c, p, "owner_start", &x->has_owner_start, &x->owner_start) < 0 ||
        get_int(l, c, p, "created_ns", false, 0, &x->created_ns) < 0 ||
        get_int(l, c, p, "cancelled_ns", false, 0, &x->cancelled_ns) < 0 ||
        get_enum(l, c, p, "cause", false, &lw_vocab_cause, &cause) < 0 ||
        get_int(l, c, p, "cancel_origin", false, 1, &x->cancel_origin) < 0 ||
        get_bool(l, c, p, "background", &x->background) < 0)
        return -1;
    x->kind = kind >= 0 ? (enum lw_ctx_kind)kind : x->parent < 0 ? LW_CK_ROOT : LW_CK_THREAD;
    x->cause = (enum lw_cause)cause;
    if (x->parent < 0) {
        if (s->root_idx >= 0)
            return ld_fail(l, p, "a second root context (parent null); contexts[%d] is the first",
                           s->root_idx);
        s->root_idx = (int)i;
    }
    return 0;
}

static int load_contexts(struct ld *l, json_t *root)
{
    struct lw_snapshot *s = l->s;
    /* Context indexes are ints. A member that is not an array has size 0
     * here and is refused by lw_load_array. */
    if (json_array_size(json_object_get(root, "contexts")) > (size_t)INT32_MAX)
        return ld_fail(l, "contexts", "too many contexts");
    s->root_idx = -1;
    s->ctxs = lw_load_array(l, root, "contexts", LW_ARR_OPTIONAL, sizeof(*s->ctxs), load_context,
                            &s->nctxs);
    if (!s->ctxs)
        return -1;
    size_t n = s->nctxs;
    struct lw_index *ix = ctx_index_of(s);
    ix->e = lw_arena_alloc(&s->arena, (n ? n : 1) * sizeof(*ix->e));
    for (size_t i = 0; i < n; i++)
        ix->e[i] = (struct id_idx){s->ctxs[i].id, (int)i};
    qsort(ix->e, n, sizeof(*ix->e), cmp_id_idx);
    for (size_t i = 1; i < n; i++)
        if (ix->e[i].id == ix->e[i - 1].id) {
            char p[LW_PATH_MAX];
            snprintf(p, sizeof p, "contexts[%d].id", ix->e[i].idx);
            return ld_fail(l, p, "duplicate context id %lld", (long long)ix->e[i].id);
        }
    ix->n = n;
    for (size_t i = 0; i < n; i++) {
        struct lw_snap_ctx *x = &s->ctxs[i];
        x->parent_idx = x->parent < 0 ? -1 : find_idx(ix, x->parent);
        if (x->parent >= 0 && x->parent_idx < 0) {
            char p[LW_PATH_MAX];
            snprintf(p, sizeof p, "contexts[%zu].parent", i);
            return ld_fail(l, p, "no context with id %lld", (long long)x->parent);
        }
    }
    /* Every parent chain must end at the root within n steps; otherwise the
     * tree has a cycle and walking it (creator chains) would never end. */
    for (size_t i = 0; i < n; i++) {
        int cur = (int)i;
        size_t steps = 0;
        while (cur >= 0 && steps <= n) {
            cur = s->ctxs[cur].parent_idx;
            steps++;
        }
        if (cur >= 0) {
            char p[LW_PATH_MAX];
            snprintf(p, sizeof p, "contexts[%zu].parent", i);
            return ld_fail(l, p, "cycle in the context tree (context %lld is its own ancestor)",
                           (long long)s->ctxs[i].id);
        }
    }
    return 0;
}


static int ctx_ref(struct ld *l, const char *prefix, const char *key, int64_t id, int *idx)
{
    *idx = -1;
    if (id < 0)
        return 0;
    *idx = lw_snapshot_ctx_index(l->s, id);
    if (*idx < 0)
        return lw_fail_at(l, prefix, key, "no context with id %lld", (long long)id);
    return 0;
}

static int load_blocked(struct ld *l, json_t *b, const char *p, struct lw_snap_blocked *x)
{
    int family;
    if (get_str(l, b, p, "call", true, &x->call) < 0 || get_enum(l, b, p, "family", false, &lw_vocab_family, &family) < 0 ||
        get_str(l, b, p, "source", false, &x->source) < 0 || get_int(l, b, p, "object", false, 0, &x->object) < 0 ||
        get_int(l, b, p, "fd", false, 0, &x->fd) < 0 || get_int_list(l, b, p, "fds", &x->nfds, &x->fds) < 0 ||
        get_int(l, b, p, "object_owner", false, 1, &x->object_owner) < 0 ||
        get_int(l, b, p, "holder_tid", false, 0, &x->holder_tid) < 0 ||
        get_int(l, b, p, "join_target_tid", false, 0, &x->join_target_tid) < 0 ||
        get_int(l, b, p, "since_ns", false, 0, &x->since_ns) < 0 ||
        get_int(l, b, p, "timeout_ns", false, 0, &x->timeout_ns) < 0 || get_stack_ref(l, b, p, "stack", &x->stack) < 0)
        return -1;
    x->family = family >= 0 ? (enum lw_family)family : LW_FAMILY_OTHER;
    return 0;
}

/* "python": {"name", "target": {"function","file","line"}|null,
 * "creation_stack": [{"function","file","line"}]} (optional). */
static int load_python(struct ld *l, json_t *py, const char *p, const struct lw_snap_python **out)
{
    struct lw_snap_python *x = lw_arena_alloc(&l->s->arena, sizeof(*x));
    memset(x, 0, sizeof(*x));
    json_t *target, *stack;
    if (get_str(l, py, p, "name", false, &x->name) < 0 || get_obj(l, py, p, "target", &target) < 0 ||
        get_arr(l, py, p, "creation_stack", false, &stack) < 0)
        return -1;
    if (target) {
        char tp[LW_PATH_MAX];
        join_path(tp, p, "target");
        if (get_str(l, target, tp, "function", false, &x->target) < 0 ||
            get_str(l, target, tp, "file", false, &x->target_file) < 0 ||
            get_int(l, target, tp, "line", false, 0, &x->target_line) < 0)
            return -1;
    }
    size_t n = stack ? json_array_size(stack) : 0;
    x->frames = lw_arena_alloc(&l->s->arena, (n ? n : 1) * sizeof(*x->frames));
    for (size_t k = 0; k < n; k++) {
        char fp[LW_PATH_MAX + 48];
        snprintf(fp, sizeof fp, "%s.creation_stack[%zu]", p, k);
        json_t *f = json_array_get(stack, k);
        struct lw_snap_pyframe *y = &x->frames[x->n];
        if (!json_is_object(f))
            return ld_fail(l, fp, "expected an object, got %s", json_type_word(f));
        if (get_str(l, f, fp, "function", false, &y->function) < 0 ||
            get_str(l, f, fp, "file", false, &y->file) < 0 || get_int(l, f, fp, "line", false, 0, &y->line) < 0)
            return -1;
        x->n++;
    }
    *out = x;
    return 0;
}

static int load_thread(struct ld *l, json_t *t, const char *p, size_t i, void *elem)
{
    (void)i;
    struct lw_snap_thread *x = elem;
    json_t *b, *attr, *py;
    int kind, state;
    if (get_int(l, t, p, "tid", true, 1, &x->tid) < 0 ||
        get_enum(l, t, p, "kind", true, &lw_vocab_thread_kind, &kind) < 0 ||
        get_str(l, t, p, "name", false, &x->name) < 0 ||
        get_frame(l, t, p, "start_routine", &x->has_start, &x->start) < 0 ||
        get_int(l, t, p, "created_ns", false, 0, &x->created_ns) < 0 ||
        get_int(l, t, p, "creator_tid", false, 0, &x->creator_tid) < 0 ||
        get_int(l, t, p, "context", false, 1, &x->context) < 0 ||
        ctx_ref(l, p, "context", x->context, &x->ctx_idx) < 0 ||
        get_stack_ref(l, t, p, "creation_stack", &x->creation_stack) < 0 ||
        get_enum(l, t, p, "state", true, &lw_vocab_thread_state, &state) < 0 ||
        get_obj(l, t, p, "blocked", &b) < 0 || get_int(l, t, p, "waits", false, 0, &x->waits) < 0 ||
        get_int(l, t, p, "wakes_since_cancel", false, 0, &x->wakes_since_cancel) < 0 ||
        get_int(l, t, p, "exited_ns", false, 0, &x->exited_ns) < 0 ||
        get_str(l, t, p, "exit", false, &x->exit) < 0 || get_bool(l, t, p, "joined", &x->joined) < 0 ||
        get_bool(l, t, p, "detached", &x->detached) < 0 ||
        get_int(l, t, p, "cancel_requested_ns", false, 0, &x->cancel_requested_ns) < 0 ||
        get_obj(l, t, p, "attributed_to", &attr) < 0 || get_obj(l, t, p, "python", &py) < 0)
        return -1;
    if (py) {
        char pp[LW_PATH_MAX];
        join_path(pp, p, "python");
        if (load_python(l, py, pp, &x->python) < 0)
            return -1;
    }
    x->kind = (enum lw_thread_kind)kind;
    x->state = (enum lw_thread_state)state;
    x->attributed_timer = -1;
    if (attr) {
        char ap[LW_PATH_MAX];
        join_path(ap, p, "attributed_to");
        if (get_int(l, attr, ap, "timer", false, 0, &x->attributed_timer) < 0)
            return -1;
    }
    x->is_blocked = x->state == LW_TS_BLOCKED;
    if (x->is_blocked && !b)
        return ld_fail(l, p, "state is \"blocked\" but \"blocked\" is null");
    x->blocked.object = x->blocked.fd = x->blocked.object_owner = -1;
    x->blocked.holder_tid = x->blocked.join_target_tid = x->blocked.since_ns = -1;
    x->blocked.timeout_ns = -1;
    x->blocked.stack = -1;
    if (x->is_blocked) {
        char bp[LW_PATH_MAX];
        join_path(bp, p, "blocked");
        if (load_blocked(l, b, bp, &x->blocked) < 0)
            return -1;
    }
    if (x->wakes_since_cancel < 0)
        x->wakes_since_cancel = 0;
    return 0;
}

static int load_threads(struct ld *l, json_t *root)
{
    struct lw_snapshot *s = l->s;
    s->threads = lw_load_array(l, root, "threads", LW_ARR_REQUIRED, sizeof(*s->threads),
                               load_thread, &s->nthreads);
    if (!s->threads)
        return -1;
    size_t n = s->nthreads;
    /* Live threads by tid: for "is the mutex holder still alive". */
    struct lw_index *ix = thr_index_of(s);
    ix->e = lw_arena_alloc(&s->arena, (n ? n : 1) * sizeof(*ix->e));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s->threads[i].state != LW_TS_EXITED)
            ix->e[m++] = (struct id_idx){s->threads[i].tid, (int)i};
    qsort(ix->e, m, sizeof(*ix->e), cmp_id_idx);
    for (size_t i = 1; i < m; i++)
        if (ix->e[i].id == ix->e[i - 1].id) {
            char p[LW_PATH_MAX];
            snprintf(p, sizeof p, "threads[%d].tid", ix->e[i].idx);
            return ld_fail(l, p, "two live threads with tid %lld", (long long)ix->e[i].id);
        }
    ix->n = m;
    return 0;
}

static int load_timer(struct ld *l, json_t *t, const char *p, size_t i, void *elem)
{
    (void)i;
    struct lw_snap_timer *x = elem;
    if (get_int(l, t, p, "id", true, 0, &x->id) < 0 || get_str(l, t, p, "kind", false, &x->kind) < 0 ||
        get_int(l, t, p, "handle", false, INT64_MIN, &x->handle) < 0 ||
        get_str(l, t, p, "notify", false, &x->notify) < 0 ||
        get_frame(l, t, p, "callback", &x->has_callback, &x->callback) < 0 ||
        get_int(l, t, p, "context", false, 1, &x->context) < 0 ||
        ctx_ref(l, p, "context", x->context, &x->ctx_idx) < 0 ||
        get_int(l, t, p, "creator_tid", false, 0, &x->creator_tid) < 0 ||
        get_int(l, t, p, "created_ns", false, 0, &x->created_ns) < 0 ||
        get_stack_ref(l, t, p, "creation_stack", &x->creation_stack) < 0 ||
        get_bool(l, t, p, "armed", &x->armed) < 0 || get_int(l, t, p, "interval_ns", false, 0, &x->interval_ns) < 0 ||
        get_int(l, t, p, "expirations", false, 0, &x->expirations) < 0 ||
        get_int_list(l, t, p, "helper_tids", &x->nhelpers, &x->helper_tids) < 0)
        return -1;
    if (!x->kind)
        x->kind = "posix";
    if (x->interval_ns < 0)
        x->interval_ns = 0;
    return 0;
}

static int load_socket(struct ld *l, json_t *t, const char *p, size_t i, void *elem)
{
    (void)i;
    struct lw_snap_socket *x = elem;
    if (get_int(l, t, p, "fd", true, 0, &x->fd) < 0 || get_str(l, t, p, "kind", false, &x->kind) < 0 ||
        get_str(l, t, p, "local", false, &x->local) < 0 || get_str(l, t, p, "peer", false, &x->peer) < 0 ||
        get_bool(l, t, p, "listening", &x->listening) < 0 || get_bool(l, t, p, "connected", &x->connected) < 0 ||
        get_bool(l, t, p, "foreign", &x->foreign) < 0 || get_int(l, t, p, "context", false, 1, &x->context) < 0 ||
        ctx_ref(l, p, "context", x->context, &x->ctx_idx) < 0 ||
        get_int(l, t, p, "creator_tid", false, 0, &x->creator_tid) < 0 ||
        get_int(l, t, p, "created_ns", false, 0, &x->created_ns) < 0 ||
        get_stack_ref(l, t, p, "creation_stack", &x->creation_stack) < 0 ||
        get_int(l, t, p, "timer", false, 0, &x->timer) < 0 ||
        get_int_list(l, t, p, "registered", &x->nregistered, &x->registered) < 0)
        return -1;
    if (!x->kind)
        x->kind = "other";
    return 0;
}


static int load_root(struct ld *l, json_t *root)
{
    if (!json_is_object(root))
        return ld_fail(l, NULL, "top level: expected a JSON object, got %s", json_type_word(root));
    json_t *ver = json_object_get(root, "leakwatch_schema");
    if (!ver)
        return ld_fail(l, NULL, "not a leakwatch snapshot (no \"leakwatch_schema\" key)");
    if (!json_is_integer(ver))
        return ld_fail(l, "leakwatch_schema", "expected an integer, got %s", json_type_word(ver));
    if (json_integer_value(ver) != 1)
        return ld_fail(l, "leakwatch_schema", "unsupported schema version %lld (this analyzer reads version 1)",
                       (long long)json_integer_value(ver));
    struct lw_snapshot *s = l->s;
    json_t *taken;
    int trigger;
    /* image / replaced_image: optional, so snapshots written before images
     * were named still load */
    if (get_int(l, root, "", "pid", true, 1, &s->pid) < 0 || get_str(l, root, "", "exe", false, &s->exe) < 0 ||
        get_int(l, root, "", "ppid", false, 0, &s->ppid) < 0 || get_int(l, root, "", "seq", false, 0, &s->seq) < 0 ||
        get_str(l, root, "", "image", false, &s->image) < 0 ||
        get_str(l, root, "", "replaced_image", false, &s->replaced_image) < 0 ||
        get_enum(l, root, "", "trigger", true, &lw_vocab_trigger, &trigger) < 0 ||
        get_obj(l, root, "", "taken_at", &taken) < 0)
        return -1;
    s->trigger = (enum lw_trigger)trigger;
    if (!taken)
        return ld_fail(l, "taken_at", "missing");
    if (get_int(l, taken, "taken_at", "monotonic_ns", true, 0, &s->taken_mono_ns) < 0 ||
        get_int(l, taken, "taken_at", "realtime_ns", false, 0, &s->taken_real_ns) < 0)
        return -1;
    /* In this order: frames index modules, everything else indexes stacks
     * and contexts. */
    if (!(s->modules = lw_load_array(l, root, "modules", LW_ARR_OPTIONAL, sizeof(*s->modules),
                                     load_module, &s->nmodules)) ||
        !(s->stacks = lw_load_array(l, root, "stacks", LW_ARR_OF_FRAMES, sizeof(*s->stacks),
                                    load_stack, &s->nstacks)) ||
        load_contexts(l, root) < 0 || load_threads(l, root) < 0 ||
        !(s->timers = lw_load_array(l, root, "timers", LW_ARR_OPTIONAL, sizeof(*s->timers),
                                    load_timer, &s->ntimers)) ||
        !(s->sockets = lw_load_array(l, root, "sockets", LW_ARR_OPTIONAL, sizeof(*s->sockets),
                                     load_socket, &s->nsockets)))
        return -1;
    return 0;
}

struct lw_snapshot *lw_snapshot_parse(const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
    struct lw_snapshot_priv *priv = calloc(1, sizeof(*priv));
    if (!priv) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    struct lw_snapshot *s = &priv->pub;
    struct ld l = {.s = s, .name = name, .err = err, .errlen = errlen};
    s->path = lw_arena_strdup(&s->arena, name);
    s->root_idx = -1;
    if (len == 0) {
        ld_fail(&l, NULL, "empty file (a snapshot is a JSON object)");
        lw_snapshot_free(s);
        return NULL;
    }
    json_error_t je;
    /* jansson limits nesting depth (JSON_PARSER_MAX_DEPTH) and rejects
     * integers that do not fit, so hostile nesting and huge numbers end in
     * a parse error rather than a crash. */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (strstr(je.text, "premature end") || strstr(je.text, "end of file"))
            ld_fail(&l, NULL, "not valid JSON (truncated?): %s at line %d column %d", je.text, je.line, je.column);
        else
            ld_fail(&l, NULL, "not valid JSON: %s at line %d column %d", je.text, je.line, je.column);
        lw_snapshot_free(s);
        return NULL;
    }
    int rc = load_root(&l, root);
    json_decref(root);
    if (rc < 0) {
        lw_snapshot_free(s);
        return NULL;
    }
    return s;
}

/* Reads all of fd up to max bytes; -EFBIG when larger. */
static int read_all(int fd, size_t max, char **out, size_t *outlen)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                free(buf);
                return -EFBIG;
            }
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            free(buf);
            return e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max) {
            free(buf);
            return -EFBIG;
        }
    }
    *out = buf;
    *outlen = len;
    return 0;
}

struct lw_snapshot *lw_snapshot_load(const char *path, size_t max_bytes, char *err, size_t errlen)
{
    if (!max_bytes)
        max_bytes = LW_MAX_INPUT_DEFAULT;
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", name, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (!is_stdin && fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            close(fd);
            snprintf(err, errlen, "%s: is a directory, not a snapshot file", name);
            return NULL;
        }
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
            close(fd);
            snprintf(err, errlen, "%s: file is %llu MB, larger than the %zu MB input limit (--max-input-mb)",
                     name, (unsigned long long)st.st_size >> 20, max_bytes >> 20);
            return NULL;
        }
    }
    char *buf = NULL;
    size_t len = 0;
    int r = read_all(fd, max_bytes, &buf, &len);
    if (!is_stdin)
        close(fd);
    if (r == -EFBIG) {
        snprintf(err, errlen, "%s: input is larger than the %zu MB input limit (--max-input-mb)", name,
                 max_bytes >> 20);
        return NULL;
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", name, strerror(-r));
        return NULL;
    }
    struct lw_snapshot *s = lw_snapshot_parse(name, buf, len, err, errlen);
    free(buf);
    return s;
}

void lw_snapshot_free(struct lw_snapshot *s)
{
    if (!s)
        return;
    lw_arena_free(&s->arena);
    free((struct lw_snapshot_priv *)(uintptr_t)s);
}
