// check_report.js — opens an HTML report in Debian's chromium (headless,
// driven by playwright-core) and checks it as a person would see it:
// nothing is fetched from anywhere, no script error, no injected script ran,
// the summary, cards, counts, names and lineage match the JSON report of the
// same diff, the filters hide and show what they say, and a screenshot is
// kept. Used by tests/formats/run_formats.py; prints one line per check.
//
//   node check_report.js --html R.html --json R.json --shot R.png
//   node check_report.js --html S.html --show --threads N --shot S.png [--max-boxes N]
'use strict';
const fs = require('fs');
const path = require('path');
const assert = require('assert');
const { chromium } = require('playwright-core');

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) continue;
  const next = process.argv[i + 1];
  if (next === undefined || next.startsWith('--')) args[a.slice(2)] = true;
  else { args[a.slice(2)] = next; i++; }
}

let passed = 0, failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log('  ok   ' + name);
  } catch (e) {
    failed++;
    console.log('  FAIL ' + name + ': ' + (e && e.message ? e.message.split('\n').slice(0, 12).join('\n       ') : e));
  }
}

function findingView(f, section) {
  return {
    section, site: f.site, count: f.count, kind: f.kind, verdict: f.verdict, title: f.title,
    name: f.name, routine: f.start_routine, fails: String(f.fails),
  };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const url = 'file://' + path.resolve(args.html);
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  // Anything but the page itself is refused (and was recorded above).
  await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  const loadMs = Date.now() - t0;
  console.log(`  page loaded in ${loadMs} ms (${fs.statSync(args.html).size} bytes)`);

  check('no network request (only the file itself)', () => assert.deepStrictEqual(requests, [url]));
  check('no script error', () => assert.deepStrictEqual(errors, []));
  const dom = await page.evaluate(() => ({
    pwned: window.__pwned !== undefined, scripts: document.scripts.length,
    imgs: document.images.length, links: document.querySelectorAll('link,iframe,object,embed').length,
  }));
  check('no injected markup ran or loaded', () => assert.deepStrictEqual(dom, { pwned: false, scripts: 1, imgs: 0, links: 0 }));
  if (args['max-load-ms'])
    check(`loads within ${args['max-load-ms']} ms`, () => assert.ok(loadMs <= Number(args['max-load-ms']), `${loadMs} ms`));

  const cards = await page.$$eval('details.card', (els) => els.map((e) => ({
    section: e.dataset.section, site: e.dataset.site, count: Number(e.dataset.count), kind: e.dataset.kind,
    verdict: e.dataset.verdict, title: e.querySelector('.title').textContent,
    name: e.querySelector('.name') ? e.querySelector('.name').textContent : null,
    routine: e.querySelector('.routine') ? e.querySelector('.routine').textContent : null,
    fails: e.dataset.fails,
  })));
  const chips = await page.$$eval('ul.tree a.chip', (els) => els.map((a) => ({
    count: Number(a.dataset.count), target: a.getAttribute('href').slice(1), verdict: a.dataset.verdict,
  })));
  const more = await page.$$eval('ul.tree .more', (els) => els.reduce((s, e) => s + Number(e.dataset.count), 0));
  const boxes = await page.$$eval('ul.tree .scope', (els) => els.length);
  console.log(`  ${cards.length} cards, ${chips.length} chips, ${boxes} scope boxes`);
  const targets = await page.evaluate((ids) => ids.filter((id) => !document.getElementById(id)),
    chips.map((c) => c.target));
  check('chip targets all exist', () => assert.deepStrictEqual(targets, []));
  if (args['max-boxes'])
    check(`at most ${args['max-boxes']} scope boxes drawn`, () => assert.ok(boxes <= Number(args['max-boxes']), `${boxes}`));

  if (!args.show) {
    const j = JSON.parse(fs.readFileSync(args.json, 'utf8'));
    // A diff report, or a gate run's {"leakwatch_gate": 1, "processes": [{report}]}.
    const reports = j.leakwatch_gate ? j.processes.map((p) => p.report).filter((r) => r) : [j];
    if (!j.leakwatch_gate) {
      const summary = await page.textContent('#summary');
      check('summary line equals the JSON summary', () => assert.strictEqual(summary, j.summary.line));
    }
    const want = [];
    for (const r of reports)
      for (const s of ['new', 'persisting', 'fixed']) for (const f of r[s]) want.push(findingView(f, s));
    check('cards equal the JSON findings (site, count, kind, verdict, title, name, routine, fails)',
      () => assert.deepStrictEqual(cards, want));
    const current = reports.reduce((t, r) => t + r.new.concat(r.persisting).reduce((s, f) => s + f.count, 0), 0);
    check('the lineage holds every current instance', () =>
      assert.strictEqual(chips.reduce((s, c) => s + c.count, 0) + more, current));
    const failing = await page.getAttribute('#summary', 'data-failing');
    check('failing count equals the JSON summary', () =>
      assert.strictEqual(Number(failing), reports.reduce((t, r) => t + r.summary.failing, 0)));

    // Filters: untick each kind present in turn; its cards hide, the others stay.
    for (const kind of [...new Set(cards.map((c) => c.kind))]) {
      await page.uncheck(`#filters input[data-filter="kind"][value="${kind}"]`);
      const vis = await page.$$eval('details.card', (els) => els.map((e) => [e.dataset.kind, !e.hidden]));
      const shown = await page.textContent('#shown');
      check(`filter kind=${kind} hides exactly its cards`, () => {
        for (const [k, v] of vis) assert.strictEqual(v, k !== kind, `${k} visible=${v}`);
        assert.ok(shown.startsWith(`showing ${vis.filter(([, v]) => v).length} of ${vis.length}`), shown);
      });
      await page.check(`#filters input[data-filter="kind"][value="${kind}"]`);
    }
    if (chips.length) {
      await page.click('button#collapse');
      await page.click(`ul.tree a.chip >> nth=0`);
      const open = await page.evaluate((id) => document.getElementById(id).open, chips[0].target);
      check('clicking a chip opens its card', () => assert.strictEqual(open, true));
      await page.click('button#expand');
    }
  } else {
    const n = cards.reduce((s, c) => s + c.count, 0);
    check('cards hold every thread of the snapshot', () => assert.strictEqual(n, Number(args.threads)));
    const inTree = chips.reduce((s, c) => s + c.count, 0) + more;
    check('the context tree holds every thread with a context', () => assert.ok(inTree <= n && inTree > 0, `${inTree}`));
  }

  if (args.shot) {
    fs.mkdirSync(path.dirname(args.shot), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: args.shot, fullPage: !args['viewport-shot'] });
    console.log('  screenshot ' + args.shot);
  }
  await browser.close();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error('check_report.js: ' + (e && e.stack ? e.stack : e));
  process.exit(2);
});
