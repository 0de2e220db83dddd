/* lw_render_pprof.c — `--format=pprof`: the findings as a gzipped
 * profile.proto (reports/profile.proto), the format go tool pprof,
 * Pyroscope, Parca and Grafana read, so a fleet's profiling backend can
 * aggregate leaks by stack the way Go's goroutine profiles are.
 *
 * One sample per finding group (new and persisting; fixed ones are gone):
 * its locations are the creation stack, or with pprof_stack=blocked the
 * blocked stack (findings that are not blocked keep their creation stack),
 * its value the instance count, its labels the finding's kind, verdict,
 * site, state, blocked call, cancel cause, context label and the model's
 * `fails` decision. Mappings are the AFTER snapshot's modules with their
 * build-ids, so a backend can symbolize server-side what was not
 * symbolized here. Encoded by protobuf-c and compressed by zlib (link
 * dependencies of the analyzer only, never of the shim).
 *
 * Must never: invent frames, or emit a string that is not UTF-8.
 */
#include "lw_render_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;
typedef Perftools__Profiles__ValueType PbValueType;

/* ---- an interning table: byte-string key -> index ---- */
struct intern {
    size_t cap, n;
    uint64_t *hash;
    char **key;
    size_t *klen;
    size_t *val;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return h;
}

static int intern_grow(struct intern *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    struct intern nt = {cap, t->n, calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(char *)),
                        calloc(cap, sizeof(size_t)), calloc(cap, sizeof(size_t))};
    if (!nt.hash || !nt.key || !nt.klen || !nt.val) {
        free(nt.hash), free(nt.key), free(nt.klen), free(nt.val);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->key[i])
            continue;
        size_t j = t->hash[i] & (cap - 1);
        while (nt.key[j])
            j = (j + 1) & (cap - 1);
        nt.hash[j] = t->hash[i], nt.key[j] = t->key[i], nt.klen[j] = t->klen[i], nt.val[j] = t->val[i];
    }
    free(t->hash), free(t->key), free(t->klen), free(t->val);
    *t = nt;
    return 0;
}

/* Finds key; when absent and *val is the index to give it, inserts it.
 * Returns 1 found (val set), 0 inserted, < 0 on failure. */
static int intern_get(struct intern *t, const void *key, size_t len, size_t *val)
{
    if ((t->n + 1) * 2 > t->cap && intern_grow(t) < 0)
        return -ENOMEM;
    uint64_t h = hash_bytes(key, len);
    size_t j = h & (t->cap - 1);
    for (; t->key[j]; j = (j + 1) & (t->cap - 1))
        if (t->hash[j] == h && t->klen[j] == len && memcmp(t->key[j], key, len) == 0) {
            *val = t->val[j];
            return 1;
        }
    char *k = malloc(len ? len : 1);
    if (!k)
        return -ENOMEM;
    memcpy(k, key, len);
    t->hash[j] = h, t->key[j] = k, t->klen[j] = len, t->val[j] = *val;
    t->n++;
    return 0;
}

static void intern_free(struct intern *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->key[i]);
    free(t->hash), free(t->key), free(t->klen), free(t->val);
}

/* ---- the profile being built ---- */
struct pb {
    PbProfile p;
    struct intern strs, funcs, locs;
    size_t cap_str, cap_fn, cap_loc, cap_sample;
    size_t map_base;  /* mappings of earlier reports (a gate run has several) */
    int err;
};

static void *grow(void *v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : 64;
    void *nv = realloc(v, nc * elem);
    if (nv)
        *cap = nc;
    return nv;
}

/* String table index of s (valid UTF-8 guaranteed; NULL is ""). */
static int64_t str_id(struct pb *b, const char *s)
{
    if (b->err)
        return 0;
    if (!s || !*s)
        return 0;
    char *u = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&u, &len);
    if (!m) {
        b->err = -ENOMEM;
        return 0;
    }
    lw_put_utf8(m, s);
    if (fclose(m) != 0 || !u) {
        free(u);
        b->err = -ENOMEM;
        return 0;
    }
    size_t id = b->p.n_string_table;
    int rc = intern_get(&b->strs, u, len, &id);
    if (rc != 0) {
        free(u);
        if (rc < 0)
            b->err = rc;
        return rc < 0 ? 0 : (int64_t)id;
    }
    char **v = grow(b->p.string_table, &b->cap_str, b->p.n_string_table, sizeof *v);
    if (!v) {
        free(u);
        b->err = -ENOMEM;
        return 0;
    }
    b->p.string_table = v;
    v[b->p.n_string_table++] = u;
    return (int64_t)id;
}

static uint64_t func_id(struct pb *b, const struct lw_sym_frame *fr)
{
    int64_t key[2] = {str_id(b, fr->function), str_id(b, fr->file)};
    if (b->err)
        return 0;
    size_t id = b->p.n_function + 1;
    int rc = intern_get(&b->funcs, key, sizeof key, &id);
    if (rc < 0)
        b->err = rc;
    if (rc != 0)
        return rc < 0 ? 0 : id;
    PbFunction **v = grow(b->p.function, &b->cap_fn, b->p.n_function, sizeof *v);
    PbFunction *fn = v ? malloc(sizeof *fn) : NULL;
    if (!fn) {
        if (v)
            b->p.function = v;
        b->err = -ENOMEM;
        return 0;
    }
    b->p.function = v;
    perftools__profiles__function__init(fn);
    fn->id = id;
    fn->name = key[0];
    fn->system_name = key[0];
    fn->filename = key[1];
    v[b->p.n_function++] = fn;
    return id;
}

/* The mapping holding ip: by address range, else by module path; 0 none.
 * This report's mappings are ids base+1 .. base+n_modules. */
static size_t mapping_of(const struct pb *b, const struct lw_report *r, const size_t *order,
                         const struct lw_sym_frame *fr)
{
    for (size_t k = 0; k < r->n_modules; k++) {
        const struct lw_module *m = &r->modules[order[k]];
        if (fr->ip >= m->start && fr->ip < m->end)
            return b->map_base + k + 1;
    }
    for (size_t k = 0; fr->module && k < r->n_modules; k++)
        if (r->modules[order[k]].path && strcmp(r->modules[order[k]].path, fr->module) == 0)
            return b->map_base + k + 1;
    return 0;
}

/* One location for frames[i..j] (j the first frame not inlined into the
 * next, the caller): address of that caller frame, its lines inner first. */
static uint64_t loc_id(struct pb *b, const struct lw_report *r, const size_t *order,
                       const struct lw_sym_stack *st, size_t i, size_t j)
{
    size_t nlines = 0;
    uint64_t key[2 + 128 + 1];
    size_t nk = 0;
    key[nk++] = st->frames[j].ip;
    key[nk++] = b->map_base; /* another process's same address is another location */
    for (size_t k = i; k <= j && nk < sizeof key / sizeof key[0]; k++) {
        const struct lw_sym_frame *fr = &st->frames[k];
        key[nk++] = fr->function ? func_id(b, fr) * 100003u + (uint64_t)(fr->line > 0 ? fr->line : 0) : 0;
    }
    if (b->err)
        return 0;
    size_t id = b->p.n_location + 1;
    int rc = intern_get(&b->locs, key, nk * sizeof key[0], &id);
    if (rc < 0)
        b->err = rc;
    if (rc != 0)
        return rc < 0 ? 0 : id;
    PbLocation **v = grow(b->p.location, &b->cap_loc, b->p.n_location, sizeof *v);
    if (!v) {
        b->err = -ENOMEM;
        return 0;
    }
    b->p.location = v;
    PbLocation *loc = calloc(1, sizeof *loc);
    PbLine **lines = calloc(j - i + 1, sizeof *lines);
    if (!loc || !lines) {
        free(loc), free(lines);
        b->err = -ENOMEM;
        return 0;
    }
    perftools__profiles__location__init(loc);
    loc->id = id;
    loc->address = st->frames[j].ip;
    loc->mapping_id = mapping_of(b, r, order, &st->frames[j]);
    loc->line = lines;
    v[b->p.n_location++] = loc;
    for (size_t k = i; k <= j; k++) {
        const struct lw_sym_frame *fr = &st->frames[k];
        if (!fr->function)
            continue; /* an unsymbolized frame: the backend symbolizes it by address */
        PbLine *ln = malloc(sizeof *ln);
        if (!ln) {
            b->err = -ENOMEM;
            return 0;
        }
        perftools__profiles__line__init(ln);
        ln->function_id = func_id(b, fr);
        ln->line = fr->line > 0 ? fr->line : 0;
        lines[nlines++] = ln;
    }
    loc->n_line = nlines;
    if (loc->mapping_id) {
        PbMapping *m = b->p.mapping[loc->mapping_id - 1];
        m->has_functions = m->has_functions || nlines > 0;
        m->has_filenames = m->has_filenames || (nlines && st->frames[j].file);
        m->has_line_numbers = m->has_line_numbers || (nlines && st->frames[j].line > 0);
        m->has_inline_frames = m->has_inline_frames || nlines > 1;
    }
    return id;
}

static PbLabel *label_str(struct pb *b, const char *key, const char *val)
{
    PbLabel *l = malloc(sizeof *l);
    if (!l) {
        b->err = -ENOMEM;
        return NULL;
    }
    perftools__profiles__label__init(l);
    l->key = str_id(b, key);
    l->str = str_id(b, val);
    return l;
}

static PbLabel *label_num(struct pb *b, const char *key, int64_t num, const char *unit)
{
    PbLabel *l = malloc(sizeof *l);
    if (!l) {
        b->err = -ENOMEM;
        return NULL;
    }
    perftools__profiles__label__init(l);
    l->key = str_id(b, key);
    l->num = num;
    l->num_unit = str_id(b, unit);
    return l;
}

static void add_sample(struct pb *b, const struct lw_report *r, const size_t *order, const struct lw_finding *f,
                       const char *state, const struct lw_render_opts *o, bool proc_labels)
{
    const struct lw_sym_stack *st = &f->creation_stack;
    bool use_blocked = o && o->pprof_stack == LW_STACK_BLOCKED && f->blocked && f->blocked_stack.n;
    if (use_blocked)
        st = &f->blocked_stack;
    PbSample **v = grow(b->p.sample, &b->cap_sample, b->p.n_sample, sizeof *v);
    PbSample *s = v ? calloc(1, sizeof *s) : NULL;
    uint64_t *locs = s ? calloc(st->n + 1, sizeof *locs) : NULL;
    int64_t *val = locs ? calloc(1, sizeof *val) : NULL;
    PbLabel **labels = val ? calloc(18, sizeof *labels) : NULL;
    if (v)
        b->p.sample = v;
    if (!labels) {
        free(s), free(locs), free(val);
        b->err = -ENOMEM;
        return;
    }
    perftools__profiles__sample__init(s);
    v[b->p.n_sample++] = s;
    s->location_id = locs;
    s->value = val;
    s->n_value = 1;
    val[0] = (int64_t)f->count;
    s->label = labels;
    for (size_t i = 0; st->frames && i < st->n; i++) {
        size_t j = i;
        while (j + 1 < st->n && st->frames[j].inlined)
            j++;
        uint64_t id = loc_id(b, r, order, st, i, j);
        if (id)
            locs[s->n_location_id++] = id;
        i = j;
    }
    size_t n = 0;
    labels[n++] = label_str(b, "kind", lw_kind_name(f->kind));
    labels[n++] = label_str(b, "verdict", lw_verdict_name(f->verdict));
    labels[n++] = label_str(b, "site", f->site);
    labels[n++] = label_str(b, "state", state);
    labels[n++] = label_str(b, "fails", f->fails ? "true" : "false"); /* the model's decision */
    labels[n++] = label_str(b, "stack", use_blocked ? "blocked" : "creation");
    if (f->start_routine)
        labels[n++] = label_str(b, "start_routine", f->start_routine);
    if (f->name)
        labels[n++] = label_str(b, "name", f->name);
    if (f->blocked && f->blocked_call)
        labels[n++] = label_str(b, "blocked_call", f->blocked_call);
    if (f->blocked && lw_family_name(f->blocked_family))
        labels[n++] = label_str(b, "blocked_family", lw_family_name(f->blocked_family));
    if (f->blocked)
        labels[n++] = label_num(b, "blocked_for", f->blocked_for_ms, "milliseconds");
    if (lw_cause_name(f->ctx_cause))
        labels[n++] = label_str(b, "cancel_cause", lw_cause_name(f->ctx_cause));
    if (f->ctx_cancelled_ago_ms >= 0)
        labels[n++] = label_num(b, "cancelled_ago", f->ctx_cancelled_ago_ms, "milliseconds");
    if (f->ctx_label)
        labels[n++] = label_str(b, "context_label", f->ctx_label);
    if (proc_labels) {
        const char *exe = r->exe ? strrchr(r->exe, '/') : NULL;
        labels[n++] = label_str(b, "program", exe ? exe + 1 : r->exe ? r->exe : "unknown");
        labels[n++] = label_num(b, "pid", r->after_pid, NULL);
    }
    s->n_label = n;
    for (size_t i = 0; i < n; i++)
        if (!labels[i])
            b->err = -ENOMEM;
}

static int add_mappings(struct pb *b, const struct lw_report *r, size_t *order)
{
    /* mapping[0] is the main binary: the module whose path is the exe. */
    size_t k = 0;
    for (size_t i = 0; i < r->n_modules; i++)
        if (r->exe && r->modules[i].path && strcmp(r->modules[i].path, r->exe) == 0)
            order[k++] = i;
    for (size_t i = 0; i < r->n_modules; i++)
        if (!(k && order[0] == i))
            order[k++] = i;
    if (!r->n_modules)
        return 0;
    PbMapping **mv = realloc(b->p.mapping, (b->p.n_mapping + r->n_modules) * sizeof *mv);
    if (!mv)
        return -ENOMEM;
    b->p.mapping = mv;
    for (size_t i = 0; i < r->n_modules; i++) {
        const struct lw_module *m = &r->modules[order[i]];
        PbMapping *pm = malloc(sizeof *pm);
        if (!pm)
            return -ENOMEM;
        perftools__profiles__mapping__init(pm);
        pm->id = b->p.n_mapping + 1;
        pm->memory_start = m->start;
        pm->memory_limit = m->end;
        pm->file_offset = m->start >= m->base ? m->start - m->base : 0;
        pm->filename = str_id(b, m->path);
        pm->build_id = str_id(b, m->build_id);
        b->p.mapping[b->p.n_mapping++] = pm;
    }
    return b->err;
}

static void pb_free(struct pb *b)
{
    PbProfile *p = &b->p;
    for (size_t i = 0; i < p->n_sample; i++) {
        for (size_t k = 0; k < p->sample[i]->n_label; k++)
            free(p->sample[i]->label[k]);
        free(p->sample[i]->label);
        free(p->sample[i]->location_id);
        free(p->sample[i]->value);
        free(p->sample[i]);
    }
    free(p->sample);
    for (size_t i = 0; i < p->n_location; i++) {
        for (size_t k = 0; k < p->location[i]->n_line; k++)
            free(p->location[i]->line[k]);
        free(p->location[i]->line);
        free(p->location[i]);
    }
    free(p->location);
    for (size_t i = 0; i < p->n_function; i++)
        free(p->function[i]);
    free(p->function);
    for (size_t i = 0; i < p->n_mapping; i++)
        free(p->mapping[i]);
    free(p->mapping);
    for (size_t i = 0; i < p->n_string_table; i++)
        free(p->string_table[i]);
    free(p->string_table);
    free(p->comment);
    intern_free(&b->strs);
    intern_free(&b->funcs);
    intern_free(&b->locs);
}

/* gzip (RFC 1952) of buf to out, as pprof expects on disk. */
static int put_gzip(FILE *out, const uint8_t *buf, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    unsigned char chunk[16384] = {0}; /* zeroed: cppcheck cannot see deflate fill it */
    z.next_in = (Bytef *)(uintptr_t)buf;
    z.avail_in = (uInt)len; /* profiles stay far below 4 GiB: the analyzer caps its input */
    int zr;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zr = deflate(&z, Z_FINISH);
        if (zr == Z_STREAM_ERROR)
            break;
        fwrite(chunk, 1, sizeof chunk - z.avail_out, out);
    } while (zr != Z_STREAM_END);
    deflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : -EIO;
}

static int pb_add_report(struct pb *b, const struct lw_report *r, const struct lw_render_opts *o, bool proc_labels)
{
    size_t *order = calloc(r->n_modules + 1, sizeof *order);
    if (!order)
        return -ENOMEM;
    b->map_base = b->p.n_mapping;
    int rc = add_mappings(b, r, order);
    for (size_t i = 0; !rc && !b->err && r->new_findings && i < r->n_new; i++)
        add_sample(b, r, order, &r->new_findings[i], "new", o, proc_labels);
    for (size_t i = 0; !rc && !b->err && r->persisting && i < r->n_persisting; i++)
        add_sample(b, r, order, &r->persisting[i], "persisting", o, proc_labels);
    free(order);
    return rc ? rc : b->err;
}

int lw_pprof_render_reports(FILE *out, const struct lw_report *const *rs, size_t nr, const char *comment,
                            bool proc_labels, const struct lw_render_opts *o)
{
    if (!out || (nr && !rs))
        return -EINVAL;
    struct pb b;
    memset(&b, 0, sizeof b);
    perftools__profiles__profile__init(&b.p);
    PbValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *vts[1] = {&vt};
    /* string_table[0] must be "". */
    b.p.string_table = calloc(64, sizeof(char *));
    b.cap_str = 64;
    int rc = b.p.string_table && (b.p.string_table[0] = calloc(1, 1)) ? 0 : -ENOMEM;
    if (!rc) {
        b.p.n_string_table = 1;
        size_t zero = 0;
        rc = intern_get(&b.strs, "", 0, &zero) < 0 ? -ENOMEM : 0;
    }
    if (!rc) {
        vt.type = str_id(&b, "findings");
        vt.unit = str_id(&b, "count");
        b.p.sample_type = vts;
        b.p.n_sample_type = 1;
        b.p.default_sample_type = vt.type;
        b.p.comment = calloc(1, sizeof *b.p.comment);
        if (comment && b.p.comment) {
            b.p.comment[0] = str_id(&b, comment);
            b.p.n_comment = 1;
        }
        for (size_t i = 0; !rc && i < nr; i++)
            if (rs[i])
                rc = pb_add_report(&b, rs[i], o, proc_labels);
        if (!rc)
            rc = b.err;
    }
    if (!rc) {
        size_t len = perftools__profiles__profile__get_packed_size(&b.p);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            rc = -ENOMEM;
        else {
            perftools__profiles__profile__pack(&b.p, buf);
            rc = put_gzip(out, buf, len);
            free(buf);
        }
    }
    b.p.sample_type = NULL, b.p.n_sample_type = 0;
    pb_free(&b);
    if (!rc && ferror(out))
        rc = -EIO;
    return rc;
}

int lw_render_pprof(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    if (!out || !r)
        return -EINVAL;
    char *line = lw_summary_str(r);
    int rc = lw_pprof_render_reports(out, &r, 1, line, false, o);
    free(line);
    return rc;
}

/* A gate run: one profile, every process's samples labelled pid/program. */
int lw_render_gate_pprof(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    if (!out || !g)
        return -EINVAL;
    const struct lw_report **rs = calloc(g->nprocs + 1, sizeof *rs);
    if (!rs)
        return -ENOMEM;
    for (size_t i = 0; i < g->nprocs; i++)
        rs[i] = g->procs[i].report;
    int rc = lw_pprof_render_reports(out, rs, g->nprocs, "leakwatch-gate", true, o);
    free(rs);
    return rc;
}
