#!/usr/bin/env python3
"""Torture tests for build/libleakwatch.so (issue 7): real programs run
plain and under the preload; the host must observe the same output and exit
status, never hang (every run has a timeout), and every snapshot written
must be complete JSON with no temporary file left behind. Safe-output cases
(full/read-only tmpfs, odd and over-long option values, FIFOs, symlinked
temporaries) extend tests/e2e/preload/run.py's file_safety tests.

usage: run.py --lib LIB --bin DIR --diff LEAKWATCH-DIFF [--results FILE] [names...]
Writes "PASSED FAILED" to --results; exit status 1 on any failure."""
import argparse, glob, json, os, re, shutil, subprocess, sys, tempfile, time, traceback

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--diff", required=True)
ap.add_argument("--results")
ap.add_argument("--skip", action="append", default=[],
                help="scenario known to be flaky on a loaded machine (make test only)")
ap.add_argument("only", nargs="*")
A = ap.parse_args()
LIB = os.path.abspath(A.lib)
BIN = os.path.abspath(A.bin)
T = os.path.join(BIN, "torture")
DLLIB = os.path.join(BIN, "libtorture_dl.so")
DIFF = os.path.abspath(A.diff)
TMP = tempfile.mkdtemp(prefix="lw-torture-")
TIMEOUT = 20
passed = failed = skipped = 0


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def env_for(opts, preload=True, extra=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKWATCH_OPTIONS", None)
    if preload:
        env["LD_PRELOAD"] = LIB
        env["LEAKWATCH_OPTIONS"] = opts
    if extra:
        env.update(extra)
    return env


def run(args, opts="", preload=True, timeout=TIMEOUT, cwd=None, extra=None, **kw):
    try:
        return subprocess.run(args, env=env_for(opts, preload, extra), capture_output=True,
                              text=True, errors="replace", timeout=timeout, cwd=cwd or TMP, **kw)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(args)} hung (> {timeout} s, {'with' if preload else 'without'} leakwatch)")


def fresh(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def norm(out):
    return re.sub(r"pid=\d+", "pid=N", out)


def lw_lines(err):
    return [l for l in err.splitlines() if l.startswith("leakwatch[")]


def snapshots(d, exits_mid_write=False):
    """Every file in d must be a complete snapshot; no temporaries -- unless
    the processes leave through _exit while a signal snapshot may be being
    written (nothing can clean up then; the final name never appears)."""
    names = os.listdir(d)
    tmps = [n for n in names if ".tmp." in n]
    if exits_mid_write:
        names = [n for n in names if ".tmp." not in n]
    else:
        check(not tmps, f"temporary files left: {tmps[:3]}")
    out = []
    for n in sorted(names):
        p = os.path.join(d, n)
        if not n.endswith(".json") or not os.path.isfile(p):
            continue
        try:
            with open(p) as f:
                out.append((n, json.load(f)))
        except ValueError as e:
            raise Fail(f"{n}: not complete JSON ({e})")
    return out


def same_as_plain(args, opts, d, status=None, timeout=TIMEOUT):
    """Run plain and under leakwatch (snapshots to d); compare. Returns the
    leakwatch run."""
    plain = run(args, preload=False, timeout=timeout)
    lw = run(args, f"output={d}/s-%p-%n.json:" + opts, timeout=timeout)
    check(plain.returncode == lw.returncode,
          f"exit status {plain.returncode} plain vs {lw.returncode} under leakwatch: {lw.stderr[-400:]}")
    if status is not None:
        check(lw.returncode == status, f"exit status {lw.returncode}, expected {status}")
    check(norm(plain.stdout) == norm(lw.stdout),
          "output differs:\n--- plain\n" + plain.stdout + "--- leakwatch\n" + lw.stdout)
    return lw


def live(d):
    return [t for t in d["threads"] if t["state"] != "exited"]


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def has_unshare(flags):
    try:
        return subprocess.run(["unshare", *flags, "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ---------------------------------------------------------------- host lifecycle

@test
def churn_interval_and_sigusr2_storm():
    d = fresh("churn")
    same_as_plain([T, "churn", "1500"], "interval_ms=10", d, status=0)
    snaps = snapshots(d)
    trig = {}
    for _, s in snaps:
        trig[s["trigger"]] = trig.get(s["trigger"], 0) + 1
    print(f"    {len(snaps)} snapshots during churn: {trig}")
    check(trig.get("interval", 0) >= 20 and trig.get("signal", 0) >= 20 and trig.get("exit") == 1,
          f"triggers {trig}")
    for _, s in snaps:
        check(s["stats"]["threads_live"] >= 1, "stats")


@test
def snapshot_signal_during_fork():
    d = fresh("sigfork")
    lw = same_as_plain([T, "sigfork", "150", d], "at_exit=0", d, status=0)
    # children _exit right after their API snapshot, possibly while a
    # SIGUSR2 snapshot of theirs is half written: its temporary may remain
    kids = [s for n, s in snapshots(d, exits_mid_write=True) if n.startswith("child-")]
    check(len(kids) == 15, f"{len(kids)} child snapshots of 15")
    pids = {s["pid"] for s in kids}
    check(len(pids) == 15, "each child snapshot carries its own pid")
    for s in kids:
        check(len(live(s)) == 1 and live(s)[0]["tid"] == s["pid"],
              f"child {s['pid']}: live threads {[t['tid'] for t in live(s)]}")
        check(s["stats"]["threads_created"] >= 1, "thread created in the child is counted")
    del lw


@test
def snapshot_signal_during_thread_exit():
    d = fresh("sigexit")
    same_as_plain([T, "sigexit", "400"], "at_exit=1", d, status=0)
    snaps = snapshots(d)
    check(any(s["trigger"] == "signal" for _, s in snaps), "signal snapshots taken")
    ex = [s for _, s in snaps if s["trigger"] == "exit"]
    check(len(ex) == 1 and len(live(ex[0])) == 1, "at exit only main is live")


@test
def fork_from_threads_child_snapshot():
    d = fresh("forkmt")
    lw = same_as_plain([T, "forkmt", d], "at_exit=0", d, status=0)
    child = int(re.search(r"child pid=(\d+)", lw.stdout).group(1))
    snaps = dict(snapshots(d))
    s = snaps["child.json"]
    check(s["pid"] == child, f"child snapshot pid {s['pid']} != {child}")
    tids = sorted(t["tid"] for t in live(s))
    check(len(tids) == 2 and child in tids, f"child live threads {tids}: main + reader only")
    rd = [t for t in live(s) if t["tid"] != child][0]
    check(rd["state"] == "blocked" and rd["blocked"]["call"] == "read", f"reader {rd['blocked']}")
    check(rd["creator_tid"] == child, "reader created by the child's main thread")
    r = subprocess.run([DIFF, "--format=json", f"{d}/child.json"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(r.returncode in (0, 1), f"analyzer rejects the child snapshot: {r.stderr}")


@test
def fork_exec_chain():
    d = fresh("exec")
    same_as_plain([T, "execchain", "4"], "at_exit=1", d, status=14)
    snaps = [s for _, s in snapshots(d) if s["trigger"] == "exit"]
    levels = sorted(s["cmdline"][2] for s in snaps if s["cmdline"][1:2] == ["execchain"])
    check(levels == ["0", "1", "2", "3", "4"], f"exit snapshots per level: {levels}")
    check(len({s["pid"] for s in snaps}) == len(snaps), "one pid per level")


@test
def spawn_system_vfork():
    d = fresh("spawn")
    same_as_plain([T, "spawn"], "at_exit=1", d, status=0)
    mine = [s for _, s in snapshots(d) if s["cmdline"][1:2] == ["spawn"]]
    check(len(mine) == 1 and mine[0]["trigger"] == "exit", "one exit snapshot of the program")


@test
def daemon_child():
    d = fresh("daemon")
    for preload in (False, True):
        marker = os.path.join(d, f"marker-{int(preload)}")
        r = run([T, "daemon", marker], f"output={d}/s-%p.json:at_exit=1", preload=preload)
        check(r.returncode == 0, f"daemon parent status {r.returncode}")
        deadline = time.time() + 10
        while not os.path.exists(marker) and time.time() < deadline:
            time.sleep(0.02)
        check(os.path.exists(marker), "daemon never wrote its marker")
        if preload:
            dpid = int(open(marker).read())
            snap = f"{d}/s-{dpid}.json"
            while not os.path.exists(snap) and time.time() < deadline:
                time.sleep(0.02)
            s = dict(snapshots(d))
            check(f"s-{dpid}.json" in s, f"no exit snapshot from the daemon ({sorted(s)})")
            check(s[f"s-{dpid}.json"]["pid"] == dpid, "daemon snapshot pid")
            check(len(s) == 1, f"the parent (_exit in daemon()) wrote nothing: {sorted(s)}")


@test
def dlopen_constructor_threads():
    d = fresh("dlopen")
    lw = same_as_plain([T, "dlopen", DLLIB, "25", f"{d}/after.json"], "at_exit=0", d, status=0)
    check("25/25 pings" in lw.stdout and "still loaded" not in lw.stdout, lw.stdout)
    s = dict(snapshots(d))["after.json"]
    check(len(live(s)) == 1, f"library threads gone after dlclose: {len(live(s))} live")
    check(s["stats"]["threads_created"] >= 50, f"created {s['stats']['threads_created']}")
    r = subprocess.run([DIFF, f"{d}/after.json"], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode in (0, 1), f"analyzer on a snapshot of unloaded code: {r.returncode} {r.stderr}")


@test
def threads_from_atexit():
    d = fresh("atexit")
    same_as_plain([T, "atexit"], "at_exit=1", d, status=0)
    ex = [s for _, s in snapshots(d) if s["trigger"] == "exit"]
    check(len(ex) == 1, "exit snapshot written after the program's atexit handlers")


@test
def exit_races_running_threads():
    d = fresh("exitrace")
    for i in range(4):
        for how in ("exit", "exit-main"):
            same_as_plain([T, "exitpath", how], "at_exit=1", d, status=4)
    ex = [s for _, s in snapshots(d) if s["trigger"] == "exit"]
    check(len(ex) == 8, f"{len(ex)} exit snapshots of 8")


@test
def quick_exit_underscore_exit_abort():
    for how, st in (("quick_exit", 3), ("_exit", 9), ("abort", -6)):
        d = fresh("exit-" + how)
        same_as_plain([T, "exitpath", how], "at_exit=1", d, status=st)
        check(not os.listdir(d), f"{how}: files written {os.listdir(d)}")


@test
def main_thread_pthread_exit():
    # glibc ends the process when the last thread exits; our writer thread
    # must not be that thread (it hung as a zombie, deaf to SIGTERM)
    for opts in ("at_exit=1", "at_exit=1:interval_ms=10"):
        d = fresh("mainexit")
        t0 = time.monotonic()
        lw = same_as_plain([T, "mainexit"], opts, d, status=0, timeout=10)
        took = time.monotonic() - t0
        check("atexit handler ran" in lw.stdout and "late thread done" in lw.stdout, lw.stdout)
        ex = [s for _, s in snapshots(d) if s["trigger"] == "exit"]
        check(len(ex) == 1, f"{opts}: {len(ex)} exit snapshots")
        names = [t.get("name") for t in ex[0]["threads"]]
        check("leakwatch" not in names, f"{opts}: writer listed: {names}")
        check(not live(ex[0]), f"{opts}: live at exit: {live(ex[0])}")
        check(took < 8, f"{opts}: took {took:.1f} s")


@test
def tid_reuse():
    if not has_unshare(["-Urp", "--fork"]):
        raise Skip("unshare -Urp (user+pid namespace) not permitted here")
    d = fresh("tidreuse")
    args = ["unshare", "-Urp", "--fork", T, "tidreuse", d]
    r = run(args, f"output={d}/s.json:at_exit=0")
    check(r.returncode == 0, f"status {r.returncode}: {r.stderr}")
    check("joined tid reused 1, detached tid reused 1" in r.stdout, r.stdout)
    s = dict(snapshots(d))["tidreuse.json"]
    tids = [int(x) for x in re.findall(r"pid=(\d+)", r.stdout)]
    for tid in tids:
        recs = [t for t in live(s) if t["tid"] == tid]
        check(len(recs) == 1 and recs[0]["state"] == "blocked",
              f"tid {tid}: {len(recs)} live records {[t['state'] for t in recs]}")
    check(len({t["tid"] for t in live(s)}) == len(live(s)), "a tid is live once")
    r = subprocess.run([DIFF, f"{d}/tidreuse.json"], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode in (0, 1), f"analyzer on reused tids: {r.returncode} {r.stderr}")


# ---------------------------------------------------------------- semantics

@test
def cancellation_points_cancel():
    d = fresh("cancel")
    lw = same_as_plain([T, "cancel"], "at_exit=0", d, status=0)
    check(lw.stdout.count("canceled 1 cleanup 1") >= 18, lw.stdout)


# what torture_waits.c's eintr/restart modes print when a call never
# blocked, was not signalled, hung, or the snapshot signal interrupted it
WAIT_TROUBLE = re.compile(r"NOT BLOCKED|NOT HANDLED|NEITHER|STUCK|SNAPSHOT SIGNAL")


@test
def eintr_preserved():
    d = fresh("eintr")
    lw = same_as_plain([T, "eintr"], "at_exit=0", d, status=0)
    check(not WAIT_TROUBLE.search(lw.stdout) and lw.stdout.count("EINTR") >= 12, lw.stdout)


@test
def sa_restart_preserved():
    d = fresh("restart")
    lw = same_as_plain([T, "restart"], "at_exit=0", d, status=0)
    for call in ("read", "recv", "accept"):
        check(re.search(rf"^restart {call} +restarted ", lw.stdout, re.M), lw.stdout)
    # under leakwatch every call was also sent the snapshot signal (to the
    # process) and did not even wake (else "SNAPSHOT SIGNAL ...")
    check(not WAIT_TROUBLE.search(lw.stdout), lw.stdout)


@test
def timeouts_and_error_paths():
    d = fresh("timeouts")
    lw = same_as_plain([T, "timeouts"], "at_exit=0", d, status=0)
    check(lw.stdout.count("ETIMEDOUT") >= 6, lw.stdout)


@test
def program_signal_handlers():
    d = fresh("ownsig")
    lw = same_as_plain([T, "ownsig"], "at_exit=1", d, status=-15)
    check("NOT MINE" not in lw.stdout and "TERM 3" in lw.stdout, lw.stdout)
    check(len([l for l in lw_lines(lw.stderr) if "own handler" in l]) == 1, lw.stderr)


@test
def all_signals_blocked():
    # The program blocks every signal in every thread and sends itself
    # SIGINT, SIGTERM and the snapshot signal. INT and TERM stay pending as
    # without leakwatch; the snapshot signal is leakwatch's and is received
    # by its own thread, which no program mask reaches (docs/design.md
    # §3.5): a signal snapshot is written and nothing is left pending.
    d = fresh("blockall")
    plain = run([T, "blockall"], preload=False)
    check(plain.returncode == 0 and "pending USR2 1 INT 1 TERM 1" in plain.stdout, plain.stdout)
    lw = run([T, "blockall"], f"output={d}/s-%p-%n.json:at_exit=1")
    check(lw.returncode == 0 and "pending USR2 0 INT 1 TERM 1" in lw.stdout,
          f"{lw.returncode} {lw.stdout} {lw.stderr[-400:]}")
    trig = sorted(s["trigger"] for _, s in snapshots(d))
    check(trig == ["exit", "signal"], f"one signal and one exit snapshot: {trig}")


# ---------------------------------------------------------------- safe outputs

def one_message(r, what, status=0):
    msgs = lw_lines(r.stderr)
    check(r.returncode == status, f"{what}: status {r.returncode}")
    check(len(msgs) == 1, f"{what}: expected one message, got {msgs or r.stderr[-300:]}")
    return msgs[0]


def in_userns_mount(script, timeout=TIMEOUT):
    """Run a shell script as root of a new user+mount namespace."""
    try:
        return subprocess.run(["unshare", "-Urm", "sh", "-ec", script], capture_output=True,
                              text=True, timeout=timeout, env=env_for("", preload=False))
    except subprocess.TimeoutExpired:
        raise Fail("hung")


@test
def full_tmpfs():
    if not has_unshare(["-Urm"]):
        raise Skip("unshare -Urm (user+mount namespace) not permitted here")
    d = fresh("tmpfs")
    # 8 KiB tmpfs, one page taken by a file that must survive; the snapshot
    # of 12 parked threads does not fit in what is left
    script = f"""
mount -t tmpfs -o size=8k none {d}
echo keep > {d}/other
LD_PRELOAD={LIB} LEAKWATCH_OPTIONS=output={d}/s.json:at_exit=0 {T} forkmt {d} >{TMP}/tmpfs.out 2>{TMP}/tmpfs.err
echo status=$?
ls -A {d}
cat {d}/other
"""
    r = in_userns_mount(script)
    err = open(f"{TMP}/tmpfs.err").read()
    check("status=0" in r.stdout, f"{r.stdout} {r.stderr} {err}")
    msgs = lw_lines(err)
    check(any("No space left" in m for m in msgs), f"no 'No space left' message: {err}")
    check(r.stdout.split()[1:] == ["other", "keep"], f"tmpfs left with {r.stdout.split()[1:]}")


@test
def read_only_dir():
    if not has_unshare(["-Urm"]):
        raise Skip("unshare -Urm not permitted here")
    d = fresh("rofs")
    script = f"""
mount -t tmpfs -o size=64k,ro none {d}
LD_PRELOAD={LIB} LEAKWATCH_OPTIONS=output={d}/s.json {T} atexit >{TMP}/ro.out 2>{TMP}/ro.err
echo status=$?
"""
    r = in_userns_mount(script)
    check("status=0" in r.stdout, r.stdout + r.stderr)
    m = [l for l in open(f"{TMP}/ro.err").read().splitlines() if l.startswith("leakwatch[")]
    check(len(m) == 1 and "Read-only file system" in m[0], f"one message: {m}")


@test
def output_is_directory_or_fifo():
    d = fresh("odd-targets")
    os.mkdir(f"{d}/adir")
    os.mkfifo(f"{d}/afifo")
    for target in ("adir", "afifo"):
        r = run([T, "atexit"], f"output={d}/{target}")
        m = one_message(r, target)
        check("not overwritten" in m, m)
    check(sorted(os.listdir(d)) == ["adir", "afifo"] and not os.listdir(f"{d}/adir"),
          f"nothing else touched: {os.listdir(d)}")


@test
def temp_name_symlink_attack():
    if not has_unshare(["-Urp", "--fork"]):
        raise Skip("unshare -Urp not permitted here (the pid must be known in advance)")
    d = fresh("tmplink")
    # in its own pid namespace the program is pid 1: plant symlinks at the
    # temporary names it will try first
    with open(f"{d}/victim", "w") as f:
        f.write("keep")
    for k in range(3):
        os.symlink(f"{d}/victim", f"{d}/.s.json.tmp.1.{k}")
    r = run(["unshare", "-Urp", "--fork", T, "atexit"], f"output={d}/s.json")
    check(r.returncode == 0, f"status {r.returncode}")
    check(open(f"{d}/victim").read() == "keep", "wrote through a planted symlink")
    check(os.path.isfile(f"{d}/s.json") and not os.path.islink(f"{d}/s.json"), "snapshot written")
    json.load(open(f"{d}/s.json"))


@test
def long_and_odd_option_values():
    d = fresh("odd")
    # longer than the 512-byte path buffer: rejected, default kept
    r = run([T, "atexit"], "at_exit=0:output=" + "a" * 5000)
    m = one_message(r, "long value")
    check("value too long" in m and len(m) < 400, m)
    # % patterns that expand past the buffer: one message, no file
    for pat in ("%p" * 250, "%e" * 200, "%t%n" * 120):
        r = run([T, "atexit"], f"output={d}/{pat}")
        m = one_message(r, pat[:4])
        check("too long" in m, m)
    check(not os.listdir(d), f"files from over-long patterns: {os.listdir(d)[:2]}")
    # odd characters are taken literally; unknown %x and a trailing % too
    odd = "sp ace\tnl\n\u00e9\u4e2d-%z-%%-%"
    r = run([T, "atexit"], f"output={d}/{odd}")
    check(r.returncode == 0 and not lw_lines(r.stderr), r.stderr)
    check(os.listdir(d) == ["sp ace\tnl\n\u00e9\u4e2d-%z-%-%"], f"{os.listdir(d)}")
    # 60,000 bad items (near the kernel's 128 KiB limit for one
    # environment string): bounded output, the program unaffected
    t0 = time.time()
    r = run([T, "atexit"], "x:" * 60000 + "at_exit=0")
    msgs = lw_lines(r.stderr)
    check(r.returncode == 0 and 1 <= len(msgs) <= 202, f"{len(msgs)} messages")
    check(time.time() - t0 < 10, "parsing a 120 KiB option string took too long")
    # NUL-free binary garbage in every value
    r = run([T, "atexit"], "signal=\x01\x02:stack_depth=-1:interval_ms=99999999999999999999:"
            "exit_grace_ms=1e3:at_exit=yes:quiet=2:log=:output=")
    check(r.returncode == 0 and len(lw_lines(r.stderr)) == 8, r.stderr)


@test
def log_to_fifo_without_reader():
    d = fresh("logfifo")
    os.mkfifo(f"{d}/fifo")
    r = run([T, "atexit"], f"log={d}/fifo:at_exit=0", timeout=10)
    m = one_message(r, "fifo log")
    check("cannot open log file" in m, m)


@test
def symlinked_log_not_followed():
    d = fresh("loglink")
    with open(f"{d}/victim", "w") as f:
        f.write("keep")
    os.symlink(f"{d}/victim", f"{d}/log")
    r = run([T, "atexit"], f"log={d}/log:output={d}/missing/x.json")
    check(open(f"{d}/victim").read() == "keep", "log followed a symlink")
    check(len(lw_lines(r.stderr)) == 2 and r.returncode == 0, r.stderr)


# ---------------------------------------------------------------- driver

def main():
    global passed, failed, skipped
    t_all = time.time()
    for t in TESTS:
        if A.only and t.__name__ not in A.only:
            continue
        if t.__name__ in A.skip:
            skipped += 1
            print(f"SKIP {t.__name__}: timing-sensitive on a loaded machine; run by `make torture`")
            continue
        start = time.time()
        try:
            t()
            passed += 1
            print(f"PASS {t.__name__} ({time.time() - start:.1f}s)")
        except Skip as e:
            skipped += 1
            print(f"SKIP {t.__name__}: {e}")
        except Fail as e:
            failed += 1
            print(f"FAIL {t.__name__}: {e}")
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}: exception")
            traceback.print_exc(limit=3)
    print(f"test-torture: {passed} passed, {failed} failed, {skipped} skipped "
          f"({time.time() - t_all:.1f}s)")
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
