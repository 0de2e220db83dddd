#!/usr/bin/env python3
"""Verdicts on real programs (docs/design.md §1.2, §1.3, §2.1, §2.2): each
program of tests/e2e/verdict/ runs under `leakwatch run`, its snapshots go
through `leakwatch diff --format=json`, and the exit rules also through
`leakwatch-gate`. Every assertion is about what a user would read: which
findings, of which kind and verdict, and which are absent.

usage: run.py BUILD_DIR   (programs in BUILD_DIR/tests/e2e-verdict/)
Writes "PASSED FAILED" to $LW_RESULTS/test-e2e-verdict when LW_RESULTS is
set; exits 1 on any failure. Every process runs under a timeout."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
BIN = os.path.join(BUILD, "tests", "e2e-verdict")
LW = os.path.join(BUILD, "leakwatch")
DIFF = os.path.join(BUILD, "leakwatch-diff")
SHOW = os.path.join(BUILD, "leakwatch-show")
GATE = os.path.join(BUILD, "leakwatch-gate")
GRACE = "--grace=100"  # the programs wait 400 ms after a scope ends
passed = failed = 0


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def env():
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "LEAKWATCH_OPTIONS", "LEAKWATCH_DEFAULT_SUPPRESSIONS"):
        e.pop(k, None)
    return e


def run_prog(name, args, at_exit=False):
    """Runs BIN/name under `leakwatch run`; the program writes DIR/live.json
    itself (leakwatch_snapshot) when it takes a live one. Returns (facts,
    dir, stdout)."""
    d = tempfile.mkdtemp(prefix="lw-verdict-")
    opts = ["--opt", "output=%s/snap-%%n.json" % d, "--opt", "quiet=1",
            "--opt", "at_exit=%d" % (1 if at_exit else 0)]
    if at_exit:
        opts += ["--opt", "at_start=1"]
    p = subprocess.run([LW, "run"] + opts + ["--", os.path.join(BIN, name)] + args + [d],
                       env=env(), capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "%s %s: exit %d: %s" % (name, args, p.returncode, p.stderr[-400:]))
    facts = {}
    for line in p.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            facts.setdefault(k.strip(), []).append(v.strip())
    return facts, d, p.stdout


def diff(*paths, extra=()):
    p = subprocess.run([LW, "diff", "--format=json", GRACE] + list(extra) + list(paths),
                       env=env(), capture_output=True, text=True, timeout=60)
    check(p.returncode in (0, 1), "leakwatch diff exit %d: %s" % (p.returncode, p.stderr))
    rep = json.loads(p.stdout)
    check((p.returncode == 1) == bool(rep["summary"]["fails"]) if "summary" in rep else True,
          "exit status and JSON disagree")
    return rep, p


def live(d):
    path = os.path.join(d, "live.json")
    check(os.path.exists(path), "no live snapshot in %s" % d)
    return path


def snap(path):
    with open(path) as fh:
        return json.load(fh)


def exit_pair(d):
    paths = sorted(glob.glob(os.path.join(d, "snap-*.json")),
                   key=lambda x: int(x.rsplit("-", 1)[1].split(".")[0]))
    check(len(paths) == 2, "expected start and exit snapshots, got %s" % paths)
    check(snap(paths[1])["trigger"] == "exit", paths)
    return paths


def of(rep, kind=None, verdict=None):
    return [f for f in rep["new"] if (kind is None or f["kind"] == kind) and
            (verdict is None or f["verdict"] == verdict)]


def gate(name, args=(), opts=()):
    p = subprocess.run([GATE] + list(opts) + ["--", os.path.join(BIN, name)] + list(args),
                       env=env(), capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ------------------------------------------------------------------ pools
@test
def lazy_pool_fed_by_several_requests_is_parked():
    """std::condition_variable never initialised by a call, touched by four
    request scopes: owned by their ancestor (main), so idle workers started
    by the first request are parked once it ends."""
    _, d, _ = run_prog("lazy_pool", ["shared"])
    s = snap(live(d))
    workers = [t for t in s["threads"] if t["kind"] == "tracked" and t["state"] == "blocked"
               and t["blocked"]["family"] == "cond"]
    check(workers, "no idle worker in the snapshot")
    check(any(t["blocked"]["object_owner"] == 1 for t in workers),
          "the condition's owner is not the root: %s" % [t["blocked"] for t in workers])
    rep, p = diff(live(d))
    check(not of(rep, "thread"), "idle pool workers reported: %s" % p.stdout[:2000])
    rc, out = gate("lazy_pool", ["shared", tempfile.mkdtemp(prefix="lw-verdict-")])
    check(rc == 0, "gate on a pool stopped and joined at exit: rc %d\n%s" % (rc, out[-2000:]))


@test
def private_pool_of_one_request_still_leaks():
    """A pool only one request ever touched dies with that request."""
    _, d, _ = run_prog("lazy_pool", ["private"])
    rep, p = diff(live(d))
    th = of(rep, "thread", "leaked")
    check(th and all(f["blocked"] and f["blocked"]["call"] == "pthread_cond_wait" for f in th),
          "the private pool's workers are not leaked: %s" % p.stdout[:2000])


# ------------------------------------------------------------ descriptors
@test
def shared_udp_socket_belongs_to_main():
    f, d, _ = run_prog("udp_shared", [])
    s = snap(live(d))
    (m,) = [k for k in s["sockets"] if k["fd"] == int(f["metrics_fd"][0])]
    check(m["context"] == 1, "metrics socket not owned by the root: %s" % m)
    rep, p = diff(live(d))
    socks = of(rep, "socket")
    check(len(socks) == 1 and socks[0]["ids"] == [int(f["request_fd"][0])],
          "expected only the per-request socket: %s" % p.stdout[:2000])


@test
def eventfd_written_by_pool_read_by_loop():
    f, d, _ = run_prog("eventfd_pool", [])
    s = snap(live(d))
    (e,) = [k for k in s["sockets"] if k["fd"] == int(f["efd"][0])]
    check(e["kind"] == "eventfd" and e["context"] == 1, "eventfd not owned by the root: %s" % e)
    rep, p = diff(live(d))
    check(not of(rep, "fd") and not of(rep, "socket"), "eventfd reported: %s" % p.stdout[:2000])


@test
def acceptor_connections_leak_with_their_threads():
    f, d, _ = run_prog("acceptor", [])
    rep, p = diff(live(d))
    socks = of(rep, "socket", "leaked")
    ids = sorted(i for x in socks for i in x["ids"])
    check(ids == sorted(int(x) for x in f["conn_fd"]), "connections: %s vs %s\n%s" %
          (ids, f["conn_fd"], p.stdout[:2000]))
    check(int(f["listen_fd"][0]) not in ids, "the live acceptor's listener reported")


@test
def epoll_server_leaks_with_its_listener():
    f, d, _ = run_prog("epoll_server", ["leaky"])
    rep, p = diff(live(d))
    th = of(rep, "thread", "leaked")
    check(len(th) == 1 and th[0]["tids"] == [int(f["loop_tid"][0])] and
          th[0]["blocked"]["call"] == "epoll_wait", "loop thread: %s" % p.stdout[:2000])
    socks = of(rep, "socket", "leaked")
    check([x["ids"] for x in socks] == [[int(f["listen_fd"][0])]], "listener: %s" % p.stdout[:2000])
    fds = of(rep, "fd", "leaked")
    ep = [x for x in fds if x["ids"] == [int(f["epoll_fd"][0])]]
    check(ep and ep[0]["title"] == "epoll instance", "epoll instance as kind fd: %s" % fds)
    text = subprocess.run([LW, "diff", GRACE, live(d)], env=env(), capture_output=True,
                          text=True, timeout=60).stdout
    check("leaked fd: epoll instance" in text, text)


@test
def epoll_server_stopped_is_clean():
    _, d, _ = run_prog("epoll_server", ["stopped"])
    rep, p = diff(live(d))
    check(not rep["new"], "stopped server: %s" % p.stdout[:2000])


@test
def timerfd_is_one_timer_finding():
    f, d, _ = run_prog("timerfd_poller", [])
    rep, p = diff(live(d))
    res = [x for x in rep["new"] if x["kind"] != "thread"]
    check(len(res) == 1 and res[0]["kind"] == "timer" and res[0]["count"] == 1,
          "a timerfd must be one timer finding: %s" % p.stdout[:2000])
    check(all(i >= 0 for i in res[0]["ids"]), res[0]["ids"])
    th = of(rep, "thread", "leaked")
    check(th and th[0]["tids"] == [int(f["poller_tid"][0])], "poller: %s" % p.stdout[:1500])
    text = subprocess.run([LW, "diff", GRACE, live(d)], env=env(), capture_output=True,
                          text=True, timeout=60).stdout
    check(text.count("armed") == 1, "the armed line once:\n%s" % text)


# ------------------------------------------------------------- exit rules
@test
def unjoined_just_before_exit():
    for n in (1, 3):
        _, d, _ = run_prog("unjoined_exit", [str(n)], at_exit=True)
        rep, p = diff(*exit_pair(d))
        un = of(rep, "thread", "unjoined")
        check(len(un) == 1 and un[0]["count"] == n, "N=%d: %s" % (n, p.stdout[:1500]))
        rc, out = gate("unjoined_exit", [str(n)])
        check(rc == 1 and "unjoined" in out, "gate N=%d: rc %d\n%s" % (n, rc, out[-1500:]))
    rc, out = gate("unjoined_exit", ["0"])
    check(rc == 0, "joined control: rc %d\n%s" % (rc, out[-1500:]))


@test
def alive_at_exit_told_apart_from_leaked():
    """A pool started by main and never stopped is alive_at_exit; the
    private pool of an ended request is leaked; --fail-on without
    alive_at_exit passes the first and fails the second."""
    _, d, _ = run_prog("lazy_pool", ["private"], at_exit=True)
    rep, p = diff(*exit_pair(d))
    th = of(rep, "thread")
    check(th and all(x["verdict"] == "leaked" for x in th), "private pool at exit: %s" % p.stdout[:1500])
    _, d, _ = run_prog("omp", [], at_exit=True)
    rep, p = diff(*exit_pair(d), extra=["--no-default-suppressions"])
    th = of(rep, "thread")
    check(th and all(x["verdict"] == "alive_at_exit" for x in th), "omp at exit: %s" % p.stdout[:1500])
    rc, out = gate("omp", opts=["--no-default-suppressions"])
    check(rc == 1 and "alive_at_exit" in out, "gate fails on alive_at_exit by default: %d\n%s" % (rc, out[-1500:]))
    rc, out = gate("omp", opts=["--no-default-suppressions",
                                "--fail-on=thread,timer,socket,fd,unjoined,stuck"])
    check(rc == 0, "--fail-on without alive_at_exit: %d\n%s" % (rc, out[-1500:]))
    rc, out = gate("lazy_pool", ["private", tempfile.mkdtemp(prefix="lw-verdict-")],
                   opts=["--fail-on=thread,timer,socket,fd,unjoined,stuck"])
    check(rc == 1, "a leaked pool still fails without alive_at_exit: %d\n%s" % (rc, out[-1500:]))


@test
def runtime_pools_clean_with_default_suppressions():
    for prog in ("omp", "glib_pool", "uv_pool"):
        rc, out = gate(prog)
        check(rc == 0, "%s: gate rc %d\n%s" % (prog, rc, out[-2000:]))
        _, d, _ = run_prog(prog, [], at_exit=True)
        rep, p = diff(*exit_pair(d))
        check(not rep["new"], "%s: %s" % (prog, p.stdout[:1500]))
        # libuv joins its threadpool in a destructor that now runs before the
        # exit snapshot: nothing left to suppress. Whatever is still alive
        # at exit must have been hidden by a default entry that says so.
        alive = [t for t in snap(exit_pair(d)[1])["threads"]
                 if t["kind"] == "tracked" and t["state"] != "exited"]
        used = [s for s in rep.get("suppressions", []) if "(default: " in s["pattern"] and s["hits"] > 0]
        check(used or not alive, "%s: %d threads alive at exit, the default suppression that matched is "
              "not listed: %s" % (prog, len(alive), rep.get("suppressions")))
        check(prog == "uv_pool" or alive, "%s: no runtime thread alive at exit to test with" % prog)


# --------------------------------------------------------- reports, show
@test
def diff_of_two_programs_warns():
    _, d1, _ = run_prog("epoll_server", ["stopped"])
    _, d2, _ = run_prog("timerfd_poller", [])
    rep, p = diff(live(d1), live(d2))
    check(any("different programs" in w for w in rep.get("warnings", [])),
          "no warning: %s" % rep.get("warnings"))


@test
def show_lists_sockets_and_names():
    f, d, _ = run_prog("epoll_server", ["leaky"])
    p = subprocess.run([SHOW, live(d)], env=env(), capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, p.stderr)
    first = p.stdout.splitlines()[0]
    # the program's own: the listener; the epoll set and the stop eventfd
    check("1 socket, 2 other fds" in first, first)
    check("fd %s tcp" % f["listen_fd"][0] in p.stdout and "epoll instance" in p.stdout, p.stdout)
    t = subprocess.run([SHOW, "--tree", live(d)], env=env(), capture_output=True, text=True,
                       timeout=60).stdout
    check("scope ended" in t and "cancelled" not in t, t)


def main():
    global passed, failed
    for t in TESTS:
        start = time.time()
        try:
            t()
            passed += 1
            print("PASS %s (%.1fs)" % (t.__name__, time.time() - start))
        except Fail as e:
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e))
        except Exception as e:  # a crash of the driver is a failure too
            failed += 1
            print("FAIL %s: %r" % (t.__name__, e))
    print("e2e-verdict: %d passed, %d failed" % (passed, failed))
    res = os.environ.get("LW_RESULTS")
    if res:
        os.makedirs(res, exist_ok=True)
        with open(os.path.join(res, "test-e2e-verdict"), "w") as fh:
            fh.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
