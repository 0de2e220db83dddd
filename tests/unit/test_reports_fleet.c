/* Unit tests for the formats that leave the terminal: html (escaping of
 * hostile host strings, self-containment, cards and lineage, the snapshot
 * page's merging of 10,000 scopes), openmetrics (escaping, series, totals,
 * "# EOF") and pprof (gzip + profile.proto read back with protobuf-c).
 * The real consumers (chromium, promtool, go tool pprof) are exercised by
 * tests/formats/run_formats.py. */
#include <check.h>
#include <zlib.h>

#include "../../reports/lw_render_html.h"
#include "profile.pb-c.h"
#include "test_reports_fixture.h"

static char *render(fx_render_fn fn, const struct lw_report *r, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    struct lw_render_opts o = {.color = false};
    ck_assert_int_eq(fn(m, r, &o), 0);
    fclose(m);
    if (len)
        *len = n;
    return buf;
}

/* The hostile strings a host can hand us: markup, script end tags, quotes,
 * control characters and bytes that are not UTF-8. */
static void make_hostile(struct fx *x)
{
    x->news[0].name = FX_STR("</script><b>\"'");
    x->news[0].ctx_label = FX_STR("\"><script>window.__pwned=1</script>\xff\xfe");
    x->news[0].title = FX_STR("thread <img src=x onerror=alert(1)> \x01\x1b[31m");
    x->chain[1].label = FX_STR("GET /a?b=1&c=</style>");
    x->r.exe = FX_STR("/opt/we<i>rd \"dir\"/svc\xc3");
    x->poll_blocked[1].file = FX_STR("/src/</script>.c");
}

START_TEST(html_escapes_every_host_string)
{
    struct fx x;
    fx_init(&x);
    make_hostile(&x);
    size_t len;
    char *s = render(lw_render_html, &x.r, &len);
    ck_assert_uint_eq(strlen(s), len); /* no NUL from a host string */
    /* Our one script and our one style block, nothing else. */
    ck_assert_uint_eq(fx_count(s, "<script"), 1);
    ck_assert_uint_eq(fx_count(s, "</script"), 1);
    ck_assert_uint_eq(fx_count(s, "</style"), 1);
    ck_assert_ptr_null(strstr(s, "<img"));
    ck_assert_ptr_null(strstr(s, "<b>\"'"));
    ck_assert_ptr_nonnull(strstr(s, "&lt;/script&gt;&lt;b&gt;&quot;&apos;"));
    ck_assert_ptr_nonnull(strstr(s, "&quot;&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;\xef\xbf\xbd\xef\xbf\xbd"));
    ck_assert_ptr_nonnull(strstr(s, "/opt/we&lt;i&gt;rd &quot;dir&quot;/svc\xef\xbf\xbd"));
    /* bad bytes and C0 controls never reach the page */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        ck_assert_msg(*p != 0xff && *p != 0xfe && *p != 0x1b && *p != 0x01, "raw byte 0x%02x", *p);
    }
    free(s);
}
END_TEST

START_TEST(html_is_self_contained_and_complete)
{
    struct fx x;
    fx_init(&x);
    char *s = render(lw_render_html, &x.r, NULL);
    ck_assert_ptr_nonnull(strstr(s, "Content-Security-Policy\" content=\"default-src 'none'"));
    ck_assert_ptr_null(strstr(s, "http:"));
    ck_assert_ptr_null(strstr(s, "https:"));
    ck_assert_ptr_null(strstr(s, "src="));
    ck_assert_ptr_null(strstr(s, "@import"));
    ck_assert_ptr_null(strstr(s, "url("));
    /* summary line on top, before the lineage and the cards */
    const char *sum = strstr(s, "leakwatch: 5 new findings (1 stuck thread, 3 leaked threads, 1 leaked socket)");
    ck_assert_ptr_nonnull(sum);
    ck_assert(sum < strstr(s, "id=\"lineage-0\""));
    /* a card per site, new + persisting + fixed; fails printed from the model */
    ck_assert_uint_eq(fx_count(s, "<details class=\"card "), 5);
    ck_assert_ptr_nonnull(strstr(s, "data-section=\"new\" data-count=\"3\" data-fails=\"true\" "
                                    "data-site=\"0123456789abcdef\""));
    ck_assert_ptr_nonnull(strstr(s, "data-section=\"persisting\" data-count=\"1\" data-fails=\"false\""));
    /* the lineage: main -> handle_request ("GET /users", ended) -> worker_main -> 3 pollers */
    const char *m = strstr(s, "<span class=\"fn\">main</span>");
    const char *h = strstr(s, "<span class=\"fn\">handle_request</span>");
    const char *w = strstr(s, "<span class=\"fn\">worker_main</span>");
    ck_assert(m && h && w && m < h && h < w);
    ck_assert_ptr_nonnull(strstr(s, "<div class=\"scope dead\"><span class=\"fn\">handle_request</span>"));
    ck_assert_ptr_nonnull(strstr(s, "ended 4.2 s ago (exited)"));
    ck_assert_ptr_nonnull(strstr(s, "href=\"#card-0-new-1\""));
    /* every kind and verdict has a filter */
    ck_assert_ptr_nonnull(strstr(s, "data-filter=\"kind\" value=\"socket\""));
    ck_assert_ptr_nonnull(strstr(s, "data-filter=\"verdict\" value=\"stuck\""));
    /* stacks with file:line */
    ck_assert_ptr_nonnull(strstr(s, "<span class=\"src\">/src/svc/poller.c:22</span>"));
    free(s);

    struct lw_report r;
    fx_init_empty(&r);
    s = render(lw_render_html, &r, NULL);
    ck_assert_ptr_nonnull(strstr(s, "summary pass"));
    ck_assert_ptr_nonnull(strstr(s, "no threads, timers or sockets left behind"));
    free(s);
}
END_TEST

/* A snapshot of a server: 10,000 request scopes (each ended), each with one
 * leaked poller thread started in it, plus 3 parked workers under main. */
START_TEST(html_dump_merges_scopes_of_one_shape)
{
    enum { N = 10000 };
    struct lw_ctx_node *ctxs = calloc(2 * N + 1, sizeof *ctxs);
    int *tids = calloc(N + 4, sizeof(int)), *ctx_of = calloc(N + 4, sizeof(int));
    ck_assert(ctxs && tids && ctx_of);
    ctxs[0] = (struct lw_ctx_node){.id = 1, .parent = -1, .kind = LW_CK_ROOT, .owner_tid = 100,
                                   .owner_function = FX_STR("main")};
    for (int i = 0; i < N; i++) {
        /* request thread's context (ended), then the poller's own context under it */
        ctxs[1 + 2 * i] = (struct lw_ctx_node){.id = 2 + 2 * i, .parent = 0, .kind = LW_CK_THREAD,
                                               .owner_tid = 1000 + i, .owner_function = FX_STR("handle_request"),
                                               .label = i == 7 ? FX_STR("<b>GET</b>") : FX_STR("GET /"),
                                               .cancel = FX_STR("cancelled 2.0 s ago (exited)")};
        ctxs[2 + 2 * i] = (struct lw_ctx_node){.id = 3 + 2 * i, .parent = 1 + 2 * i, .kind = LW_CK_THREAD,
                                               .owner_tid = 20000 + i, .owner_function = FX_STR("poller_main"),
                                               .cancel = FX_STR("cancelled 2.0 s ago (exited)")};
        tids[i] = 20000 + i;
        ctx_of[i] = 2 + 2 * i;
    }
    for (int k = 0; k < 3; k++) {
        tids[N + k] = 500 + k;
        ctx_of[N + k] = 0; /* parked workers in main's scope (their own contexts omitted) */
    }
    struct lw_dump_group g[2] = {
        {.count = N, .tids = tids, .ctx_of = ctx_of, .state = FX_STR("blocked in nanosleep for 5 ms"),
         .verdict = LW_ST_LEAKED, .start_routine = FX_STR("poller_main"), .kind = LW_TK_TRACKED},
        {.count = 3, .tids = tids + N, .ctx_of = ctx_of + N, .state = FX_STR("blocked in pthread_cond_wait"),
         .verdict = LW_ST_PARKED, .start_routine = FX_STR("pool_worker"), .kind = LW_TK_TRACKED},
    };
    struct lw_dump d = {.path = FX_STR("snap.json"), .pid = 100, .exe = FX_STR("/bin/svc"),
                        .trigger = LW_TRIGGER_SIGNAL, .nthreads = N + 3, .groups = g, .ngroups = 2,
                        .ctxs = ctxs, .nctxs = 2 * N + 1};
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_int_eq(lw_render_dump_html(m, &d, NULL), 0);
    fclose(m);
    /* one box for main, one for the 10,000 request scopes */
    ck_assert_uint_eq(fx_count(buf, "<div class=\"scope"), 2);
    ck_assert_ptr_nonnull(strstr(buf, "<span class=\"fn\">handle_request</span> <span class=\"mult\">&times;10000"));
    ck_assert_ptr_nonnull(strstr(buf, "(+1 other label)"));
    ck_assert_ptr_nonnull(strstr(buf, "data-count=\"10000\"><b>10000</b> &times; poller_main leaked</a>"));
    /* parked apart, in their own row and section */
    ck_assert_ptr_nonnull(strstr(buf, "parked, not leaked:</span><a class=\"chip v-parked\""));
    ck_assert_ptr_nonnull(strstr(buf, "id=\"sec-parked\""));
    ck_assert_ptr_nonnull(strstr(buf, "leakwatch: 10003 threads (10000 leaked, 3 parked)"));
    ck_assert_ptr_null(strstr(buf, "<b>GET</b>"));
    ck_assert_uint_lt(len, 64 * 1024);
    free(buf);
    free(ctxs), free(tids), free(ctx_of);
}
END_TEST

START_TEST(html_dump_survives_bad_parents_and_cycles)
{
    struct lw_ctx_node ctxs[4] = {
        {.id = 1, .parent = 2, .kind = LW_CK_THREAD, .owner_function = FX_STR("a")},
        {.id = 2, .parent = 0, .kind = LW_CK_THREAD, .owner_function = FX_STR("b")},
        {.id = 3, .parent = 99, .kind = LW_CK_EXPLICIT, .owner_function = FX_STR("c")},
        {.id = 4, .parent = -1, .kind = LW_CK_ROOT, .owner_function = FX_STR("main")},
    };
    int tids[1] = {5}, ctx_of[1] = {0};
    struct lw_dump_group g = {.count = 1, .tids = tids, .ctx_of = ctx_of, .state = FX_STR("running"),
                              .kind = LW_TK_TRACKED};
    struct lw_dump d = {.pid = 1, .nthreads = 1, .groups = &g, .ngroups = 1, .ctxs = ctxs, .nctxs = 4};
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_int_eq(lw_render_dump_html(m, &d, NULL), 0);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(buf, "<span class=\"fn\">main</span>"));
    ck_assert_ptr_nonnull(strstr(buf, "<span class=\"fn\">c</span>"));
    free(buf);
}
END_TEST

START_TEST(openmetrics_series_totals_and_escaping)
{
    struct fx x;
    fx_init(&x);
    x.news[0].start_routine = FX_STR("poll\"er\\main\nx\xff");
    x.r.exe = FX_STR("/usr/bin/my \"svc\"");
    char *s = render(lw_render_openmetrics, &x.r, NULL);
    ck_assert_ptr_nonnull(strstr(s, "leakwatch_findings{kind=\"thread\",verdict=\"leaked\",site=\"0123456789abcdef\","
                                    "start_routine=\"poll\\\"er\\\\main\\nx\xef\xbf\xbd\",program=\"my \\\"svc\\\"\",pid=\"4100\","
                                    "state=\"new\",fails=\"true\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(s, "leakwatch_findings{kind=\"thread\",verdict=\"unjoined\",site=\"1111222233334444\","
                                    "start_routine=\"\",program=\"my \\\"svc\\\"\",pid=\"4100\",state=\"persisting\","
                                    "fails=\"false\"} 1\n"));
    ck_assert_uint_eq(fx_count(s, "leakwatch_findings{"), 4); /* fixed ones are gone */
    ck_assert_ptr_nonnull(strstr(s, "leakwatch_new_findings{program=\"my \\\"svc\\\"\",pid=\"4100\"} 5\n"));
    ck_assert_ptr_nonnull(strstr(s, "leakwatch_failing_findings{program=\"my \\\"svc\\\"\",pid=\"4100\"} 5\n"));
    ck_assert_ptr_nonnull(strstr(s, "leakwatch_fixed_findings{program=\"my \\\"svc\\\"\",pid=\"4100\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(s, "# TYPE leakwatch_findings gauge\n"));
    ck_assert_str_eq(fx_last_line(s), "# EOF");
    ck_assert_uint_eq(fx_count(s, "# TYPE"), 6);
    free(s);
}
END_TEST

static Perftools__Profiles__Profile *read_back(const char *gz, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    size_t cap = 1 << 20;
    unsigned char *raw = malloc(cap);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)len;
    z.next_out = raw;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    inflateEnd(&z);
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, n, raw);
    free(raw);
    ck_assert_ptr_nonnull(p);
    return p;
}

static const char *label(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s,
                         const char *key)
{
    for (size_t i = 0; i < s->n_label; i++)
        if (strcmp(p->string_table[s->label[i]->key], key) == 0)
            return p->string_table[s->label[i]->str];
    return NULL;
}

START_TEST(pprof_reads_back_with_protobuf_c)
{
    struct fx x;
    fx_init(&x);
    struct lw_module mods[2] = {
        {FX_STR("/lib/x86_64-linux-gnu/libc.so.6"), FX_STR("abcdef0123"), 0x7f0000000000, 0x7f0000200000,
         0x7f0000000000},
        {FX_STR("/usr/local/bin/service"), FX_STR("0011223344556677"), 0x400000, 0x500000, 0x400000},
    };
    x.r.modules = mods;
    x.r.n_modules = 2;
    x.news[0].ctx_label = FX_STR("bad \xff label");
    size_t len;
    char *gz = render(lw_render_pprof, &x.r, &len);
    ck_assert_uint_gt(len, 20);
    ck_assert_uint_eq((unsigned char)gz[0], 0x1f);
    ck_assert_uint_eq((unsigned char)gz[1], 0x8b);
    Perftools__Profiles__Profile *p = read_back(gz, len);
    ck_assert_str_eq(p->string_table[0], "");
    ck_assert_uint_eq(p->n_sample, 4); /* 3 new + 1 persisting */
    ck_assert_uint_eq(p->n_mapping, 2);
    /* mapping[0] is the main binary, with its build-id */
    ck_assert_str_eq(p->string_table[p->mapping[0]->filename], "/usr/local/bin/service");
    ck_assert_str_eq(p->string_table[p->mapping[0]->build_id], "0011223344556677");
    ck_assert_str_eq(p->string_table[p->sample_type[0]->type], "findings");
    bool seen = false;
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        if (strcmp(label(p, s, "site"), "0123456789abcdef") != 0)
            continue;
        seen = true;
        ck_assert_int_eq(s->value[0], 3);
        ck_assert_str_eq(label(p, s, "kind"), "thread");
        ck_assert_str_eq(label(p, s, "verdict"), "leaked");
        ck_assert_str_eq(label(p, s, "blocked_call"), "nanosleep");
        ck_assert_str_eq(label(p, s, "cancel_cause"), "exited");
        ck_assert_str_eq(label(p, s, "context_label"), "bad \xef\xbf\xbd label");
        ck_assert_str_eq(label(p, s, "fails"), "true");
        /* creation stack, leaf first: pthread_create, worker_main, handle_request, main */
        ck_assert_uint_eq(s->n_location_id, 4);
        const Perftools__Profiles__Location *l = p->location[s->location_id[1] - 1];
        ck_assert_uint_eq(l->id, s->location_id[1]);
        ck_assert_uint_eq(l->address, 0x401300);
        ck_assert_uint_eq(l->mapping_id, 1);
        const Perftools__Profiles__Function *f = p->function[l->line[0]->function_id - 1];
        ck_assert_str_eq(p->string_table[f->name], "worker_main");
        ck_assert_str_eq(p->string_table[f->filename], "/src/svc/worker.c");
        ck_assert_int_eq(l->line[0]->line, 40);
    }
    ck_assert(seen);
    perftools__profiles__profile__free_unpacked(p, NULL);
    free(gz);

    /* blocked stacks on request: the poller's leaf is nanosleep in libc */
    char *buf = NULL;
    FILE *m = open_memstream(&buf, &len);
    struct lw_render_opts o = {.pprof_stack = LW_STACK_BLOCKED};
    ck_assert_int_eq(lw_render_pprof(m, &x.r, &o), 0);
    fclose(m);
    p = read_back(buf, len);
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        if (strcmp(label(p, s, "site"), "0123456789abcdef") != 0)
            continue;
        ck_assert_str_eq(label(p, s, "stack"), "blocked");
        const Perftools__Profiles__Location *l = p->location[s->location_id[0] - 1];
        ck_assert_uint_eq(l->mapping_id, 2);
        ck_assert_str_eq(p->string_table[p->function[l->line[0]->function_id - 1]->name], "nanosleep");
    }
    perftools__profiles__profile__free_unpacked(p, NULL);
    free(buf);
}
END_TEST

/* A gate run: two processes of one program with findings, one not checked. */
START_TEST(several_reports_share_one_output)
{
    struct fx a, b;
    fx_init(&a);
    fx_init(&b);
    b.r.after_pid = 4200;
    const struct lw_report *rs[3] = {&a.r, NULL, &b.r};
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_int_eq(lw_om_render_reports(m, rs, 3), 0);
    fclose(m);
    ck_assert_uint_eq(fx_count(buf, "# TYPE leakwatch_findings gauge"), 1);
    ck_assert_uint_eq(fx_count(buf, "leakwatch_findings{"), 8);
    ck_assert_uint_eq(fx_count(buf, "pid=\"4200\""), 4 + 5);
    ck_assert_str_eq(fx_last_line(buf), "# EOF");
    free(buf);

    m = open_memstream(&buf, &len);
    ck_assert_int_eq(lw_pprof_render_reports(m, rs, 3, "gate line", true, NULL), 0);
    fclose(m);
    Perftools__Profiles__Profile *p = read_back(buf, len);
    ck_assert_uint_eq(p->n_sample, 8);
    size_t pids = 0;
    for (size_t i = 0; i < p->n_sample; i++)
        for (size_t k = 0; k < p->sample[i]->n_label; k++)
            if (strcmp(p->string_table[p->sample[i]->label[k]->key], "pid") == 0)
                pids += p->sample[i]->label[k]->num == 4200;
    ck_assert_uint_eq(pids, 4);
    ck_assert_str_eq(p->string_table[p->comment[0]], "gate line");
    perftools__profiles__profile__free_unpacked(p, NULL);
    free(buf);

    struct lw_html_proc procs[3] = {
        {4100, "/usr/local/bin/service", "findings", "own start snapshot", &a.r},
        {4150, "/bin/<sh>", "no_exit_snapshot", "killed by a signal", NULL},
        {4200, "/usr/local/bin/service", "findings", NULL, &b.r},
    };
    m = open_memstream(&buf, &len);
    ck_assert_int_eq(lw_html_render_procs(m, procs, 3, "leakwatch-gate: 3 process(es) checked", true), 0);
    fclose(m);
    ck_assert_uint_eq(fx_count(buf, "<details class=\"card "), 10);
    ck_assert_ptr_nonnull(strstr(buf, "id=\"card-2-new-0\""));
    ck_assert_ptr_nonnull(strstr(buf, "href=\"#card-2-new-1\""));
    ck_assert_ptr_nonnull(strstr(buf, "process 4150 <code>/bin/&lt;sh&gt;</code>"));
    ck_assert_ptr_nonnull(strstr(buf, "data-failing=\"10\""));
    ck_assert_uint_eq(fx_count(buf, "<script"), 1);
    free(buf);

    /* the same through the format list's gate renderers */
    struct lw_gate_proc gp[2] = {{4100, FX_STR("/usr/local/bin/service"), LW_PROC_FINDINGS, NULL, &a.r},
                                 {4150, FX_STR("/bin/sh"), LW_PROC_NO_EXIT, FX_STR("killed"), NULL}};
    struct lw_gate g = {gp, 2};
    static const char *names[] = {"html", "pprof", "openmetrics"};
    for (size_t i = 0; i < 3; i++) {
        const struct lw_format_info *fi = lw_format_by_name(names[i]);
        ck_assert_ptr_nonnull(fi);
        m = open_memstream(&buf, &len);
        ck_assert_int_eq(fi->render_gate(m, &g, NULL), 0);
        fclose(m);
        ck_assert_uint_gt(len, 100);
        if (i == 0)
            ck_assert_ptr_nonnull(strstr(buf, "leakwatch-gate: 2 process(es) checked, 1 with new findings"));
        if (i == 2)
            ck_assert_str_eq(fx_last_line(buf), "# EOF");
        free(buf);
    }
}
END_TEST

Suite *lw_suite_reports_fleet(void)
{
    Suite *s = suite_create("reports_fleet");
    TCase *tc = tcase_create("fleet");
    tcase_add_test(tc, html_escapes_every_host_string);
    tcase_add_test(tc, html_is_self_contained_and_complete);
    tcase_add_test(tc, html_dump_merges_scopes_of_one_shape);
    tcase_add_test(tc, html_dump_survives_bad_parents_and_cycles);
    tcase_add_test(tc, openmetrics_series_totals_and_escaping);
    tcase_add_test(tc, pprof_reads_back_with_protobuf_c);
    tcase_add_test(tc, several_reports_share_one_output);
    suite_add_tcase(s, tc);
    return s;
}
