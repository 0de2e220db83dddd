#!/usr/bin/env python3
"""run_formats.py — the formats that leave leakwatch, read back by their real
consumers (make test-formats):

  html         headless chromium (tests/html/check_report.js): no request,
               no injected script, cards/counts/names/lineage equal the JSON
               report, filters work; screenshots in build/test-results/.
  pprof        go tool pprof -raw and -top (Debian golang-go): one sample per
               site with its count and labels, mappings with build-ids, the
               creation stack (or the blocked stack on request) as locations.
  openmetrics  promtool check metrics (Debian prometheus), and the series
               equal the JSON report.

Fixtures: tests/golden/fixtures/three_level.c (the classic three-level leak)
and tests/formats/hostile.c (hostile names, labels and program path), run
under the preload; plus a synthetic 10,000-thread / 500-site snapshot for the
HTML's size, render time and load time (tests/e2e/analyzer/gen_bench.py).

  run_formats.py BUILD_DIR [--quick]    (--quick: no 10,000-thread case)
Prints "N passed, M failed"; exit 1 on any failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 120


class Results:
    passed = failed = 0

    def check(self, name, ok, why=""):
        if ok:
            self.passed += 1
            print(f"  ok   {name}")
        else:
            self.failed += 1
            print(f"  FAIL {name}: {why}")
        return ok


R = Results()


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(cmd, **kw)


def snapshots(build, exe, workdir, env_extra=None):
    """Runs exe under the preload with a start and an exit snapshot."""
    snapdir = os.path.join(workdir, "snaps")
    os.makedirs(snapdir)
    env = dict(os.environ)
    env["LD_PRELOAD"] = os.path.join(build, "libleakwatch.so")
    env["LEAKWATCH_OPTIONS"] = f"at_start=1:at_exit=1:output={snapdir}/s-%n.json"
    env.update(env_extra or {})
    p = run([exe], env=env, cwd=workdir)
    files = sorted(os.listdir(snapdir), key=lambda f: int(re.sub(r"\D", "", f) or 0))
    assert p.returncode == 0 and len(files) == 2, (p.returncode, files, p.stderr.decode(errors="replace"))
    return [os.path.join(snapdir, f) for f in files]


def diff(build, before, after, fmt, out, *extra):
    p = run([os.path.join(build, "leakwatch-diff"), f"--format={fmt}", "-o", out, *extra, before, after])
    assert p.returncode in (0, 1), (fmt, p.returncode, p.stderr.decode(errors="replace"))
    return p.returncode


def current(j):
    return [("new", f) for f in j["new"]] + [("persisting", f) for f in j["persisting"]]


# ---------------- openmetrics ----------------

SERIES = re.compile(r'^(leakwatch_[a-z_]+)\{(.*)\} (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def check_openmetrics(case, path, j):
    p = run(["promtool", "check", "metrics"], input=open(path, "rb").read())
    R.check(f"{case}: promtool check metrics", p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace"))
    text = open(path, encoding="utf-8").read()
    R.check(f"{case}: ends with # EOF", text.endswith("# EOF\n"), repr(text[-40:]))
    got, totals = {}, {}
    for line in text.splitlines():
        m = SERIES.match(line)
        if not m:
            continue
        labels = {k: unescape(v) for k, v in LABEL.findall(m.group(2))}
        if m.group(1) == "leakwatch_findings":
            got[(labels["state"], labels["kind"], labels["verdict"], labels["site"])] = (
                int(m.group(3)), labels["start_routine"], labels["fails"])
        else:
            totals[m.group(1)] = int(m.group(3))
    want = {}
    for state, f in current(j):
        key = (state, f["kind"], f["verdict"], f["site"])
        n = want.get(key, (0,))[0] + f["count"]
        want[key] = (n, f["start_routine"] or "", "true" if f["fails"] else "false")
    R.check(f"{case}: one series per site and state, counts equal the JSON", got == want, f"{got} != {want}")
    s = j["summary"]
    R.check(f"{case}: totals equal the JSON summary",
            totals.get("leakwatch_new_findings") == s["new"]["instances"]
            and totals.get("leakwatch_persisting_findings") == s["persisting"]["instances"]
            and totals.get("leakwatch_fixed_findings") == s["fixed"]["instances"]
            and totals.get("leakwatch_failing_findings") == s["failing"], f"{totals} vs {s}")


# ---------------- pprof ----------------

def go_pprof(*args):
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())
    env["PPROF_TMPDIR"] = tempfile.mkdtemp(prefix="lw-pprof-")
    try:
        return run(["go", "tool", "pprof", *args], env=env)
    finally:
        shutil.rmtree(env["PPROF_TMPDIR"], ignore_errors=True)


def parse_raw(text):
    """Samples (value, location ids, {label: value}) and mappings from -raw."""
    samples, mappings, locs = [], [], {}
    section = None
    cur = None
    for line in text.splitlines():
        if line.startswith("Samples:"):
            section = "s"
            continue
        if line.startswith("Locations"):
            section = "l"
            continue
        if line.startswith("Mappings"):
            section = "m"
            continue
        if section == "s":
            m = re.match(r"^\s+(\d+): ([\d ]+)$", line)
            if m:
                cur = {"value": int(m.group(1)), "locs": [int(x) for x in m.group(2).split()], "labels": {}}
                samples.append(cur)
            elif cur is not None:
                for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
                    cur["labels"][k] = v
        elif section == "l":
            m = re.match(r"^\s+(\d+): (0x[0-9a-f]+) M=(\d+)(.*)$", line)
            if m:
                locs[int(m.group(1))] = {"addr": int(m.group(2), 16), "text": m.group(4)}
            elif line.strip() and locs:
                last = max(locs)
                locs[last]["text"] += " " + line.strip()
        elif section == "m" and line.strip():
            mappings.append(line)
    return samples, locs, mappings


def check_pprof(case, build, before, after, j, snap, workdir, blocked_fn):
    path = os.path.join(workdir, "r.pprof")
    diff(build, before, after, "pprof", path)
    with open(path, "rb") as f:
        R.check(f"{case}: pprof is gzip", f.read(2) == b"\x1f\x8b")
    p = go_pprof("-raw", path)
    ok = R.check(f"{case}: go tool pprof -raw reads it", p.returncode == 0, p.stderr.decode(errors="replace"))
    if not ok:
        return
    samples, locs, mappings = parse_raw(p.stdout.decode(errors="replace"))
    want = sorted((f["site"], f["count"], f["kind"], f["verdict"], state) for state, f in current(j))
    got = sorted((s["labels"].get("site"), s["value"], s["labels"].get("kind"), s["labels"].get("verdict"),
                  s["labels"].get("state")) for s in samples)
    R.check(f"{case}: one sample per site with its count and labels", got == want, f"{got} != {want}")
    # pprof keeps the mappings that locations use: each must carry its
    # module's build-id, and the main binary must be one of them.
    by_path = {m["path"]: m.get("build_id") for m in snap["modules"]}
    main_bid = by_path.get(snap["exe"])
    bad = [m for m in mappings if any(p in m and b and b not in m for p, b in by_path.items())]
    R.check(f"{case}: mappings carry the build-ids", main_bid and any(main_bid in m for m in mappings) and not bad,
            "\n".join(mappings))
    for s in samples:
        f = next(f for _, f in current(j) if f["site"] == s["labels"].get("site"))
        if f["blocked"]:
            R.check(f"{case}: blocked call label ({f['site']})", s["labels"].get("blocked_call") == f["blocked"]["call"],
                    s["labels"])
        if f["context"]["cause"]:
            R.check(f"{case}: cancel cause label ({f['site']})",
                    s["labels"].get("cancel_cause") == f["context"]["cause"], s["labels"])
        stack = [fr["function"] for fr in f["creation_stack"] if fr["function"]]
        texts = " ".join(locs[i]["text"] for i in s["locs"] if i in locs)
        R.check(f"{case}: creation stack as locations ({f['site']})", all(fn in texts for fn in stack),
                f"{stack} not in {texts}")
    p = go_pprof("-top", "-nodecount=20", path)
    top = p.stdout.decode(errors="replace")
    R.check(f"{case}: go tool pprof -top ranks the creating function", p.returncode == 0 and "worker_main" in top, top)
    path_b = os.path.join(workdir, "r-blocked.pprof")
    diff(build, before, after, "pprof", path_b, "--pprof-stack=blocked")
    p = go_pprof("-top", "-nodecount=20", path_b)
    top = p.stdout.decode(errors="replace")
    R.check(f"{case}: --pprof-stack=blocked puts the blocked function on top",
            p.returncode == 0 and blocked_fn in top, top)


# ---------------- html ----------------

def node_check(case, html_args, results):
    node_dir = os.path.join(os.path.dirname(os.path.dirname(results)), "html-test")
    env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"))
    p = run(["node", os.path.join(ROOT, "tests", "html", "check_report.js"), *html_args], env=env, timeout=180)
    out = p.stdout.decode(errors="replace")
    print("\n".join("    " + line for line in out.splitlines()))
    R.check(f"{case}: chromium checks", p.returncode == 0, p.stderr.decode(errors="replace")[-2000:])


def case_fixture(build, results, name, exe, blocked_fn, work):
    print(f"{name}:")
    before, after = snapshots(build, exe, work)
    snap = json.load(open(after))
    jpath = os.path.join(work, "r.json")
    diff(build, before, after, "json", jpath)
    j = json.load(open(jpath))
    R.check(f"{name}: fixture has findings", len(j["new"]) > 0, j["summary"])
    om = os.path.join(work, "r.om")
    diff(build, before, after, "openmetrics", om)
    check_openmetrics(name, om, j)
    check_pprof(name, build, before, after, j, snap, work, blocked_fn)
    html = os.path.join(results, f"{name}.html")
    diff(build, before, after, "html", html)
    node_check(name, ["--html", html, "--json", jpath, "--shot", os.path.join(results, f"{name}.png")], results)
    show = os.path.join(results, f"{name}-show.html")
    p = run([os.path.join(build, "leakwatch-show"), "--format=html", "-o", show, after])
    R.check(f"{name}: leakwatch-show --format=html", p.returncode == 0, p.stderr.decode(errors="replace"))
    node_check(f"{name} (show)", ["--html", show, "--show", "--threads", str(len(snap["threads"])),
                                  "--shot", os.path.join(results, f"{name}-show.png")], results)


def case_large(build, results, work):
    print("large (10,000 threads, 500 sites):")
    before, after = os.path.join(work, "before.json"), os.path.join(work, "after.json")
    p = run([sys.executable, os.path.join(ROOT, "tests", "e2e", "analyzer", "gen_bench.py"),
             os.path.join(build, "leakwatch-diff"), "10000", before, after, "500"])
    if not R.check("large: generate snapshots", p.returncode == 0, p.stderr.decode(errors="replace")):
        return
    jpath, html = os.path.join(work, "r.json"), os.path.join(results, "large.html")
    diff(build, before, after, "json", jpath)
    t0 = time.monotonic()
    diff(build, before, after, "html", html)
    ms = (time.monotonic() - t0) * 1000
    size = os.path.getsize(html)
    j = json.load(open(jpath))
    n = sum(f["count"] for f in j["new"] + j["persisting"])
    print(f"  leakwatch-diff --format=html: {n} instances in {len(j['new']) + len(j['persisting'])} sites, "
          f"{size} bytes, {ms:.0f} ms (load, symbolize, judge, diff and render)")
    R.check("large: HTML under 16 MB", size < 16 << 20, size)
    node_check("large", ["--html", html, "--json", jpath, "--max-load-ms", "15000", "--viewport-shot",
                         "--shot", os.path.join(results, "large.png")], results)
    show = os.path.join(results, "large-show.html")
    t0 = time.monotonic()
    p = run([os.path.join(build, "leakwatch-show"), "--format=html", "-o", show, after])
    ms = (time.monotonic() - t0) * 1000
    print(f"  leakwatch-show --format=html: {os.path.getsize(show)} bytes, {ms:.0f} ms")
    R.check("large: leakwatch-show --format=html", p.returncode == 0, p.stderr.decode(errors="replace"))
    snap = json.load(open(after))
    node_check("large (show)", ["--html", show, "--show", "--threads", str(len(snap["threads"])),
                                "--max-boxes", "600", "--viewport-shot",
                                "--shot", os.path.join(results, "large-show.png")], results)


def case_gate(build, results, work):
    """leakwatch-gate --format=FMT -o FILE: one output covering every process."""
    print("gate (three_level under leakwatch-gate):")
    exe = os.path.join(build, "golden", "three_level")
    out = {}
    for fmt in ("json", "html", "openmetrics", "pprof"):
        out[fmt] = os.path.join(results if fmt == "html" else work, f"gate.{fmt}")
        p = run([os.path.join(build, "leakwatch-gate"), f"--format={fmt}", "-o", out[fmt], "--", exe])
        R.check(f"gate: --format={fmt} -o FILE (exit 1: findings)", p.returncode == 1 and os.path.getsize(out[fmt]) > 0,
                f"exit {p.returncode}: {p.stderr.decode(errors='replace')[-800:]}")
    p = run(["promtool", "check", "metrics"], input=open(out["openmetrics"], "rb").read())
    R.check("gate: promtool check metrics", p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace"))
    p = go_pprof("-raw", out["pprof"])
    samples = parse_raw(p.stdout.decode(errors="replace"))[0] if p.returncode == 0 else []
    R.check("gate: go tool pprof reads it, samples carry pid and program",
            bool(samples) and all("program" in s["labels"] and "pid" in s["labels"] for s in samples),
            p.stderr.decode(errors="replace"))
    node_check("gate", ["--html", out["html"], "--json", out["json"], "--shot", os.path.join(results, "gate.png")],
               results)


def main(argv):
    build = os.path.abspath(argv[1])
    quick = "--quick" in argv
    results = os.path.join(build, "test-results", "formats")
    os.makedirs(results, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lw-formats-")
    try:
        rules = os.path.join(ROOT, "examples", "fleet", "leakwatch-alerts.yml")
        p = run(["promtool", "check", "rules", rules])
        R.check("README's alert rules: promtool check rules", p.returncode == 0, (p.stdout + p.stderr).decode())
        w = os.path.join(tmp, "three_level")
        os.makedirs(w)
        case_fixture(build, results, "three_level", os.path.join(build, "golden", "three_level"), "poller_main", w)
        # The hostile program runs from a directory whose name is markup.
        w = os.path.join(tmp, 'we<i>rd "dir" &amp; \'q\'')
        os.makedirs(w)
        exe = os.path.join(w, "hostile")
        shutil.copy(os.path.join(build, "tests", "formats", "hostile"), exe)
        case_fixture(build, results, "hostile", exe, "poller_main", w)
        # The gate writes these formats once it renders through the format
        # list (reports/lw_model.h); until then its --help does not name them.
        gate_help = run([os.path.join(build, "leakwatch-gate"), "--help"]).stdout.decode(errors="replace")
        if "openmetrics" in gate_help:
            w = os.path.join(tmp, "gate")
            os.makedirs(w)
            case_gate(build, results, w)
        else:
            print("gate: skipped (leakwatch-gate does not offer html/pprof/openmetrics yet)")
        if not quick:
            w = os.path.join(tmp, "large")
            os.makedirs(w)
            case_large(build, results, w)
    except (AssertionError, subprocess.TimeoutExpired) as e:
        R.check("run", False, repr(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{R.passed} passed, {R.failed} failed")
    res = os.environ.get("LW_RESULTS")
    if res:
        os.makedirs(res, exist_ok=True)
        with open(os.path.join(res, "test-formats"), "w") as f:
            f.write(f"{R.passed} {R.failed}\n")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
