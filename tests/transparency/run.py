#!/usr/bin/env python3
"""Transparency: small programs that each once behaved differently under
the preload (tests/transparency/*.c), run plain and preloaded.

usage: run.py BUILD_DIR   (programs in BUILD_DIR/tests/transparency/)
Writes "PASSED FAILED" to $LW_RESULTS/test-transp when LW_RESULTS is set;
exits 1 on any failure. Every process runs under a timeout."""
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SO = os.path.join(BUILD, "libleakwatch.so")
BIN = os.path.join(BUILD, "tests", "transparency")
GATE = os.path.join(BUILD, "leakwatch-gate")
passed = failed = 0


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run(argv, preload=True, options=None, cwd=None, timeout=60):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKWATCH_OPTIONS", None)
    if preload:
        env["LD_PRELOAD"] = SO
        if options:
            env["LEAKWATCH_OPTIONS"] = options
    start = time.monotonic()
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    p.elapsed = time.monotonic() - start
    return p


def snaps_in(d):
    out = {}
    for path in glob.glob(os.path.join(d, "*.json")):
        with open(path) as fh:
            s = json.load(fh)
        out.setdefault(s["pid"], []).append(s)
    return out


def prog(name):
    return os.path.join(BIN, name)


# ---- 7. per-process cost: start and exit of a process without threads

def minflt_per_run(preload_so, runs, cwd):
    env = dict(os.environ)
    env.pop("LEAKWATCH_OPTIONS", None)
    if preload_so:
        env["LD_PRELOAD"] = preload_so
    else:
        env.pop("LD_PRELOAD", None)
    best = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        subprocess.run(["/bin/true"], env=env, cwd=cwd, check=True, timeout=30)
        n = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before
        best = n if best is None else min(best, n)
    return best


def t_startup_cost():
    # Page faults are the deterministic part of the cost (timings are for
    # the benchmark): the thread registry's first chunk once cost ~440
    # faults (~1.5 MiB written) in every process.
    floor = os.path.join(BUILD, "bench", "libfloor.so")
    with tempfile.TemporaryDirectory() as d:
        f = minflt_per_run(floor, 5, d)
        lw = minflt_per_run(SO, 5, d)
    check(lw - f <= LW_STARTUP_FAULTS,
          "/bin/true: %d minor faults preloaded, %d under the do-nothing interposer "
          "(allowed: %d more)" % (lw, f, LW_STARTUP_FAULTS))


LW_STARTUP_FAULTS = 100

CASES = [
    ("start-up cost", t_startup_cost),
]


def main():
    global passed, failed
    only = sys.argv[2:]
    for name, fn in CASES:
        if only and not any(o in name for o in only):
            continue
        try:
            fn()
            passed += 1
            print("PASS %s" % name)
        except (Fail, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
    print("%d passed, %d failed" % (passed, failed))
    res = os.environ.get("LW_RESULTS")
    if res:
        os.makedirs(res, exist_ok=True)
        with open(os.path.join(res, "test-transp"), "w") as fh:
            fh.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
