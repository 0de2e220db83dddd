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


# ---- 1. a child forked from a worker thread ends when that thread returns

def t_fork_from_thread():
    p = run([prog("fork_from_thread")], timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr.strip()))
    check(p.elapsed < 5, "took %.1f s" % p.elapsed)


# ---- 2. raw fork / clone: the child is a process of its own

def raw_fork_case(how, end):
    def t():
        with tempfile.TemporaryDirectory() as d:
            p = run([prog("raw_fork"), how, end], cwd=d, timeout=60)
            check(p.returncode == 0, "exit %d (parent hurt?): %s" % (p.returncode, p.stderr.strip()))
            check("not overwritten" not in p.stderr, p.stderr.strip())
            words = p.stdout.split()
            parent, child = int(words[1]), int(words[3])
            snaps = snaps_in(d)
            check(any(s["trigger"] == "exit" for s in snaps.get(parent, [])),
                  "no exit snapshot of the parent %d (have pids %s)" % (parent, sorted(snaps)))
            if end == "exit":
                check(any(s["trigger"] == "exit" for s in snaps.get(child, [])),
                      "no exit snapshot of the child %d (have pids %s)" % (child, sorted(snaps)))
    return t


# ---- 3. a vfork child's close/close_range/dup2 leave the parent's records

def check_parent_socket(d, parent_pid, fd, not_fd=None):
    snaps = snaps_in(d)
    exits = [s for s in snaps.get(parent_pid, []) if s["trigger"] == "exit"]
    check(exits, "no exit snapshot of %d (have %s)" % (parent_pid, sorted(snaps)))
    socks = {s["fd"]: s for s in exits[0]["sockets"]}
    check(fd in socks, "the leaked socket fd %d is not in the exit snapshot" % fd)
    check(not socks[fd].get("foreign"),
          "fd %d is reported as foreign: its record was erased" % fd)
    if not_fd is not None:
        check(not_fd not in socks, "the vfork child's dup %d shows in the parent" % not_fd)


def vfork_case(how):
    def t():
        with tempfile.TemporaryDirectory() as d:
            p = run([prog("vfork_close"), how], cwd=d)
            check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr.strip()))
            w = p.stdout.split()
            pid = max(s for s in snaps_in(d) if any(
                x["exe"].endswith("vfork_close") for x in snaps_in(d)[s]))
            check_parent_socket(d, pid, int(w[1]), int(w[3]))
    return t


PY_SUBPROCESS = r"""
import os, socket, subprocess
fd = socket.socket().detach()  # left open at exit: the exit snapshot lists it
print(os.getpid(), fd, flush=True)
subprocess.run(["/bin/true"], close_fds=True, check=True)
subprocess.run(["/bin/true"], close_fds=True, pass_fds=[fd], check=True)
"""


def t_vfork_python():
    with tempfile.TemporaryDirectory() as d:
        p = run([sys.executable, "-c", PY_SUBPROCESS], cwd=d)
        check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr.strip()))
        pid, fd = map(int, p.stdout.split())
        check_parent_socket(d, pid, fd)


# ---- 4. descriptor numbers

def fd_numbers_case(log_file):
    def t():
        fd_numbers(log_file)
    return t


def fd_numbers(log_file):
    plain = run([prog("fd_numbers")], preload=False).stdout.splitlines()
    with tempfile.TemporaryDirectory() as d:
        # a log file is a descriptor leakwatch keeps for the process's life
        opts = "log=%s/lw.log" % d if log_file else None
        p = run([prog("fd_numbers")], cwd=d, options=opts)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr.strip()))
    pre = p.stdout.splitlines()
    check(len(pre) == len(plain), "output %r vs plain %r" % (pre, plain))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    for a, b in zip(plain, pre):
        if a.startswith("after threads") or (log_file and a.startswith("start")):
            # an unwinder's descriptor may exist now: only far above the
            # numbers the program gets
            extra = set(b.split(":")[1].split()) - set(a.split(":")[1].split())
            low = [int(x) for x in extra if int(x) < min(soft, 65536) - 64]
            check(not low, "leakwatch holds low descriptors %s (plain %r, preloaded %r)"
                  % (low, a, b))
        else:
            check(a == b, "preloaded %r, plain %r" % (b, a))


# ---- 5. a send interrupted by a signal

def send_case(arg):
    def t():
        argv = [prog("send_signal")] + ([arg] if arg else [])
        check(run(argv, preload=False).returncode == 0, "fails plain too")
        p = run(argv, timeout=120)
        check(p.returncode == 0, p.stderr.strip())
    return t


# ---- 6. exit snapshot after libuv's own teardown

def t_libuv_gate():
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([GATE, "--", prog("libuv_pool")], capture_output=True,
                           text=True, timeout=120, cwd=d)
    check(p.returncode == 0, "gate exit %d:\n%s%s" % (p.returncode, p.stdout, p.stderr))


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
    ("fork_from_thread", t_fork_from_thread),
    ("raw_fork fork term", raw_fork_case("fork", "term")),
    ("raw_fork fork exit", raw_fork_case("fork", "exit")),
    ("raw_fork clone term", raw_fork_case("clone", "term")),
    ("raw_fork clone exit", raw_fork_case("clone", "exit")),
    ("raw_fork fork snap", raw_fork_case("fork", "snap")),
    ("raw_fork clone snap", raw_fork_case("clone", "snap")),
    ("vfork_close close", vfork_case("close")),
    ("vfork_close close_range", vfork_case("close_range")),
    ("vfork_close exec", vfork_case("exec")),
    ("vfork python subprocess", t_vfork_python),
    ("fd_numbers", fd_numbers_case(False)),
    ("fd_numbers with a log file", fd_numbers_case(True)),
    ("send_signal", send_case(None)),
    ("send_signal restart", send_case("restart")),
    ("libuv pool under the gate", t_libuv_gate),
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
