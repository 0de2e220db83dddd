#!/usr/bin/env python3
"""run_golden.py — golden-output tests for the report renderers.

For each case, runs a real fixture program (tests/golden/fixtures/) under
build/libleakwatch.so with a start and an exit snapshot, renders the diff
in every format (and the exit snapshot with leakwatch-show, plain and
--tree), checks each raw output with tests/validators/, normalises it
(normalize.py) and compares it with tests/golden/expected/<case>.<format>.

  run_golden.py BUILD_DIR            compare
  UPDATE_GOLDEN=1 run_golden.py ...  rewrite the expected files (on purpose)

Writes "PASSED FAILED" to $LW_RESULTS/test-golden when LW_RESULTS is set.
Every child runs under a timeout and is waited for.
"""
import difflib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "validators"))
import normalize  # noqa: E402
import validate_json  # noqa: E402
import validate_junit  # noqa: E402
import validate_sarif  # noqa: E402

FORMATS = ["text", "json", "junit", "sarif", "markdown"]
TIMEOUT = 30


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, name):
        self.passed += 1
        print(f"  ok   {name}")

    def fail(self, name, why):
        self.failed += 1
        print(f"  FAIL {name}: {why}")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, cwd=ROOT, **kw)


def python_exe():
    # pyenv and similar put a shell script first in PATH; run the real
    # interpreter so only one process is traced.
    out = run(["python3", "-c", "import sys; print(sys.executable)"])
    return out.stdout.decode().strip() or "python3"


def cases(build):
    snaps = os.path.join("tests", "golden", "snapshots")
    return {
        # Checked-in snapshots: every verdict and kind, independent of the
        # shim and of timing (modules do not exist: module+offset frames).
        "synthetic": ("snapshots", os.path.join(snaps, "synthetic-before.json"),
                      os.path.join(snaps, "synthetic-after.json")),
        "three_level": [os.path.join(build, "golden", "three_level")],
        "cxx_thread": [os.path.join(build, "golden", "cxx_thread")],
        "py_threading": [python_exe(), os.path.join(HERE, "fixtures", "py_threading.py")],
        # Each names the user's function and line (docs/design.md §3.6):
        # std::async, std::jthread, Rust at -C opt-level=0 and 2.
        "cxx_async": [os.path.join(build, "golden", "cxx_async")],
        "cxx_jthread": [os.path.join(build, "golden", "cxx_jthread")],
        "rust_ticker_O0": [os.path.join(build, "golden", "rust_ticker_O0")],
        "rust_ticker_O2": [os.path.join(build, "golden", "rust_ticker_O2")],
        # Python threads named after their target, with the Python line that
        # started them: the python3 on PATH (pyenv's here) and Debian's
        # stripped /usr/bin/python3.
        "py_timer_queue": [python_exe(), os.path.join(HERE, "fixtures", "py_timer_queue.py")],
        "py_timer_queue_system": ["/usr/bin/python3", os.path.join(HERE, "fixtures", "py_timer_queue.py")],
    }


# Cases checked in the text report only (the formats are proven by the
# cases above; these prove what the report names).
TEXT_ONLY = {"cxx_async", "cxx_jthread", "rust_ticker_O0", "rust_ticker_O2", "py_timer_queue",
             "py_timer_queue_system"}
# Cases whose program may be missing: (what, why it is skipped).
OPTIONAL = {"rust_ticker_O0": "rustc", "rust_ticker_O2": "rustc",
            "py_timer_queue_system": "Debian's python3"}


def snapshots(cmd, shim, tmp):
    env = dict(os.environ)
    env["LD_PRELOAD"] = shim
    env["LW_GOLDEN_SNAPDIR"] = tmp
    env["LEAKWATCH_OPTIONS"] = (f"at_start=1:at_exit=1:exit_grace_ms=100:signal=SIGUSR2:"
                                f"output={tmp}/snap-%p-%n.json")
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise RuntimeError(f"{cmd[0]} timed out")
    found = {}
    for path in glob.glob(os.path.join(tmp, f"snap-{p.pid}-*.json")):
        with open(path, encoding="utf-8") as f:
            found[json.load(f).get("trigger")] = path
    # A fixture that asks for a snapshot by signal is judged on that one
    # (the exit snapshot would add the exit rule on top).
    if "signal" in found:
        found["exit"] = found["signal"]
    if "start" not in found or "exit" not in found:
        raise RuntimeError(f"expected a start and an exit snapshot, got {sorted(found)}; "
                           f"stderr: {err.decode(errors='replace')[-500:]}")
    # Fixed names: the pid in the shim's file names would leak into reports.
    shutil.copy(found["start"], os.path.join(tmp, "before.json"))
    shutil.copy(found["exit"], os.path.join(tmp, "after.json"))
    return os.path.join(tmp, "before.json"), os.path.join(tmp, "after.json")


def validate(fmt, path):
    mod = {"json": validate_json, "junit": validate_junit, "sarif": validate_sarif}.get(fmt)
    if not mod:
        return None
    # The validators print their complaints; keep their exit status.
    return mod.main(["validate", path])


def mutants(fmt, raw):
    """Broken variants of a valid output: each must be rejected, so a
    validator that accepts everything cannot pass unnoticed."""
    if fmt == "junit":
        yield "truncated", raw[: len(raw) // 2]
        yield "bad count", raw.replace(b'tests="', b'tests="9', 1)
        return
    doc = json.loads(raw)
    if fmt == "json":
        d = json.loads(raw)
        d["summary"]["failing"] += 1
        yield "summary.failing off by one", json.dumps(d).encode()
        d = json.loads(raw)
        d["leakwatch_diff"] = 2
        yield "wrong version", json.dumps(d).encode()
        if doc["new"]:
            d = json.loads(raw)
            d["new"][0]["verdict"] = "lost"
            yield "unknown verdict", json.dumps(d).encode()
    if fmt == "sarif":
        d = json.loads(raw)
        d["version"] = "2.0.0"
        yield "wrong version", json.dumps(d).encode()
        if doc["runs"][0]["results"]:
            d = json.loads(raw)
            d["runs"][0]["results"][0]["ruleId"] = "LW9999"
            yield "unknown rule", json.dumps(d).encode()
            d = json.loads(raw)
            del d["runs"][0]["results"][0]["message"]
            yield "no message", json.dumps(d).encode()


def check_mutants(res, name, fmt, raw, tmp):
    for what, data in mutants(fmt, raw):
        path = os.path.join(tmp, f"mutant.{fmt}")
        with open(path, "wb") as f:
            f.write(data)
        saved, sys.stderr = sys.stderr, open(os.devnull, "w")
        try:
            rc = validate(fmt, path)
        finally:
            sys.stderr.close()
            sys.stderr = saved
        if rc:
            res.ok(f"{name}.{fmt} validator rejects {what}")
        else:
            res.fail(f"{name}.{fmt} validator rejects {what}", "accepted a broken file")


def compare(res, name, fmt, raw, norm, snaps, tmp):
    norm.begin()
    text = norm.text(raw) if fmt not in ("json", "sarif") else \
        json.dumps(norm.value(json.loads(raw)), indent=1, ensure_ascii=False) + "\n"
    expected = os.path.join(HERE, "expected", f"{name}.{fmt}")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        with open(expected, "w", encoding="utf-8") as f:
            f.write(text)
        res.ok(f"{name}.{fmt} (updated)")
        return
    try:
        with open(expected, encoding="utf-8") as f:
            want = f.read()
    except OSError:
        res.fail(f"{name}.{fmt}", f"no {expected} (run UPDATE_GOLDEN=1 make test-golden)")
        return
    if want == text:
        res.ok(f"{name}.{fmt}")
        return
    diff = difflib.unified_diff(want.splitlines(), text.splitlines(), "expected", "actual",
                                lineterm="")
    res.fail(f"{name}.{fmt}", "differs:\n" + "\n".join(list(diff)[:40]))


def verdicts(res, name, diff, before, after):
    """What fails is decided once: with the default --fail-on and with
    --fail-on=none, the exit status, the JSON decision, the JUnit failures
    and the SARIF error levels all say the same."""
    for fail_on, want in (("all", True), ("none", False)):
        seen = {}
        for fmt in ("json", "junit", "sarif"):
            out = run([diff, f"--format={fmt}", "--grace=200", f"--fail-on={fail_on}", before, after])
            text = out.stdout.decode("utf-8", errors="replace")
            seen[f"{fmt} exit"] = out.returncode == 1
            if fmt == "json":
                doc = json.loads(text)
                seen["json summary.fails"] = doc["summary"]["fails"]
                seen["json new[].fails"] = any(f["fails"] for f in doc["new"])
            elif fmt == "junit":
                seen["junit failures"] = 'failures="0"' not in text
            else:
                doc = json.loads(text)
                seen["sarif error level"] = any(r.get("level") == "error"
                                                for run_ in doc["runs"] for r in run_["results"])
        wrong = [k for k, v in seen.items() if v != want]
        if wrong:
            res.fail(f"{name} --fail-on={fail_on} verdict", f"disagree: {wrong}")
        else:
            res.ok(f"{name} --fail-on={fail_on}: every format and the exit status say {'fail' if want else 'pass'}")


def main(argv):
    build = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(ROOT, "build"))
    shim = os.path.join(build, "libleakwatch.so")
    diff = os.path.join(build, "leakwatch-diff")
    show = os.path.join(build, "leakwatch-show")
    res = Results()
    for name, cmd in cases(build).items():
        print(f"golden case {name}")
        if name in OPTIONAL and not os.path.exists(cmd[0]):
            print(f"  skip {name}: {cmd[0]} not built ({OPTIONAL[name]} not installed)")
            continue
        with tempfile.TemporaryDirectory(prefix="lw-golden-") as tmp:
            try:
                if cmd[0] == "snapshots":
                    before, after = cmd[1], cmd[2]
                else:
                    before, after = snapshots(cmd, shim, tmp)
            except (RuntimeError, OSError) as e:
                res.fail(name, str(e))
                continue
            norm = normalize.Norm(ROOT, tmp, [before, after], keep_frames=cmd[0] == "snapshots")
            # A short grace keeps the fixtures fast; they wait longer than it.
            jobs = [(f, [diff, f"--format={f}", "--color=never", "--grace=200", before, after], 1)
                    for f in (["text"] if name in TEXT_ONLY else FORMATS)]
            # The Python case's main thread is mid-call when the signal
            # snapshot is taken (running or sleeping by a few microseconds),
            # so its full dump is not deterministic; its tree is.
            if os.path.exists(show) and name != "py_threading" and name not in TEXT_ONLY:
                jobs += [("show", [show, after], 0)]
            if os.path.exists(show) and name not in TEXT_ONLY:
                jobs += [("tree", [show, "--tree", after], 0)]
            for fmt, argv_, want_rc in jobs:
                try:
                    out = run(argv_)
                except subprocess.TimeoutExpired:
                    res.fail(f"{name}.{fmt}", "timed out")
                    continue
                if out.returncode != want_rc:
                    res.fail(f"{name}.{fmt}", f"exit {out.returncode}, want {want_rc}: "
                             f"{out.stderr.decode(errors='replace')[-300:]}")
                    continue
                raw_path = os.path.join(tmp, f"{name}.{fmt}")
                with open(raw_path, "wb") as f:
                    f.write(out.stdout)
                verdict = validate(fmt, raw_path)
                if verdict is not None:
                    if verdict == 0:
                        res.ok(f"{name}.{fmt} validates")
                    else:
                        res.fail(f"{name}.{fmt} validates", "validator rejected it")
                    check_mutants(res, name, fmt, out.stdout, tmp)
                compare(res, name, fmt, out.stdout.decode("utf-8", errors="replace"), norm,
                        [before, after], tmp)
            verdicts(res, name, diff, before, after)
    print(f"golden: {res.passed} passed, {res.failed} failed")
    results = os.environ.get("LW_RESULTS")
    if results:
        os.makedirs(results, exist_ok=True)
        with open(os.path.join(results, "test-golden"), "w") as f:
            f.write(f"{res.passed} {res.failed}\n")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
