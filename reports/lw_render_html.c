/* lw_render_html.c — `--format=html`: one self-contained page that a person
 * opens from a CI artifact store or an e-mail attachment (docs/design.md
 * §4.2). The summary line on top; the lineage as a picture (scopes as
 * boxes, the dead ones marked with when and why they ended, what leaked
 * hanging under the scope that owned it); a card per site; filters by
 * kind, verdict and section.
 *
 * Self-contained: inline CSS and JS, no fonts, images or scripts from
 * anywhere, and a Content-Security-Policy that forbids every fetch, so a
 * hostile string that slipped through could still load nothing. Every
 * string from the host (names, labels, paths, symbols) goes through
 * lw_put_html; none is ever written inside <script> or <style>.
 *
 * Sized for 10,000 threads in 500 sites: cards are per site (collapsed
 * <details> past the first few), id lists are capped, and a snapshot's
 * context tree merges sibling scopes of the same shape ("×N") instead of
 * drawing a node per thread (lw_render_html_tree.c).
 *
 * Prints the model's decision of what fails; never makes one.
 */
#include "lw_render_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define IDS_CAP 64
#define OPEN_CARDS 12

static const char CSS[] =
    ":root{--leaked:#c62828;--stuck:#6a1b9a;--unjoined:#e65100;--alive:#1565c0;--parked:#607d8b;"
    "--live:#78909c;--line:#cfd8dc;--ink:#1c2833;--muted:#5d6d7e}\n"
    "*{box-sizing:border-box}\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--ink);"
    "margin:0;background:#f6f8fa}\n"
    "header{background:#fff;border-bottom:1px solid var(--line);padding:14px 22px}\n"
    "h1{font-size:18px;margin:0 0 6px}h1 .prog{font-family:ui-monospace,'DejaVu Sans Mono',monospace}\n"
    "h2{font-size:16px;margin:18px 0 8px}h2 .n{font-weight:400;color:var(--muted);font-size:13px}\n"
    ".summary{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:14px;margin:4px 0;padding:6px 10px;"
    "border-radius:6px;border-left:5px solid var(--live);background:#eef2f5}\n"
    ".summary.fail{border-color:var(--leaked);background:#fdecea}.summary.pass{border-color:#2e7d32;"
    "background:#edf7ee}\n"
    ".meta{color:var(--muted);margin:4px 0 0;font-size:13px}\n"
    "nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 22px;"
    "display:flex;flex-wrap:wrap;gap:10px 22px;align-items:center}\n"
    "nav fieldset{border:0;margin:0;padding:0;display:flex;gap:10px;align-items:center}\n"
    "nav legend{float:left;font-weight:600;margin-right:4px;color:var(--muted)}\n"
    "nav label{white-space:nowrap;cursor:pointer}nav label.none{opacity:.45}\n"
    "nav .n{color:var(--muted)}#shown{color:var(--muted);margin-left:auto}\n"
    "nav button{font:inherit;border:1px solid var(--line);background:#fff;border-radius:5px;padding:2px 8px;"
    "cursor:pointer}\n"
    "main{padding:4px 22px 30px}\n"
    ".hint{color:var(--muted);margin:0 0 8px}\n"
    ".tree-box{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;overflow:auto;"
    "max-height:70vh}\n"
    "ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:22px}ul.tree{padding-left:0}\n"
    "ul.tree li{position:relative;padding:4px 0 2px 16px}\n"
    "ul.tree li::before{content:'';position:absolute;left:0;top:0;bottom:0;border-left:2px solid var(--line)}\n"
    "ul.tree li::after{content:'';position:absolute;left:0;top:17px;width:13px;border-top:2px solid var(--line)}\n"
    "ul.tree li:last-child::before{bottom:auto;height:17px}\n"
    "ul.tree>li{padding-left:0}ul.tree>li::before,ul.tree>li::after{display:none}\n"
    ".scope{display:inline-block;border:1.5px solid #90a4ae;border-radius:7px;padding:3px 9px;background:#fff}\n"
    ".scope .fn{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-weight:600}\n"
    ".scope .tid,.scope .cnt{color:var(--muted);font-size:12px}.scope .label{color:#0b5394}\n"
    ".scope.root{border-color:#2e7d32;background:#f1f8f2}\n"
    ".scope.dead{border-color:var(--leaked);background:#fff4f3}\n"
    ".scope.dead .ended{color:var(--leaked);font-weight:600}\n"
    ".scope.under{border-style:dashed}.scope .mult{font-weight:700;color:var(--ink)}\n"
    ".res{display:block;margin-top:3px}.res .more{color:var(--muted);font-size:12px}\n"
    ".chip{display:inline-block;margin:2px 5px 0 0;padding:1px 9px;border-radius:999px;font-size:12.5px;"
    "color:#fff;text-decoration:none;background:var(--live)}\n"
    ".chip b{font-weight:700}.chip:hover{filter:brightness(1.15)}\n"
    ".v-leaked{--v:var(--leaked)}.v-stuck{--v:var(--stuck)}.v-unjoined{--v:var(--unjoined)}"
    ".v-alive_at_exit{--v:var(--alive)}.v-parked{--v:var(--parked)}.v-live{--v:var(--live)}\n"
    ".chip{background:var(--v)}.chip.v-parked{background:#eceff1;color:#37474f;border:1px dashed var(--parked)}\n"
    ".chip.st-persisting{opacity:.75}.chip.st-persisting::after{content:' (persisting)'}\n"
    ".parked-row{display:block;margin-top:3px;padding-top:2px;border-top:1px dotted var(--line)}\n"
    ".parked-row>span{font-size:12px;color:var(--parked);margin-right:4px}\n"
    ".card{background:#fff;border:1px solid var(--line);border-left:5px solid var(--v,var(--live));"
    "border-radius:7px;margin:8px 0;padding:0 12px}\n"
    ".card>summary{cursor:pointer;padding:8px 0;list-style-position:outside}\n"
    ".card .title{font-weight:600}.card .count{font-weight:700;font-size:15px}\n"
    ".badge{display:inline-block;color:#fff;background:var(--v);border-radius:4px;padding:0 6px;font-size:12px;"
    "font-weight:600;text-transform:uppercase;letter-spacing:.03em}\n"
    ".badge.fails{background:#b71c1c}.badge.ok{background:#90a4ae}\n"
    ".site{font-family:ui-monospace,'DejaVu Sans Mono',monospace;color:var(--muted);font-size:12px}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:4px 0 10px}\n"
    "dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}\n"
    "details.stack{margin:4px 0 10px}details.stack>summary{cursor:pointer;color:#0b5394}\n"
    "ol.frames{margin:4px 0;padding-left:34px;font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-size:12.5px}\n"
    "ol.frames li{padding:1px 0}ol.frames .src{color:#0b5394}ol.frames .mod{color:var(--muted)}\n"
    "ol.frames li.rt{opacity:.55}\n"
    ".notes li{margin:2px 0}.empty{color:var(--muted);font-style:italic}\n"
    "code{font-family:ui-monospace,'DejaVu Sans Mono',monospace}\n";

/* Filters: an element with data-kind/data-verdict/data-section is hidden
 * when any of its values is unticked; the counter says what is shown. */
static const char JS[] =
    "(function(){'use strict';\n"
    "var nav=document.getElementById('filters');\n"
    "function on(k,v){if(v===undefined)return true;var b=nav.querySelector('input[data-filter=\"'+k+'\"][value=\"'"
    "+v+'\"]');return !b||b.checked;}\n"
    "function apply(){var n=0,t=0,inst=0;\n"
    "document.querySelectorAll('[data-verdict]').forEach(function(e){var d=e.dataset;\n"
    "var show=on('kind',d.kind)&&on('verdict',d.verdict)&&on('section',d.section);e.hidden=!show;\n"
    "if(e.classList.contains('card')){t++;if(show){n++;inst+=Number(d.count);}}});\n"
    "document.getElementById('shown').textContent='showing '+n+' of '+t+' '+(nav.dataset.unit||'sites')+' ('+inst+"
    "' instances)';}\n"
    "nav.querySelectorAll('input').forEach(function(b){b.addEventListener('change',apply);});\n"
    "function all(open){document.querySelectorAll('details.card').forEach(function(d){if(!d.hidden)d.open=open;});}\n"
    "document.getElementById('expand').addEventListener('click',function(){all(true);});\n"
    "document.getElementById('collapse').addEventListener('click',function(){all(false);});\n"
    "document.querySelectorAll('a.chip').forEach(function(a){a.addEventListener('click',function(){\n"
    "var d=document.getElementById(a.getAttribute('href').slice(1));if(d){d.hidden=false;d.open=true;}});});\n"
    "apply();})();\n";

void lw_html_head(FILE *out, const char *title_prog, int pid)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"leakwatch " LW_VERSION "\">\n<title>leakwatch: ",
          out);
    lw_put_html(out, title_prog);
    fprintf(out, " (pid %d)</title>\n<style>\n%s</style>\n</head>\n<body>\n", pid, CSS);
}

void lw_html_tail(FILE *out)
{
    fprintf(out, "<script>\n%s</script>\n</body>\n</html>\n", JS);
}

const char *lw_html_base(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s && s[1] ? s + 1 : p;
}

void lw_html_dur(FILE *out, int64_t ms)
{
    char d[48];
    lw_fmt_duration(d, sizeof d, ms);
    fputs(d, out);
}

/* A frame: function, file:line, module+offset; runtime frames dimmed. */
static void put_frame(FILE *out, const struct lw_sym_frame *fr)
{
    const char *mod = lw_html_base(fr->module);
    bool rt = mod && (strncmp(mod, "libc.so", 7) == 0 || strncmp(mod, "libleakwatch", 12) == 0 ||
                      strncmp(mod, "ld-linux", 8) == 0);
    fprintf(out, "<li%s><code class=\"fn\">", rt ? " class=\"rt\"" : "");
    lw_put_html(out, fr->function ? fr->function : "??");
    fputs("</code>", out);
    if (fr->file) {
        fputs(" <span class=\"src\">", out);
        lw_put_html(out, fr->file);
        if (fr->line > 0)
            fprintf(out, ":%d", fr->line);
        fputs("</span>", out);
    }
    if (mod) {
        fputs(" <span class=\"mod\">", out);
        lw_put_html(out, mod);
        fprintf(out, "+0x%" PRIx64 "</span>", fr->offset);
    }
    if (fr->inlined)
        fputs(" <span class=\"mod\">(inlined)</span>", out);
    fputs("</li>\n", out);
}

void lw_html_stack(FILE *out, const char *what, const struct lw_sym_stack *st, bool open)
{
    fprintf(out, "<details class=\"stack\"%s><summary>%s (%zu frame%s)</summary>\n", open ? " open" : "", what,
            st->n, st->n == 1 ? "" : "s");
    if (!st->n || !st->frames) {
        fputs("<p class=\"empty\">no stack recorded</p></details>\n", out);
        return;
    }
    fputs("<ol class=\"frames\" start=\"0\">\n", out);
    for (size_t i = 0; i < st->n; i++)
        put_frame(out, &st->frames[i]);
    fputs("</ol></details>\n", out);
}

void lw_html_creators(FILE *out, const struct lw_creator *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        if (i)
            fputs(" &larr; ", out);
        bool root = i == n - 1 && n > 1;
        if (!root)
            fputs("created by ", out);
        fputs("<code>", out);
        lw_put_html(out, c[i].function ? c[i].function : "??");
        fputs("</code>", out);
        if (!root)
            fprintf(out, " in thread %d", c[i].tid);
        if (c[i].label) {
            fputs(" <span class=\"label\">&ldquo;", out);
            lw_put_html(out, c[i].label);
            fputs("&rdquo;</span>", out);
        }
    }
}

void lw_html_ids(FILE *out, const int *ids, size_t n)
{
    size_t i;
    for (i = 0; ids && i < n && i < IDS_CAP; i++)
        fprintf(out, "%s%d", i ? ", " : "", ids[i]);
    if (ids && i < n)
        fprintf(out, ", &hellip; (+%zu more)", n - i);
}

/* ---------------- the diff report ---------------- */

static void put_scope_line(FILE *out, const struct lw_finding *f)
{
    const char *cause = lw_cause_name(f->ctx_cause); /* NULL: not cancelled / unknown */
    if (f->ctx_cancelled_ago_ms < 0 && !cause) {
        fputs("live", out);
        return;
    }
    fputs("ended ", out);
    if (f->ctx_cancelled_ago_ms >= 0) {
        lw_html_dur(out, f->ctx_cancelled_ago_ms);
        fputs(" ago", out);
    }
    if (cause) {
        fputs(" (", out);
        lw_put_html(out, cause);
        fputs(")", out);
    }
    if (f->ctx_origin_tid)
        fprintf(out, ", scope of thread %d", f->ctx_origin_tid);
    if (f->ctx_label) {
        fputs(", <span class=\"label\">&ldquo;", out);
        lw_put_html(out, f->ctx_label);
        fputs("&rdquo;</span>", out);
    }
}

static void put_state(FILE *out, const struct lw_finding *f)
{
    if (f->blocked) {
        fputs("in <code>", out);
        lw_put_html(out, f->blocked_call ? f->blocked_call : "an unknown call");
        fputs("</code>", out);
        if (lw_family_adds(f)) {
            fputs(" (", out);
            lw_put_html(out, lw_family_name(f->blocked_family));
            fputs(")", out);
        }
        if (f->blocked_object) {
            fputs(" on ", out);
            lw_put_html(out, f->blocked_object);
        }
        fputs(" for ", out);
        lw_html_dur(out, f->blocked_for_ms);
        if (f->blocked_timeout_infinite)
            fputs(", no timeout", out);
    } else if (f->exited_ago_ms >= 0) {
        fputs("exited ", out);
        lw_html_dur(out, f->exited_ago_ms);
        fputs(" ago, never joined or detached", out);
    } else if (f->kind == LW_KIND_THREAD) {
        fputs("running (not in a recorded wait)", out);
    } else {
        fputs("open", out);
    }
}

static void row(FILE *out, const char *dt)
{
    fprintf(out, "<dt>%s</dt><dd>", dt);
}

static void put_card(FILE *out, const struct lw_report *r, const struct lw_finding *f, const char *section,
                     size_t proc, size_t idx, bool open)
{
    (void)r;
    bool fails = strcmp(section, "new") == 0 && f->fails; /* the model's decision (docs/design.md §4.1) */
    fprintf(out, "<details class=\"card v-%s\" id=\"card-%zu-%s-%zu\" data-kind=\"%s\" data-verdict=\"%s\" "
                 "data-section=\"%s\" data-count=\"%zu\" data-fails=\"%s\" data-site=\"",
            lw_verdict_name(f->verdict), proc, section, idx, lw_kind_name(f->kind), lw_verdict_name(f->verdict),
            section, f->count, fails ? "true" : "false");
    lw_put_html(out, f->site);
    fprintf(out, "\"%s>\n<summary><span class=\"badge\">%s</span> <span class=\"count\">%zu</span> &times; "
                 "<span class=\"title\">",
            open ? " open" : "", lw_verdict_name(f->verdict), f->count);
    lw_put_html(out, f->title);
    fputs("</span> ", out);
    if (strcmp(section, "new") == 0)
        fprintf(out, "<span class=\"badge %s\">%s</span> ", fails ? "fails" : "ok",
                fails ? "fails" : "does not fail");
    fputs("<span class=\"site\">site ", out);
    lw_put_html(out, f->site);
    fputs("</span></summary>\n<dl>\n", out);
    if (f->name) {
        row(out, "name");
        fputs("<span class=\"name\">", out);
        lw_put_html(out, f->name);
        fputs("</span></dd>\n", out);
    }
    if (f->start_routine) {
        row(out, f->kind == LW_KIND_TIMER ? "callback" : "start routine");
        fputs("<code class=\"routine\">", out);
        lw_put_html(out, f->start_routine);
        fputs("</code></dd>\n", out);
    }
    row(out, f->blocked ? "blocked" : "state");
    put_state(out, f);
    fputs("</dd>\n", out);
    if (f->blocked || f->wakes_since_cancel > 0) {
        row(out, "wake-ups");
        fprintf(out, "%" PRId64 " since its scope ended</dd>\n", f->wakes_since_cancel);
    }
    row(out, "scope");
    put_scope_line(out, f);
    fputs("</dd>\n", out);
    const struct lw_sym_frame *uf = f->location_file ? NULL : lw_user_frame(&f->creation_stack);
    if (f->location_file || uf) {
        row(out, "created at");
        fputs("<span class=\"src\">", out);
        lw_put_html(out, f->location_file ? f->location_file : uf->file);
        int line = f->location_file ? f->location_line : uf->line;
        if (line > 0)
            fprintf(out, ":%d", line);
        fputs("</span></dd>\n", out);
    }
    if (f->ncreators) {
        row(out, "creators");
        lw_html_creators(out, f->creators, f->ncreators);
        fputs("</dd>\n", out);
    }
    if (f->kind == LW_KIND_SOCKET && (f->sock_local || f->sock_peer)) {
        row(out, "endpoints");
        lw_put_html(out, f->sock_local ? f->sock_local : "?");
        fputs(" &rarr; ", out);
        lw_put_html(out, f->sock_peer ? f->sock_peer : "(none)");
        fputs("</dd>\n", out);
    }
    if (f->kind == LW_KIND_TIMER) {
        row(out, "timer");
        fputs(f->timer_armed ? "armed" : "disarmed", out);
        if (f->timer_interval_ms > 0) {
            fputs(", every ", out);
            lw_html_dur(out, f->timer_interval_ms);
        } else
            fputs(", one-shot", out);
        fputs("</dd>\n", out);
    }
    if (f->detail) {
        row(out, "why");
        lw_put_html(out, f->detail);
        fputs("</dd>\n", out);
    }
    row(out, f->kind == LW_KIND_THREAD ? "tids" : "ids");
    lw_html_ids(out, f->ids, f->count);
    fputs("</dd>\n</dl>\n", out);
    if (f->blocked)
        lw_html_stack(out, "blocked stack", &f->blocked_stack, true);
    lw_html_stack(out, "creation stack", &f->creation_stack, !f->blocked);
    fputs("</details>\n", out);
}

static void put_cards(FILE *out, const struct lw_report *r, size_t proc, const char *section, const char *title,
                      const struct lw_finding *f, size_t n, struct lw_html_card *cards, size_t *ncards,
                      size_t *opened)
{
    struct lw_tally t;
    lw_tally_findings(&t, f, n);
    fprintf(out, "<section id=\"sec-%zu-%s\" class=\"sec-%s\">\n<h2>%s <span class=\"n\">%zu site%s, %zu instance%s</span></h2>\n",
            proc, section, section, title, t.sites, t.sites == 1 ? "" : "s", t.total, t.total == 1 ? "" : "s");
    if (!n) {
        fputs("<p class=\"empty\">none</p>\n</section>\n", out);
        return;
    }
    const struct lw_finding **v = lw_order_findings(f, n);
    for (size_t i = 0; i < n; i++) {
        const struct lw_finding *x = v ? v[i] : &f[i];
        bool open = *opened < OPEN_CARDS && strcmp(section, "fixed") != 0;
        if (open)
            (*opened)++;
        put_card(out, r, x, section, proc, i, open);
        if (cards && strcmp(section, "fixed") != 0)
            cards[(*ncards)++] = (struct lw_html_card){x, section, proc, i};
    }
    free(v);
    fputs("</section>\n", out);
}

/* Checkboxes for every kind and verdict of the model's lists (lw_vocab.h),
 * with instance counts: a new kind or verdict gets its filter here. */
void lw_html_checkbox(FILE *out, const char *filter, const char *value, size_t n)
{
    fprintf(out, "<label%s><input type=\"checkbox\" data-filter=\"%s\" value=\"%s\" checked> %s <span "
                 "class=\"n\">%zu</span></label>\n",
            n ? "" : " class=\"none\"", filter, value, value, n);
}

void lw_html_nav_end(FILE *out)
{
    fputs("<button type=\"button\" id=\"expand\">expand all</button>"
          "<button type=\"button\" id=\"collapse\">collapse all</button>\n"
          "<span id=\"shown\"></span>\n</nav>\n",
          out);
}

/* Instances of kind k (or verdict v when k < 0) in section s of report r. */
static size_t count_in(const struct lw_report *r, int s, int k, int v)
{
    const struct lw_finding *sec[3] = {r->new_findings, r->persisting, r->fixed};
    size_t nsec[3] = {r->n_new, r->n_persisting, r->n_fixed}, c = 0;
    for (size_t i = 0; sec[s] && i < nsec[s]; i++)
        if ((k >= 0 && sec[s][i].kind == (enum lw_kind)k) || (v >= 0 && sec[s][i].verdict == (enum lw_verdict)v) ||
            (k < 0 && v < 0))
            c += sec[s][i].count;
    return c;
}

static void put_filters(FILE *out, const struct lw_report *const *rs, size_t nr)
{
    static const char *names[3] = {"new", "persisting", "fixed"};
    fputs("<nav id=\"filters\">\n<fieldset><legend>kind</legend>\n", out);
    for (int k = 0; k < LW_KIND_COUNT; k++) {
        size_t c = 0;
        for (size_t i = 0; i < nr; i++)
            for (int s = 0; rs[i] && s < 3; s++)
                c += count_in(rs[i], s, k, -1);
        lw_html_checkbox(out, "kind", lw_kind_name((enum lw_kind)k), c);
    }
    fputs("</fieldset>\n<fieldset><legend>verdict</legend>\n", out);
    for (int v = 0; v < LW_VERDICT_COUNT; v++) {
        size_t c = 0;
        for (size_t i = 0; i < nr; i++)
            for (int s = 0; rs[i] && s < 3; s++)
                c += count_in(rs[i], s, -1, v);
        lw_html_checkbox(out, "verdict", lw_verdict_name((enum lw_verdict)v), c);
    }
    fputs("</fieldset>\n<fieldset><legend>show</legend>\n", out);
    for (int s = 0; s < 3; s++) {
        size_t c = 0;
        for (size_t i = 0; i < nr; i++)
            c += rs[i] ? count_in(rs[i], s, -1, -1) : 0;
        lw_html_checkbox(out, "section", names[s], c);
    }
    fputs("</fieldset>\n", out);
    lw_html_nav_end(out);
}

static void put_notes(FILE *out, const struct lw_report *r)
{
    if (!r->n_suppressions && !r->n_baseline_expired && !r->n_warnings && !r->baseline_accepted)
        return;
    fputs("<section class=\"notes\">\n<h2>Notes</h2>\n<ul>\n", out);
    for (size_t i = 0; r->suppressions && i < r->n_suppressions; i++) {
        fputs("<li>suppression <code>", out);
        lw_put_html(out, r->suppressions[i].pattern);
        fprintf(out, "</code> matched %zu time%s</li>\n", r->suppressions[i].hits,
                r->suppressions[i].hits == 1 ? "" : "s");
    }
    if (r->baseline_accepted)
        fprintf(out, "<li>%zu instance%s accepted by the baseline</li>\n", r->baseline_accepted,
                r->baseline_accepted == 1 ? "" : "s");
    for (size_t i = 0; r->baseline_expired && i < r->n_baseline_expired; i++) {
        fputs("<li>baseline: ", out);
        lw_put_html(out, r->baseline_expired[i]);
        fputs("</li>\n", out);
    }
    for (size_t i = 0; r->warnings && i < r->n_warnings; i++) {
        fputs("<li>warning: ", out);
        lw_put_html(out, r->warnings[i]);
        fputs("</li>\n", out);
    }
    fputs("</ul>\n</section>\n", out);
}

/* The two snapshots, grace and program of one report, as one line. */
static void put_meta(FILE *out, const struct lw_report *r)
{
    fputs("after <code>", out);
    lw_put_html(out, r->after_path ? r->after_path : "?");
    fprintf(out, "</code> (pid %d", r->after_pid);
    fputs(", ", out);
    lw_put_html(out, lw_trigger_name(r->after_trigger));
    fputs(" snapshot", out);
    fputs(")", out);
    if (r->before_path) {
        fputs(" vs before <code>", out);
        lw_put_html(out, r->before_path);
        fprintf(out, "</code> (pid %d)", r->before_pid);
    } else
        fputs(" vs an empty baseline", out);
    fputs(" &middot; grace ", out);
    lw_html_dur(out, r->grace_ms);
    if (r->exe) {
        fputs(" &middot; <code>", out);
        lw_put_html(out, r->exe);
        fputs("</code>", out);
    }
}

/* One report's lineage, cards and notes; ids carry proc so that several
 * reports (a gate run) share a page. */
static int put_body(FILE *out, const struct lw_report *r, size_t proc, size_t *opened)
{
    size_t ncur = r->n_new + r->n_persisting, ncards = 0;
    struct lw_html_card *cards = ncur ? calloc(ncur, sizeof *cards) : NULL;
    if (ncur && !cards)
        return -ENOMEM;
    /* Cards are written into a buffer first: the tree comes before them on
     * the page but is built from the card list. */
    char *body = NULL;
    size_t blen = 0;
    FILE *m = open_memstream(&body, &blen);
    if (!m) {
        free(cards);
        return -ENOMEM;
    }
    put_cards(m, r, proc, "new", "New", r->new_findings, r->n_new, cards, &ncards, opened);
    put_cards(m, r, proc, "persisting", "Persisting", r->persisting, r->n_persisting, cards, &ncards, opened);
    put_cards(m, r, proc, "fixed", "Fixed", r->fixed, r->n_fixed, NULL, &ncards, opened);
    put_notes(m, r);
    int rc = fclose(m) ? -ENOMEM : 0;

    fprintf(out, "<section class=\"lineage\" id=\"lineage-%zu\">\n<h2>Lineage</h2>\n<p class=\"hint\">Who started "
                 "what: each box is a scope (a thread's, or a labelled context) under the scope that started it; "
                 "red boxes ended, and what still hangs under them leaked. Click a finding to open its card.</p>\n",
            proc);
    if (!rc)
        rc = lw_html_report_tree(out, cards, ncards);
    fputs("</section>\n", out);
    if (!rc)
        fwrite(body, 1, blen, out);
    free(body);
    free(cards);
    return rc;
}

int lw_render_html(FILE *out, const struct lw_report *r, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !r)
        return -EINVAL;
    size_t failing = r->failing, opened = 0;
    const char *prog = r->exe ? lw_html_base(r->exe) : "report";
    lw_html_head(out, prog, r->after_pid);
    fputs("<header>\n<h1>leakwatch report &mdash; <span class=\"prog\">", out);
    lw_put_html(out, prog);
    fprintf(out, "</span></h1>\n<p id=\"summary\" class=\"summary %s\" data-failing=\"%zu\">",
            failing ? "fail" : "pass", failing);
    char *line = lw_summary_str(r);
    lw_put_html(out, line ? line : "");
    free(line);
    fputs("</p>\n<p class=\"meta\">", out);
    if (failing)
        fprintf(out, "<b>%zu new instance%s fail%s the check</b> &middot; ", failing, failing == 1 ? "" : "s",
                failing == 1 ? "s" : "");
    else
        fputs("<b>nothing fails the check</b> &middot; ", out);
    put_meta(out, r);
    fputs("</p>\n</header>\n", out);
    put_filters(out, &r, 1);
    fputs("<main>\n", out);
    int rc = put_body(out, r, 0, &opened);
    fputs("</main>\n", out);
    lw_html_tail(out);
    if (!rc && ferror(out))
        rc = -EIO;
    return rc;
}

int lw_html_render_procs(FILE *out, const struct lw_html_proc *procs, size_t n, const char *summary,
                         bool fails)
{
    if (!out || (n && !procs))
        return -EINVAL;
    const struct lw_report **rs = calloc(n + 1, sizeof *rs);
    if (!rs)
        return -ENOMEM;
    size_t failing = 0, opened = 0;
    for (size_t i = 0; i < n; i++) {
        rs[i] = procs[i].report;
        failing += procs[i].report ? procs[i].report->failing : 0;
    }
    lw_html_head(out, "leakwatch-gate", 0);
    fprintf(out, "<header>\n<h1>leakwatch gate &mdash; %zu process%s</h1>\n<p id=\"summary\" class=\"summary %s\" "
                 "data-failing=\"%zu\">",
            n, n == 1 ? "" : "es", fails ? "fail" : "pass", failing);
    lw_put_html(out, summary ? summary : "");
    fputs("</p>\n</header>\n", out);
    put_filters(out, rs, n);
    fputs("<main>\n", out);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct lw_html_proc *p = &procs[i];
        fprintf(out, "<section class=\"proc\" id=\"proc-%zu\">\n<h2 class=\"proc-head\">process %d <code>", i, p->pid);
        lw_put_html(out, p->exe ? p->exe : "?");
        fputs("</code> &mdash; ", out);
        lw_put_html(out, p->status ? p->status : "?");
        if (p->note) {
            fputs(" <span class=\"n\">(", out);
            lw_put_html(out, p->note);
            fputs(")</span>", out);
        }
        fputs("</h2>\n", out);
        if (p->report) {
            fputs("<p class=\"meta\">", out);
            char *line = lw_summary_str(p->report);
            lw_put_html(out, line ? line : "");
            free(line);
            fputs(" &middot; ", out);
            put_meta(out, p->report);
            fputs("</p>\n", out);
            rc = put_body(out, p->report, i, &opened);
        }
        fputs("</section>\n", out);
    }
    free(rs);
    fputs("</main>\n", out);
    lw_html_tail(out);
    if (!rc && ferror(out))
        rc = -EIO;
    return rc;
}

/* A gate run: a section per process, summary line on top. */
int lw_render_gate_html(FILE *out, const struct lw_gate *g, const struct lw_render_opts *o)
{
    (void)o;
    if (!out || !g)
        return -EINVAL;
    struct lw_html_proc *procs = calloc(g->nprocs + 1, sizeof *procs);
    if (!procs)
        return -ENOMEM;
    size_t with_findings = 0;
    bool fails = false;
    for (size_t i = 0; i < g->nprocs; i++) {
        const struct lw_gate_proc *p = &g->procs[i];
        procs[i] = (struct lw_html_proc){p->pid, p->exe, lw_proc_status_name(p->status), p->note, p->report};
        with_findings += p->status == LW_PROC_FINDINGS;
        fails = fails || (p->report && p->report->fails);
    }
    char line[160];
    snprintf(line, sizeof line, "leakwatch-gate: %zu process(es) checked, %zu with new findings", g->nprocs,
             with_findings);
    int rc = lw_html_render_procs(out, procs, g->nprocs, line, fails);
    free(procs);
    return rc;
}
