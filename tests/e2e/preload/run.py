#!/usr/bin/env python3
"""End-to-end tests of build/libleakwatch.so: real programs (C, C++,
/usr/bin/python3) run under the preload; assertions on their snapshots.
Every snapshot produced is validated against docs/snapshot.schema.json.
Writes "PASSED FAILED" to --results; exit status 1 on any failure."""
import argparse, glob, json, os, shutil, signal, stat, subprocess, sys, tempfile, time, traceback

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--schema", required=True)
ap.add_argument("--results")
ap.add_argument("only", nargs="*")
A = ap.parse_args()
LIB = os.path.abspath(A.lib)
BIN = os.path.abspath(A.bin)
FIX = os.path.join(BIN, "fix")
TMP = tempfile.mkdtemp(prefix="lw-e2e-preload-")

try:
    import jsonschema
    VALIDATOR = jsonschema.Draft202012Validator(json.load(open(A.schema)))
except ImportError:  # python3-jsonschema missing: say so and fail once
    VALIDATOR = None

passed = failed = 0
validated = []


class Fail(Exception):
    pass


# since_ns is read from CLOCK_MONOTONIC_COARSE, which lags the precise clock
# by up to a tick (4 ms at HZ=250; more when a busy VM delays ticks): a
# deadline wait's timeout_ns (deadline - since_ns) may exceed the caller's
# timeout by that much (docs/snapshot-format.md)
COARSE_LAG = 20_000_000


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run(args, opts="", env_extra=None, timeout=60, preload=True, **kw):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = LIB
        env["LEAKWATCH_OPTIONS"] = opts
    if env_extra:
        env.update(env_extra)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=kw.pop("cwd", TMP), **kw)


def load(path, sample=None):
    """Parse and schema-validate a snapshot. sample=N validates a copy with
    only N threads (jsonschema needs ~40 s for 10,000 threads)."""
    check(os.path.exists(path), f"snapshot {path} not written")
    with open(path) as f:
        d = json.load(f)
    validated.append(path)
    if VALIDATOR is not None:
        v = dict(d, threads=d["threads"][:sample]) if sample else d
        errs = sorted(VALIDATOR.iter_errors(v), key=lambda e: list(e.path))
        check(not errs, f"{path}: schema: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in errs[:3]))
    return d


def symbols(binary):
    """name -> (start, end) of function symbols, as file offsets (nm -S)."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True,
                         text=True).stdout
    syms = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwW":
            a, n = int(p[0], 16), int(p[1], 16)
            syms[p[3]] = (a, a + n)
    return syms


def fix_snapshot(mode, name):
    """Run the fixture in MODE; it writes one API snapshot to NAME.json.
    Returns (snapshot, the fixture's symbols, where the file is)."""
    s = f"{TMP}/{name}.json"
    r = run([FIX, mode, s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    return load(s), symbols(FIX), s


def frame_in(d, frame, binary, fn, syms, ret=True):
    """frame lies in fn; ret: a return address may sit just past its end"""
    if not frame or frame["module"] < 0:
        return False
    m = d["modules"][frame["module"]]
    if os.path.realpath(m["path"]) != os.path.realpath(binary):
        return False
    lo, hi = syms[fn]
    return lo <= frame["offset"] < hi + (1 if ret else 0)


def stack_has(d, idx, binary, fn, syms):
    return idx is not None and any(frame_in(d, f, binary, fn, syms) for f in d["stacks"][idx])


def by_start(d, binary, fn, syms):
    return [t for t in d["threads"] if frame_in(d, t["start_routine"], binary, fn, syms, False)]


def ctx(d, cid):
    for c in d["contexts"]:
        if c["id"] == cid:
            return c
    return None


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------- scenarios

@test
def chain():
    s1, s2 = f"{TMP}/chain1.json", f"{TMP}/chain2.json"
    r = run([FIX, "chain", s1, s2], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d1, d2 = load(s1), load(s2)
    syms = symbols(FIX)
    polls = by_start(d2, FIX, "poller_main", syms)
    check(len(polls) == 1, f"one poller expected, got {len(polls)}")
    p = polls[0]
    check(p["kind"] == "tracked" and p["state"] == "blocked", f"poller state {p['state']}")
    check(p["blocked"]["call"] == "nanosleep" and p["blocked"]["family"] == "sleep",
          f"blocked call {p['blocked']['call']}")
    check(p["blocked"]["source"] == "intercepted", "source")
    check(p["blocked"]["caller"] and frame_in(d2, p["blocked"]["caller"], FIX, "poller_main", syms),
          "blocked caller is poller_main")
    check(stack_has(d2, p["blocked"]["stack"], FIX, "poller_main", syms), "blocked stack")
    check(stack_has(d2, p["creation_stack"], FIX, "worker_main", syms),
          "creation stack contains worker_main")
    # creator chain: poller ctx -> worker ctx -> request ctx -> root
    c = ctx(d2, p["context"])
    check(c and c["cause"] == "exited" and c["cancelled_ns"], f"poller context {c}")
    w = ctx(d2, c["parent"])
    check(w and frame_in(d2, w["owner_start"], FIX, "worker_main", syms, False),
          "parent is worker's")
    check(w["owner_tid"] == p["creator_tid"], "worker context owner = creator tid")
    check(c["cancel_origin"] == w["id"], "cancellation came from the worker's scope")
    rq = ctx(d2, w["parent"])
    check(rq and frame_in(d2, rq["owner_start"], FIX, "request_main", syms, False),
          "request context")
    check(rq["parent"] == 1 and ctx(d2, 1)["kind"] == "root", "chain ends at the root")
    check(ctx(d2, 1)["cancelled_ns"] is None, "root live while running")
    p1 = by_start(d1, FIX, "poller_main", syms)[0]
    check(p["wakes_since_cancel"] > p1["wakes_since_cancel"] > 0,
          f"wakes grow {p1['wakes_since_cancel']} -> {p['wakes_since_cancel']}")
    st = by_start(d2, FIX, "stuck_main", syms)
    check(len(st) == 1 and st[0]["blocked"]["call"] == "pthread_cond_wait", "stuck in cond wait")
    check(st[0]["blocked"]["family"] == "cond" and st[0]["blocked"]["object"], "cond object")
    check(st[0]["blocked"]["object_owner"] == st[0]["context"],
          "static cond owned by its first waiter's context")
    main = [t for t in d2["threads"] if t["kind"] == "main"]
    check(len(main) == 1 and main[0]["tid"] == d2["pid"], "main thread listed")
    # the request and worker threads were joined: gone
    check(not by_start(d2, FIX, "request_main", syms), "joined request thread not listed")
    check(not [t for t in d2["threads"] if t["name"] == "leakwatch"], "writer thread hidden")


@test
def lifecycle():
    d, syms, s = fix_snapshot("lifecycle", "life")
    nc = by_start(d, FIX, "nocancel_main", syms)
    check(len(nc) == 1 and nc[0]["state"] != "exited", "cancel target still alive")
    check(nc[0]["cancel_requested_ns"], "cancel_requested_ns set")
    check(ctx(d, nc[0]["context"])["cause"] == "pthread_cancel", "cause pthread_cancel")
    q = by_start(d, FIX, "quick_main", syms)
    check(len(q) == 1, f"only the never-joined quick thread listed, got {len(q)}")
    check(q[0]["state"] == "exited" and q[0]["exit"] == "return" and not q[0]["joined"]
          and not q[0]["detached"] and q[0]["exited_ns"], f"unjoined record {q[0]}")
    check(ctx(d, q[0]["context"])["cause"] == "exited", "exited thread's context cancelled")
    check(not by_start(d, FIX, "exit_main", syms), "joined pthread_exit thread gone")
    check(not by_start(d, FIX, "cancelme_main", syms), "cancelled+joined thread gone")
    check(not by_start(d, FIX, "condcancel_main", syms), "cancelled in cond wait, joined: gone")
    check(d["stats"]["threads_created"] == 7, f"created {d['stats']['threads_created']}")


@test
def cxx_wait_for():
    s = f"{TMP}/cxx.json"
    r = run([os.path.join(BIN, "cxx"), s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    t = [t for t in d["threads"] if t["kind"] == "tracked"]
    check(len(t) == 1, "one std::thread")
    b = t[0]["blocked"]
    check(b and b["family"] == "cond" and b["call"] in (
        "pthread_cond_clockwait", "pthread_cond_timedwait"), f"blocked {b}")
    check(b["timeout_ns"] is not None and 0 < b["timeout_ns"] <= 20_000_000 + COARSE_LAG,
          f"timeout recorded: {b['timeout_ns']}")


@test
def python_threading():
    s = f"{TMP}/py.json"
    r = run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "py_threads.py"), s],
            "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    tr = [t for t in d["threads"] if t["kind"] == "tracked" and t["state"] != "exited"]
    check(len(tr) >= 1, "python poller thread tracked")
    p = [t for t in tr if t["name"] == "py-poller"] or tr
    b = p[0]["blocked"]
    check(b and b["family"] in ("sem", "cond", "futex", "sleep"), f"poller blocked {b}")
    # deadline waits record the deadline; the snapshot reports deadline -
    # since_ns, and since_ns (coarse clock) lags the true start by a tick or
    # so (COARSE_LAG): Event.wait(0.05) is sem_clockwait(CLOCK_MONOTONIC);
    # the GIL waits 5 ms on a monotonic condattr (a wrong clock gives 0 or
    # a huge value)
    to = b["timeout_ns"]
    if b["call"] in ("sem_clockwait", "sem_timedwait"):
        check(to is not None and 0 < to <= 50e6 + COARSE_LAG, f"Event.wait(0.05) timeout {to}")
    elif b["call"] == "pthread_cond_timedwait":
        check(to is not None and 0 <= to <= 5e6 + COARSE_LAG, f"GIL wait timeout {to}")
    c = ctx(d, p[0]["context"])
    check(c["cause"] == "exited", "python request thread's exit cancelled the poller's scope")


@test
def fork_child():
    s = f"{TMP}/fork-%p.json"
    r = run([FIX, "fork", s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stdout} {r.stderr}")
    child = int(r.stdout.split()[1])
    d = load(s.replace("%p", str(child)))
    check(d["pid"] == child, "child pid")
    live = [t for t in d["threads"] if t["state"] != "exited"]
    check(len(live) == 1 and live[0]["tid"] == child, f"child has one thread: {live}")


@test
def exec_keeps_preload():
    s = f"{TMP}/exec.json"
    r = run([FIX, "exec", s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    check("execd" in d["cmdline"], "snapshot from the exec'd image")
    check(len([t for t in d["threads"] if t["kind"] == "tracked"]) == 1,
          "exec'd image tracks its own thread only")


@test
def dlopen_thread():
    s = f"{TMP}/dl.json"
    lib = os.path.join(BIN, "libdl_fixture.so")
    r = run([FIX, "dlopen", lib, s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    syms = symbols(lib)
    t = by_start(d, lib, "lw_fixture_thread", syms)
    check(len(t) == 1 and t[0]["blocked"]["call"] == "sleep", "dlopened library's thread")


@test
def early_constructor_thread():
    s = f"{TMP}/early.json"
    r = run([os.path.join(BIN, "early"), s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    others = [t for t in d["threads"] if t["kind"] in ("tracked", "foreign")]
    check(len(others) == 1, f"constructor thread listed once: {others}")


@test
def many_threads():
    import resource
    s = f"{TMP}/many.json"
    n = 10000
    # a machine that cannot run 10,000 threads at all gets as many as it can
    limits = [int(open("/proc/sys/kernel/threads-max").read())]
    soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    room = min(limits)
    if room < n * 2:
        n = max(100, room // 2)
        print(f"    only {n} threads: RLIMIT_NPROC/threads-max allow {room}")
    r = run([FIX, "many", str(n), s], "at_exit=0", timeout=120)
    if r.returncode == 2 and "only" in r.stderr:
        raise Fail(f"could not create {n} threads here: {r.stderr.strip()}")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s, sample=300)
    tr = [t for t in d["threads"] if t["kind"] == "tracked"]
    check(len(tr) == n, f"{len(tr)} tracked")
    odd = [(t["state"], t["blocked"] and t["blocked"]["call"]) for t in tr
           if not (t["blocked"] and t["blocked"]["call"] == "pthread_barrier_wait")]
    check(not odd, f"all blocked on the barrier: {len(odd)} not, e.g. {odd[:5]}")
    ms = float(r.stdout.split()[1])
    print(f"    10k-thread snapshot took {ms:.0f} ms, {os.path.getsize(s)//1024} KiB")
    check(ms < 2000, f"snapshot of 10k threads took {ms} ms")


@test
def uncaught_waits_from_proc():
    d, syms, s = fix_snapshot("uncaught", "uncaught")
    p = by_start(d, FIX, "pauser_main", syms)
    check(len(p) == 1 and p[0]["state"] == "blocked", f"pauser {p}")
    b = p[0]["blocked"]
    check(b["source"] == "proc" and b["call"] in ("pause", "rt_sigsuspend"), f"blocked {b}")
    check(p[0]["proc"]["state"] in "SD" and p[0]["proc"]["syscall"] is not None, "proc read")
    if os.uname().machine == "x86_64":
        f = [t for t in d["threads"] if t["kind"] == "foreign"]
        check(len(f) == 1, f"raw clone thread is foreign: {len(f)}")
        check(f[0]["state"] == "blocked" and f[0]["blocked"]["call"] == "nanosleep"
              and f[0]["blocked"]["source"] == "proc" and f[0]["context"] is None,
              f"foreign {f[0]}")


@test
def wait_families():
    d, syms, s = fix_snapshot("waits", "waits")
    one = lambda fn: (by_start(d, FIX, fn, syms) or [None])[0]
    locker = one("locker_main")
    check(locker is None, "the joined locker is gone")
    mw = one("mutex_waiter_main")["blocked"]
    check(mw["call"] == "pthread_mutex_lock" and mw["family"] == "mutex", f"mutex {mw}")
    check(mw["holder_tid"] and not [t for t in d["threads"] if t["tid"] == mw["holder_tid"]],
          f"holder {mw['holder_tid']} recorded and gone (stuck)")
    check(mw["object_owner"] == one("mutex_waiter_main")["context"],
          "static mutex owned by its first waiter (resolved at snapshot time)")
    fx = one("futex_main")["blocked"]
    check(fx["call"] == "futex" and fx["family"] == "futex" and fx["object"], f"futex {fx}")
    check(fx["object_owner"] == one("futex_main")["context"], "futex word owned by first waiter")
    sm = one("sem_main")
    check(sm["blocked"]["call"] == "sem_wait" and sm["blocked"]["family"] == "sem", "sem")
    check(sm["blocked"]["object_owner"] == 1, "sem_init in main: owned by the root")
    rw = one("rw_main")["blocked"]
    check(rw["call"] == "pthread_rwlock_wrlock" and rw["family"] == "rwlock", f"rwlock {rw}")
    # the lock waits began ~300 ms before the snapshot (recorded when the
    # trylock failed), not at the snapshot
    now = d["taken_at"]["monotonic_ns"]
    for b in (mw, rw):
        check(b["object"] and 150e6 <= now - b["since_ns"] <= 60e9,
              f"{b['call']} began {(now - b['since_ns']) / 1e6:.1f} ms before the snapshot")
    jn = one("joiner_main")["blocked"]
    check(jn["call"] == "pthread_join" and jn["family"] == "join"
          and jn["join_target_tid"] == sm["tid"], f"join {jn}")
    for t in d["threads"]:
        b = t["blocked"]
        if b and b["source"] == "intercepted":
            check(b["caller"] and b["caller"]["module"] >= 0, "caller recorded")
            check(b["stack"] is not None, f"blocked stack for {b['call']}")


@test
def mutex_deadlock():
    # an ABBA deadlock on two mutexes: each thread is blocked on the lock the
    # other holds, and the analyzer calls both stuck
    d, syms, s = fix_snapshot("deadlock", "deadlock")
    ab, ba = by_start(d, FIX, "ab_main", syms), by_start(d, FIX, "ba_main", syms)
    check(len(ab) == 1 and len(ba) == 1, "both threads listed")
    ab, ba = ab[0], ba[0]
    for t, other in ((ab, ba), (ba, ab)):
        b = t["blocked"]
        check(t["state"] == "blocked" and b and b["call"] == "pthread_mutex_lock"
              and b["source"] == "intercepted", f"{t['tid']} blocked {b}")
        check(b["holder_tid"] == other["tid"], f"{t['tid']} waits for {b['holder_tid']}")
        check(b["caller"] and b["stack"] is not None, "caller frame recorded")
    check(ab["blocked"]["object"] != ba["blocked"]["object"], "two different mutexes")
    show = subprocess.run([os.path.join(os.path.dirname(LIB), "leakwatch-show"), "--grace=0", s],
                          capture_output=True, text=True, timeout=60)
    check(show.stdout.count("stuck") >= 2, f"both stuck:\n{show.stdout}{show.stderr}")


@test
def exit_grace():
    syms = symbols(FIX)
    d1 = f"{TMP}/grace1"
    os.mkdir(d1)
    r = run([FIX, "grace"], f"output={d1}/x.json:exit_grace_ms=1000", timeout=30)
    check(r.returncode == 0, f"exit {r.returncode}")
    d = load(f"{d1}/x.json")
    check(not by_start(d, FIX, "finishing_main", syms), "finishing thread waited for")
    p = by_start(d, FIX, "poller_main", syms)
    check(len(p) == 1 and p[0]["state"] == "blocked", "poller still alive at exit")
    check(ctx(d, p[0]["context"])["cause"] == "process_exit", "root cancelled at exit")
    d2 = f"{TMP}/grace0"
    os.mkdir(d2)
    run([FIX, "grace"], f"output={d2}/x.json:exit_grace_ms=0", timeout=30)
    d = load(f"{d2}/x.json")
    f = by_start(d, FIX, "finishing_main", syms)
    check(len(f) == 1 and f[0]["state"] != "exited", "no grace: still running")


@test
def churn_consistent():
    s = f"{TMP}/churn.json"
    r = run([FIX, "churn", "3000", s], "at_exit=0", timeout=120)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    left = [t for t in d["threads"] if t["kind"] == "tracked"]
    check(not left, f"{len(left)} records left after joins/detaches: {left[:2]}")
    check(d["stats"]["threads_created"] == 2 + 4 * 3000, f"created {d['stats']}")
    check(d["stats"]["threads_live"] == 1, f"live {d['stats']}")
    check(d["stats"]["contexts_live"] == 1, f"contexts recycled: {d['stats']}")


@test
def split_waits_unchanged():
    # waits split to complete their blocked stack (blocked > 100 ms at a
    # new call site: docs/design.md §3.6) give the same results, errno,
    # wake-ups, timeouts and sleep remainders as without leakwatch
    split = os.path.join(BIN, "split")
    plain = run([split], preload=False, timeout=60)
    lw = run([split], "at_exit=0", timeout=60)
    check(plain.returncode == 0 and lw.returncode == 0, f"both runs succeed: {lw.stderr}")
    check(plain.stdout == lw.stdout, "output differs:\n--- plain\n" + plain.stdout +
          "--- leakwatch\n" + lw.stdout)
    check(plain.stdout.count("\n") == 13 and "NO" not in plain.stdout,
          f"every case ran and held:\n{plain.stdout}")


@test
def split_waits_complete_stacks():
    # six threads blocked 400 ms in their first wait (sem, cond, futex,
    # sleep, join, mutex): each blocked stack is complete — it reaches the
    # waiting function's caller snap_main — the cond wait's spurious return
    # is not counted as a wake-up and its start time is kept
    split = os.path.join(BIN, "split")
    s = f"{TMP}/split.json"
    r = run([split, s], "at_exit=0", timeout=60)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d, syms = load(s), symbols(split)
    now = d["taken_at"]["monotonic_ns"]
    want = {"sem_wait": "wait_sem", "pthread_cond_wait": "wait_cond", "futex": "wait_futex",
            "nanosleep": "wait_sleep", "pthread_join": "wait_join",
            "pthread_mutex_lock": "wait_lock"}
    seen = set()
    for t in d["threads"]:
        b = t["blocked"]
        if not b or b["call"] not in want or not stack_has(d, b["stack"], split, "snap_main", syms):
            continue
        fn = want[b["call"]]
        check(frame_in(d, d["stacks"][b["stack"]][0], split, fn, syms),
              f"{b['call']}: the stack starts in {fn}")
        check(t["waits"] == 1 and t["wakes_since_cancel"] == 0, f"{b['call']}: one wait {t}")
        check(now - b["since_ns"] >= 300e6, f"{b['call']}: blocked since the first wait")
        seen.add(b["call"])
    check(seen == set(want), f"complete stacks for {sorted(seen)}, want {sorted(want)}")


@test
def split_io_unchanged():
    # the calls split_io.c splits at their first wait (docs/design.md
    # §3.6) give the same results, errno, data, fd sets, select's time
    # left, timeouts (at least as long, not twice) and EINTR (a handler
    # without SA_RESTART in the first part ends poll and a blocking read;
    # one with SA_RESTART keeps the read blocked until the data) as a
    # plain run
    prog = os.path.join(BIN, "split_io")
    plain = run([prog], preload=False, timeout=60)
    lw = run([prog], "at_exit=0", timeout=60)
    check(plain.returncode == 0 and lw.returncode == 0, f"both runs succeed: {lw.stderr}")
    check(plain.stdout == lw.stdout, "output differs:\n--- plain\n" + plain.stdout +
          "--- leakwatch\n" + lw.stdout)
    check(plain.stdout.count("\n") == 42 and "NO" not in plain.stdout,
          f"every case ran and held:\n{plain.stdout}")


@test
def split_io_complete_stacks():
    # a thread blocked 600 ms in its first wait in each newly split call:
    # its blocked stack is complete, from the waiting function down to
    # snap_main, two frames below the wait
    prog = os.path.join(BIN, "split_io")
    s = f"{TMP}/split_io.json"
    r = run([prog, s], "at_exit=0", timeout=60)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d, syms = load(s), symbols(prog)
    want = {  # the call: the fixture's function that makes it
        "pthread_rwlock_rdlock": "wait_rdlock",
        "pthread_rwlock_wrlock": "wait_wrlock",
        "sleep": "wait_sleep",
        "usleep": "wait_usleep",
        "poll": "wait_poll",
        "ppoll": "wait_ppoll",
        "select": "wait_select",
        "pselect": "wait_pselect",
        "epoll_wait": "wait_epoll",
        "epoll_pwait": "wait_epoll_p",
        "epoll_pwait2": "wait_epoll_p2",
        "read": "wait_read",
        "recv": "wait_recv",
        "recvfrom": "wait_recvfrom",
        "recvmsg": "wait_recvmsg",
        "accept": "wait_accept",
        "accept4": "wait_accept4",
    }
    seen, partial = set(), []
    for t in d["threads"]:
        b = t["blocked"]
        if not b or b["call"] not in want or not frame_in(d, t["start_routine"], prog,
                                                          "snap_main", syms, False):
            continue
        fn = want[b["call"]]
        st = d["stacks"][b["stack"]]
        check(frame_in(d, st[0], prog, fn, syms), f"{b['call']}: the stack starts in {fn}")
        if stack_has(d, b["stack"], prog, "snap_main", syms):
            seen.add(b["call"])
        else:
            partial.append(b["call"])
    check(seen == set(want), f"complete stacks for {sorted(seen)}; partial: {partial}; "
          f"missing: {sorted(set(want) - seen - set(partial))}")


@test
def errno_and_results_unchanged():
    plain = run([FIX, "errno"], preload=False)
    lw = run([FIX, "errno"], "at_exit=0")
    check(plain.returncode == 0 and lw.returncode == 0, "both runs succeed")
    check(plain.stdout == lw.stdout, "output differs:\n--- plain\n" + plain.stdout +
          "--- leakwatch\n" + lw.stdout)
    check("ETIMEDOUT" in plain.stdout or "timed out" in plain.stdout, "test covers timeouts")


@test
def file_safety():
    d = f"{TMP}/safe"
    os.mkdir(d)
    # existing file: never overwritten
    with open(f"{d}/exists.json", "w") as f:
        f.write("keep")
    r = run([FIX, "sleep", "0"], f"output={d}/exists.json")
    check(open(f"{d}/exists.json").read() == "keep", "existing file overwritten")
    check(r.returncode == 0 and r.stderr.count("leakwatch[") == 1, f"one message: {r.stderr}")
    # symlink at the target: not followed
    os.symlink(f"{d}/victim", f"{d}/link.json")
    r = run([FIX, "sleep", "0"], f"output={d}/link.json")
    check(not os.path.exists(f"{d}/victim") and os.path.islink(f"{d}/link.json"),
          "wrote through a symlink")
    # bad directory: one message, status unchanged
    r = run([FIX, "sleep", "0"], "output=/nonexistent/dir/x.json")
    check(r.returncode == 0 and r.stderr.count("leakwatch[") == 1, f"bad dir: {r.stderr}")
    # mode 0600, relative path resolved against the starting cwd
    r = run([FIX, "sleep", "0"], "output=rel-%p.json", cwd=d)
    files = glob.glob(f"{d}/rel-*.json")
    check(len(files) == 1, "relative output")
    check(stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600, "mode 0600")
    check(not glob.glob(f"{d}/.*tmp*"), "temporary files left behind")
    dd = load(files[0])
    check(dd["trigger"] == "exit" and ctx(dd, 1)["cause"] == "process_exit", "exit snapshot")


@test
def file_size_limit():
    import resource
    d = f"{TMP}/fsize"
    os.mkdir(d)

    def lim():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    r = run([FIX, "chain", f"{d}/a.json", f"{d}/b.json"], f"output={d}/exit.json",
            preexec_fn=lim)
    check(r.returncode == 0, f"status unchanged under RLIMIT_FSIZE (rc {r.returncode})")
    msgs = [l for l in r.stderr.splitlines() if l.startswith("leakwatch[")]
    check(len(msgs) == 1 and "File too large" in msgs[0], f"one message: {r.stderr}")
    check(not os.listdir(d), f"no partial files: {os.listdir(d)}")


@test
def signal_and_interval_triggers():
    d = f"{TMP}/sig"
    os.mkdir(d)
    p = subprocess.Popen([FIX, "sleep", "3000"], cwd=d, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, LD_PRELOAD=LIB,
                                  LEAKWATCH_OPTIONS=f"output={d}/s-%n.json:at_exit=0:at_start=1:interval_ms=200"))
    try:
        check(p.stdout.readline().strip() == "ready", "fixture ready")
        os.kill(p.pid, signal.SIGUSR2)
        deadline = time.time() + 5
        trig = set()
        while time.time() < deadline and not {"start", "signal", "interval"} <= trig:
            time.sleep(0.1)
            for f in glob.glob(f"{d}/s-*.json"):
                try:
                    trig.add(json.load(open(f))["trigger"])
                except (ValueError, OSError):
                    pass
        check({"start", "signal", "interval"} <= trig, f"triggers seen {trig}")
    finally:
        p.kill()
        p.wait()
    for f in glob.glob(f"{d}/s-*.json"):
        load(f)


@test
def interval_keep_bounds_files():
    """interval_keep=3 keeps the newest three interval snapshots; start and
    exit snapshots stay, and a file the user put in place of an old snapshot
    (same name, another inode) is never removed."""
    d = f"{TMP}/keep"
    os.mkdir(d)
    p = subprocess.Popen([FIX, "sleep", "1500"], cwd=d, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, LD_PRELOAD=LIB, LEAKWATCH_OPTIONS=(
                             f"output={d}/s-%n.json:at_start=1:at_exit=1:interval_ms=50:interval_keep=3")))
    try:
        check(p.stdout.readline().strip() == "ready", "fixture ready")
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(f"{d}/s-2.json"):
            time.sleep(0.01)
        check(os.path.exists(f"{d}/s-2.json"), "first interval snapshot")
        with open(f"{d}/user.tmp", "w") as f:
            f.write("the user's own file\n")
        os.replace(f"{d}/user.tmp", f"{d}/s-2.json")
        check(p.wait(timeout=30) == 0, "fixture exit status")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    trig = {}
    for f in glob.glob(f"{d}/s-*.json"):
        if os.path.basename(f) == "s-2.json":
            continue
        trig[int(f.split("-")[-1][:-5])] = load(f)["trigger"]
    check(open(f"{d}/s-2.json").read() == "the user's own file\n", "the user's file was kept")
    iv = sorted(n for n, t in trig.items() if t == "interval")
    check(len(iv) == 3, f"interval snapshots kept: {iv}")
    last = max(trig)
    check(trig[last] == "exit" and trig.get(1) == "start", f"start and exit kept: {trig}")
    check(iv == [last - 3, last - 2, last - 1], f"the newest kept: {iv}, exit {last}")


@test
def sigterm_exit_snapshot():
    d = f"{TMP}/term"
    os.mkdir(d)
    p = subprocess.Popen([FIX, "sleep", "5000"], cwd=d, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, LD_PRELOAD=LIB,
                                  LEAKWATCH_OPTIONS=f"output={d}/t.json:exit_grace_ms=100"))
    check(p.stdout.readline().strip() == "ready", "fixture ready")
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=10)
    check(rc == -signal.SIGTERM, f"died of SIGTERM as without leakwatch (rc {rc})")
    dd = load(f"{d}/t.json")
    check(dd["trigger"] == "exit", "exit trigger")


@test
def program_handler_wins():
    plain = run([FIX, "sigown"], preload=False)
    r = run([FIX, "sigown"], "at_exit=0")
    check(r.returncode == 0 and r.stdout == plain.stdout, f"{r.stdout} vs {plain.stdout}")
    check("old: SIG_DFL" in r.stdout, "old action reported as SIG_DFL, not leakwatch's")
    check(r.stderr.count("own handler") == 1, f"says so once: {r.stderr}")


@test
def verify_api():
    s = f"{TMP}/verify.json"
    r = run([FIX, "verify", s], "at_exit=0")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    d = load(s)
    syms = symbols(FIX)
    fe = by_start(d, FIX, "forever_main", syms)
    check(len(fe) == 2, f"two forever threads: {len(fe)}")
    cs = sorted((ctx(d, t["context"]) for t in fe), key=lambda c: c["background"])
    leaky = ctx(d, cs[0]["parent"])
    check(leaky["kind"] == "explicit" and leaky["label"] == "test_leaky"
          and leaky["cause"] == "explicit", f"explicit context {leaky}")
    check(cs[0]["cause"] == "explicit" and cs[0]["cancel_origin"] == leaky["id"],
          "explicit cancel reached the thread's context")
    check(cs[1]["background"] and cs[1]["parent"] == 1 and cs[1]["cancelled_ns"] is None,
          f"LEAKWATCH_BACKGROUND thread under the root: {cs[1]}")
    check("active 1 verify_none 0 verify_ctx leaky 1 clean 0" in r.stdout, r.stdout)
    check("test_leaky" in r.stderr and "pthread_cond_wait" in r.stderr, f"report: {r.stderr}")
    check("SUMMARY" in r.stderr and "pthread_create" not in r.stderr,
          f"creation stack starts in the program: {r.stderr}")
    plain = run([FIX, "verify"], preload=False)
    check("active 0 verify_none 0 verify_ctx leaky 0 clean 0" in plain.stdout,
          "no-op without the preload: " + plain.stdout)
    off = run([os.path.join(BIN, "fix_disabled"), "verify"], "at_exit=0")
    check("active 0 verify_none 0 verify_ctx leaky 0 clean 0" in off.stdout,
          "LEAKWATCH_DISABLE compiles the API out: " + off.stdout)


@test
def options_bad_and_help():
    r = run([FIX, "sleep", "0"], "bogus=1:at_exit=maybe:stack_depth=999:at_exit=0")
    lines = [l for l in r.stderr.splitlines() if l.startswith("leakwatch[")]
    check(r.returncode == 0 and len(lines) == 3, f"three messages: {r.stderr}")
    check(not glob.glob(f"{TMP}/leakwatch-{0}*"), "")
    r = run([FIX, "sleep", "0"], "help=1:at_exit=0")
    check("exit_grace_ms" in r.stderr and "stack_depth" in r.stderr, "help lists options")


@test
def exported_symbols():
    out = subprocess.run(["nm", "-D", "--defined-only", LIB], capture_output=True,
                         text=True).stdout
    names = {l.split()[-1] for l in out.splitlines() if l.strip()}
    mine = {
        "leakwatch_api_v1", "pthread_create", "pthread_exit", "pthread_join",
        "pthread_tryjoin_np", "pthread_timedjoin_np", "pthread_clockjoin_np", "pthread_detach",
        "pthread_cancel", "pthread_setname_np", "pthread_cond_init", "pthread_cond_destroy",
        "pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait",
        "pthread_cond_signal", "pthread_cond_broadcast", "sem_post",
        "pthread_mutex_init", "pthread_mutex_destroy", "pthread_mutex_lock",
        "pthread_mutex_timedlock", "pthread_mutex_clocklock", "pthread_rwlock_init",
        "pthread_rwlock_destroy", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
        "pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock",
        "pthread_rwlock_clockrdlock", "pthread_rwlock_clockwrlock", "pthread_barrier_init",
        "pthread_barrier_destroy", "pthread_barrier_wait", "sem_init", "sem_destroy",
        "sem_wait", "sem_timedwait", "sem_clockwait", "nanosleep", "clock_nanosleep",
        "usleep", "sleep", "syscall", "sigaction", "signal", "sigset",
        "unshare", "setns",
        # the snapshot signal stays blocked in program threads (hook_signal.c)
        "pthread_sigmask", "sigprocmask", "sigsuspend", "sigpending", "sigwait",
        "sigwaitinfo", "sigtimedwait", "signalfd",
        # an image without leakwatch gets the program's own mask (hook_exec.c)
        "execve", "execv", "execvp", "execvpe", "fexecve", "execl", "execle", "execlp",
        "posix_spawn", "posix_spawnp"}
    # names of the sockets/timers family (issue 5), exported by their hook files
    sockets = {
        "socket", "socketpair", "accept", "accept4", "connect", "close", "close_range", "closefrom", "fstat", "fstat64",
        "shutdown", "dup", "dup2", "dup3", "fcntl", "fcntl64", "ioctl", "pipe", "pipe2",
        "eventfd", "read", "readv", "recv", "recvfrom", "recvmsg", "recvmmsg", "write",
        "writev", "send", "sendto", "sendmsg", "poll", "ppoll", "select", "pselect",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
        "epoll_pwait2", "timer_create", "timer_settime", "timer_delete", "timer_getoverrun",
        "timerfd_create", "timerfd_settime", "alarm", "setitimer", "__poll_chk", "__ppoll_chk",
        "__read_chk", "__recv_chk", "__recvfrom_chk", "sendmmsg", "__readv_chk", "setsockopt"}
    check(mine <= names, f"missing exports: {sorted(mine - names)}")
    extra = names - mine - sockets
    check(not extra, f"unexpected exports: {sorted(extra)}")


# ---------------------------------------------------------------- driver

def main():
    global passed, failed
    if VALIDATOR is None:
        print("FAIL: python3-jsonschema is not installed (scripts/deps.sh installs it)")
        failed += 1
    for t in TESTS:
        if A.only and t.__name__ not in A.only:
            continue
        start = time.time()
        try:
            t()
            passed += 1
            print(f"PASS {t.__name__} ({time.time() - start:.1f}s)")
        except Fail as e:
            failed += 1
            print(f"FAIL {t.__name__}: {e}")
        except Exception:  # a crash in the driver is a failure, with its trace
            failed += 1
            print(f"FAIL {t.__name__}: exception")
            traceback.print_exc(limit=3)
    print(f"test-e2e-preload: {passed} passed, {failed} failed "
          f"({len(validated)} snapshots schema-validated)")
    if A.results:
        os.makedirs(os.path.dirname(A.results) or ".", exist_ok=True)
        with open(A.results, "w") as f:
            f.write(f"{passed} {failed}\n")
    if failed == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print(f"(files kept in {TMP})")
    return 1 if failed else 0


sys.exit(main())
