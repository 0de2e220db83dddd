#!/usr/bin/env python3
"""Transparency on someone else's test suite: CPython's own regression
tests, run plain and under the preload, side by side; any difference in a
test's result fails.

usage: run_cpython.py BUILD_DIR [--quick] [--storm] [TEST_MODULE ...]
  --quick   only the modules marked quick (the part `make test` runs)
  --storm   also run test_signal preloaded with a snapshot requested by
            signal every 0.25 s (the snapshot signal must never reach a
            program thread)
Each module runs in one interpreter (regrtest, in-process, --junit-xml),
once plain and once with LD_PRELOAD; results are compared test by test
(passed / failed / error / skipped). Prints a table: module, plain and
preloaded counts and wall times. Writes "PASSED FAILED" (one per module)
to $LW_RESULTS/<name> (name: test-transparency, or -quick).

The interpreter is the first python3.11 whose `test` package has
test_threading (python3.11 on PATH may be a pyenv shim: its real
executable is used, so the preload sees the interpreter, not bash).
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))

# (module, quick?) — quick: fits `make test` (CI stays well under 20 min)
MODULES = [
    ("test_thread", True),
    ("test_threadsignals", True),
    ("test_threading_local", True),
    ("test_queue", True),
    ("test_selectors", True),
    ("test_sched", True),
    ("test_threading", False),
    ("test_signal", False),
    ("test_subprocess", False),
    ("test_socket", False),
]

# Tests left out of both runs, each with its reason. regrtest --ignore
# patterns (fnmatch on the test id).
EXCLUDE = [
    ("*VSOCK*", "test_socket: AF_VSOCK needs a vsock device (none in this VM)"),
    ("*ThreadedVSOCKSocketStreamTest*", "test_socket: AF_VSOCK needs a vsock device"),
    ("*test_import_from_another_thread*",
     "test_threading: fails plain here (this interpreter's site imports threading)"),
]

RESOURCES = "all,-gui,-audio,-largefile,-network,-urlfetch,-cpu,-tzdata,-decimal"


def find_python():
    for cand in ("python3.11", "python3"):
        path = shutil.which(cand)
        if not path:
            continue
        try:
            real = subprocess.run(
                [path, "-c", "import sys, test.test_threading; print(sys.executable)"],
                capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if real:
            return real
    return None


def outcomes(xml_path):
    """test id -> passed|failed|error|skipped"""
    res = {}
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return None
    for tc in root.iter("testcase"):
        tags = {c.tag for c in tc}
        st = ("error" if "error" in tags else "failed" if "failure" in tags
              else "skipped" if "skipped" in tags else "passed")
        res[tc.get("name")] = st
    return res


def counts(res):
    c = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for v in (res or {}).values():
        c[v] += 1
    return c


def storm(pid_holder, stop, sig=signal.SIGUSR2, period=0.25):
    while not stop.wait(period):
        pid = pid_holder.get("pid")
        if pid:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return


def run_module(py, mod, so, workdir, with_storm=False, timeout=1800):
    """One regrtest run: (outcomes or None, wall seconds, return code)."""
    xml = os.path.join(workdir, "%s-%s.xml" % (mod, "lw" if so else "plain"))
    snaps = os.path.join(workdir, "snapshots")
    os.makedirs(snaps, exist_ok=True)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKWATCH_OPTIONS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if so:
        env["LD_PRELOAD"] = so
        # snapshots away from the tests' working directories
        env["LEAKWATCH_OPTIONS"] = "output=%s/leakwatch-%%p-%%n.json:quiet=1" % snaps
    argv = [py, "-m", "test", "--junit-xml", xml, "-u", RESOURCES, "--timeout", "900"]
    for pat, _ in EXCLUDE:
        argv += ["-i", pat]
    argv.append(mod)
    start = time.monotonic()
    holder, stop = {}, threading.Event()
    t = None
    if with_storm:
        t = threading.Thread(target=storm, args=(holder, stop), daemon=True)
        t.start()
    with open(os.path.join(workdir, os.path.basename(xml)[:-4] + ".log"), "w") as log:
        p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                             cwd=workdir, start_new_session=True)
        holder["pid"] = p.pid
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
    stop.set()
    if t:
        t.join()
    # a test that hung or crashed leaves no junit file
    return outcomes(xml), time.monotonic() - start, rc


def fmt(c):
    return "%d/%d/%d/%d" % (c["passed"], c["failed"], c["error"], c["skipped"])


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    build = os.path.abspath(args.pop(0))
    quick = "--quick" in args
    with_storm = "--storm" in args
    names = [a for a in args if not a.startswith("--")]
    so = os.path.join(build, "libleakwatch.so")
    py = find_python()
    name = "test-transparency-quick" if quick else "test-transparency"
    if not py:
        print("run_cpython: no python3.11 with its test package; nothing run")
        return 1
    mods = [m for m, q in MODULES if (not quick or q) and (not names or m in names)]
    print("interpreter: %s" % py)
    print("excluded (both runs):")
    for pat, why in EXCLUDE:
        print("  %-36s %s" % (pat, why))
    print("%-22s %-18s %-18s %9s %9s  %s" % ("module", "plain p/f/e/s", "preloaded p/f/e/s",
                                            "plain s", "preload s", "verdict"))
    passed = failed = 0
    runs = [(m, False) for m in mods]
    if with_storm and (not names or "test_signal" in names):
        runs.append(("test_signal", True))
    with tempfile.TemporaryDirectory(prefix="lw-transparency-") as work:
        for mod, stormy in runs:
            d = os.path.join(work, mod + ("-storm" if stormy else ""))
            os.makedirs(d)
            plain, tp, rcp = run_module(py, mod, None, d)
            pre, tl, rcl = run_module(py, mod, so, d, with_storm=stormy)
            label = mod + (" +storm" if stormy else "")
            diffs = []
            if plain is None:
                diffs.append("plain run left no results (exit %d)" % rcp)
            if pre is None:
                diffs.append("preloaded run left no results (exit %d): hang or crash" % rcl)
            if plain is not None and pre is not None:
                for tid in sorted(set(plain) | set(pre)):
                    a, b = plain.get(tid, "absent"), pre.get(tid, "absent")
                    if a != b:
                        diffs.append("%s: plain %s, preloaded %s" % (tid, a, b))
            verdict = "same" if not diffs else "DIFFERENT"
            print("%-22s %-18s %-18s %9.1f %9.1f  %s" % (label, fmt(counts(plain)),
                                                          fmt(counts(pre)), tp, tl, verdict))
            for line in diffs[:20]:
                print("    " + line)
            if diffs:
                failed += 1
                for lg in sorted(glob.glob(os.path.join(d, "*-lw.log"))):
                    with open(lg, errors="replace") as fh:
                        tail = fh.read()[-3000:]
                    print("    --- tail of %s:\n%s" % (os.path.basename(lg), tail))
            else:
                passed += 1
            sys.stdout.flush()
    res = os.environ.get("LW_RESULTS")
    if res:
        os.makedirs(res, exist_ok=True)
        with open(os.path.join(res, name), "w") as fh:
            fh.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
