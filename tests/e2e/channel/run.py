#!/usr/bin/env python3
"""End-to-end tests of the control channel, the snapshot signal and exec
images (docs/design.md §3.5): real processes under build/libleakwatch.so,
asked for snapshots with `build/leakwatch snapshot PID` and by signal.

usage: run.py BUILD_DIR [TEST...]
Writes "PASSED FAILED" to $LW_RESULTS/test-channel when LW_RESULTS is set;
exits 1 on any failure. Every process runs under a timeout."""
import glob
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
ONLY = sys.argv[2:]
LIB = os.path.join(BUILD, "libleakwatch.so")
LW = os.path.join(BUILD, "leakwatch")
FIX = os.path.join(BUILD, "tests", "e2e-channel", "chanfix")
SERVICE = os.path.join(BUILD, "examples", "service")
HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "..", "docs", "snapshot.schema.json")
TMP = tempfile.mkdtemp(prefix="lw-channel-")
passed = failed = 0

try:
    import jsonschema
    VALIDATOR = jsonschema.Draft202012Validator(json.load(open(SCHEMA)))
except ImportError:
    VALIDATOR = None


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def env_for(opts, preload=True):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKWATCH_OPTIONS", None)
    if preload:
        env["LD_PRELOAD"] = LIB
        env["LEAKWATCH_OPTIONS"] = opts
    return env


def start(args, opts, cwd=TMP, preexec=None, preload=True):
    return subprocess.Popen(args, env=env_for(opts, preload), cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec)


def finish(p, timeout=20):
    try:
        out, err = p.communicate("q\n", timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise Fail(f"timed out: {out} {err}")
    return p.returncode, out, err


def ask(pid, timeout=10, user=None):
    pre = None
    if user is not None:
        def pre():
            os.setgid(user)
            os.setuid(user)
    return subprocess.run([LW, "snapshot", f"--timeout={timeout}", str(pid)], capture_output=True,
                          text=True, timeout=timeout + 20, preexec_fn=pre)


def load(path):
    check(os.path.exists(path), f"snapshot {path} not written")
    with open(path) as f:
        d = json.load(f)
    if VALIDATOR is not None:
        errs = list(VALIDATOR.iter_errors(d))
        check(not errs, f"{path}: schema: {errs[0].message if errs else ''}")
    return d


def snaps(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*.json"))):
        out.append((f, load(f)))
    return out


def fresh(name):
    d = os.path.join(TMP, name)
    os.mkdir(d)
    return d


def block_usr2():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------- tests

@test
def sleep3_lasts_3s_under_requests():
    """sleep(3) in main lasts 3 s while snapshots are asked for every
    100 ms, alternately by signal and through the channel."""
    d = fresh("sleep3")
    p = start([FIX, "sleep3"], f"output={d}/s-%n.json:at_exit=0")
    check(p.stdout.readline().strip() == "ready", "ready")
    asked = 0
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 3.5:
        if asked % 2:
            r = ask(p.pid, timeout=5)
            if p.poll() is None:
                check(r.returncode == 0, f"snapshot by channel: {r.stderr}")
        else:
            os.kill(p.pid, signal.SIGUSR2)
        asked += 1
        time.sleep(0.1)
    rc, out, err = finish(p)
    check(rc == 0, f"exit {rc}: {err}")
    slept = float(out.split()[1])
    check(slept >= 2.95 and " left 0 errno 0" in out, f"sleep(3) ended early: {out}")
    trig = [s["trigger"] for _, s in snaps(d)]
    check(trig.count("request") >= 5 and trig.count("signal") >= 5, f"snapshots: {trig}")


@test
def signal_storm_from_the_first_millisecond():
    """`leakwatch run` (started with the snapshot signal blocked, as the
    launchers do) is sent the signal from the moment it exists; the
    program lives, sleeps its 3 s and exits 0."""
    d = fresh("storm")
    p = subprocess.Popen([LW, "run", "--opt", f"output={d}/s-%n.json", "--opt", "at_exit=1",
                          "--", FIX, "sleep3"], env=env_for("", preload=False), cwd=d,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=block_usr2)
    sent = 0
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 1.5:
        try:
            os.kill(p.pid, signal.SIGUSR2)
            sent += 1
        except ProcessLookupError:
            break
        time.sleep(0.001)
    rc, out, err = finish(p)
    check(rc == 0, f"killed by the storm? exit {rc} after {sent} signals: {err[-300:]}")
    check(" left 0 errno 0" in out and float(out.split()[2]) >= 2.95, f"sleep ended early: {out}")
    trig = [s["trigger"] for _, s in snaps(d)]
    check("exit" in trig and trig.count("signal") >= 2, f"snapshots: {trig} after {sent} signals")
    # `leakwatch run` blocks the signal itself before it execs the program
    # (a process cannot survive a signal in the instant before its main
    # runs): storm from the moment the launcher has blocked it, through the
    # program's loading and the library's start.
    d2 = fresh("storm2")
    p = subprocess.Popen([LW, "run", "--opt", f"output={d2}/s-%n.json", "--", FIX, "sleep3"],
                         env=env_for("", preload=False), cwd=d2, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            st = open(f"/proc/{p.pid}/status").read()
            if int(st.split("SigBlk:")[1].split()[0], 16) >> (signal.SIGUSR2 - 1) & 1:
                break
        except (OSError, IndexError):
            pass
        time.sleep(0.0002)
    sent = 0
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 1.0:
        os.kill(p.pid, signal.SIGUSR2)
        sent += 1
        time.sleep(0.001)
    rc, out, err = finish(p)
    check(rc == 0 and " left 0 errno 0" in out, f"launcher: exit {rc} after {sent} signals: {out} {err[-300:]}")


@test
def program_owns_sigusr2():
    """A program with its own SIGUSR2 handler gets every SIGUSR2; the
    channel still gives snapshots and says where."""
    d = fresh("own")
    p = start([FIX, "ownusr2", "3"], f"output={d}/s-%n.json:at_exit=0")
    check(p.stdout.readline().strip() == "ready", "ready")
    r = ask(p.pid)
    check(r.returncode == 0 and r.stdout.strip().startswith(d), f"channel: {r.returncode} {r.stdout} {r.stderr}")
    for _ in range(3):
        os.kill(p.pid, signal.SIGUSR2)
        time.sleep(0.05)
    line = p.stdout.readline().strip()
    check(line == "got 3", f"the program's handler ran for each signal: {line}")
    r2 = ask(p.pid)
    check(r2.returncode == 0, f"channel after: {r2.stderr}")
    rc, out, err = finish(p)
    check(rc == 0, f"exit {rc}")
    trig = [s["trigger"] for _, s in snaps(d)]
    check(trig == ["request", "request"], f"no signal snapshots: {trig}")
    check(load(r.stdout.strip())["trigger"] == "request", "the printed path is the request's")


@test
def rewritten_title_and_other_signal():
    """A program that wipes argv and its environment block (redis, nginx)
    and runs with signal=SIGURG: `leakwatch snapshot` needs neither; no
    SIGUSR2 is sent (it would kill the program)."""
    d = fresh("rewrite")
    p = start([FIX, "rewrite"], f"output={d}/r-%p-%n.json:signal=SIGURG:at_exit=0")
    check(p.stdout.readline().strip() == "ready", "ready")
    env = open(f"/proc/{p.pid}/environ", "rb").read()
    check(b"LEAKWATCH_OPTIONS" not in env, f"environment was not wiped: {env[:80]}")
    r = ask(p.pid)
    check(r.returncode == 0, f"{r.returncode} {r.stderr}")
    path = r.stdout.strip()
    check(path == f"{d}/r-{p.pid}-1.json", f"exact path: {path}")
    os.kill(p.pid, signal.SIGURG)
    deadline = time.time() + 5
    while time.time() < deadline and not os.path.exists(f"{d}/r-{p.pid}-2.json"):
        time.sleep(0.02)
    rc, out, err = finish(p)
    check(rc == 0, f"exit {rc}: {err}")
    check(load(f"{d}/r-{p.pid}-2.json")["trigger"] == "signal", "SIGURG snapshot")


@test
def daemon_closing_every_descriptor():
    """fork, setsid, close every descriptor (close() loop and a raw
    close_range), reopen 0-2: the child has its own endpoint, its 0-2 are
    its own, and leakwatch's descriptors appear nowhere in its snapshots."""
    d = fresh("daemon")
    pidfile = f"{d}/pid"
    r = subprocess.run([FIX, "daemon", pidfile], env=env_for(f"output={d}/d-%p-%n.json:at_exit=1"),
                       cwd=d, timeout=20, capture_output=True, text=True)
    check(r.returncode == 0, f"parent: {r.returncode} {r.stderr}")
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(pidfile):
        time.sleep(0.02)
    check(os.path.exists(pidfile), "daemon never started")
    pid, _, a, b, c = open(pidfile).read().split()
    pid = int(pid)
    try:
        check((a, b, c) == ("0", "1", "2"), f"the daemon's /dev/null got fds {a} {b} {c}")
        got = []
        for _ in range(3):
            r = ask(pid)
            check(r.returncode == 0, f"snapshot of the daemon: {r.returncode} {r.stderr}")
            got.append(r.stdout.strip())
        check(all(f"d-{pid}-" in g for g in got), f"the daemon's own files: {got}")
        for g in got:
            s = load(g)
            check(s["pid"] == pid, "daemon pid")
            check(not s["sockets"], f"leakwatch's descriptors reported: {s['sockets']}")
    finally:
        open(pidfile + ".stop", "w").close()
    deadline = time.time() + 10
    while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.05)
    ex = [s for _, s in snaps(d) if s["pid"] == pid and s["trigger"] == "exit"]
    check(len(ex) == 1 and not ex[0]["sockets"], "daemon's exit snapshot, no fds of ours")
    left = glob.glob(f"/tmp/leakwatch-{os.geteuid()}/{pid}-*.sock")
    check(not left, f"endpoint left behind: {left}")


@test
def masks_read_as_without_leakwatch():
    """Every old mask the program reads, a new thread's inherited mask and
    sigpending show SIGUSR2 exactly as without leakwatch, although the real
    mask keeps it blocked in every program thread."""
    d = fresh("masks")
    plain = subprocess.run([FIX, "masks"], env=env_for("", preload=False), capture_output=True,
                           text=True, timeout=20)
    lw = subprocess.run([FIX, "masks"], env=env_for(f"output={d}/m-%n.json:at_exit=0"),
                        capture_output=True, text=True, timeout=20)
    check(plain.returncode == 0 and lw.returncode == 0, f"{plain.returncode} {lw.returncode} {lw.stderr}")
    check(plain.stdout == lw.stdout, f"plain:\n{plain.stdout}leakwatch:\n{lw.stdout}")
    check("thread inherits 1" in lw.stdout, lw.stdout)
    # and the real mask of a program thread does block it while the
    # program believes it does not
    p = start([FIX, "wait"], f"output={d}/w-%n.json:at_exit=0")
    try:
        check(p.stdout.readline().strip() == "ready", "ready")
        st = open(f"/proc/{p.pid}/task/{p.pid}/status").read()
        blk = int(st.split("SigBlk:")[1].split()[0], 16)
        check(blk >> (signal.SIGUSR2 - 1) & 1, f"main thread's real mask: {blk:x}")
    finally:
        finish(p)


@test
def program_waits_for_the_signal_itself():
    """sigwait() on SIGUSR2 makes it the program's: a SIGUSR2 sent later
    reaches the program's sigwait, not leakwatch."""
    d = fresh("sigwait")
    p = start([FIX, "sigwait"], f"output={d}/s-%n.json:at_exit=0")
    check(p.stdout.readline().strip() == "ready", "ready")
    # send it once the program sleeps in sigwait (rt_sigtimedwait), after
    # leakwatch stepped aside
    nr = 128 if os.uname().machine == "x86_64" else 137
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            if open(f"/proc/{p.pid}/syscall").read().split()[0] == str(nr):
                break
        except (OSError, IndexError):
            pass
        time.sleep(0.005)
    os.kill(p.pid, signal.SIGUSR2)
    rc, out, err = finish(p, timeout=10)
    check(rc == 0 and out.strip() == f"sigwait 0 sig {int(signal.SIGUSR2)}", f"{rc} {out} {err}")
    check(not glob.glob(f"{d}/*.json"), "no snapshot taken for the program's signal")
    check("waits for SIGUSR2 itself" in err, f"says so once: {err}")


@test
def exec_without_the_preload_gets_the_programs_mask():
    """A program exec'd or spawned without leakwatch (environment cleared)
    starts with the signal mask it would have without leakwatch, not with
    leakwatch's block of the snapshot signal; one exec'd with the preload
    keeps the block (a signal sent while it loads waits)."""
    d = fresh("execmask")
    grep = ["/bin/grep", "SigBlk", "/proc/self/status"]
    plain = subprocess.run(["env", "-i"] + grep, env=env_for("", preload=False),
                           capture_output=True, text=True, timeout=20).stdout
    for argv in (["env", "-i"] + grep, ["sh", "-c", "env -i " + " ".join(grep)],
                 ["/usr/bin/python3", "-c",
                  "import subprocess, sys; sys.stdout.write(subprocess.run(%r, env={}, "
                  "capture_output=True, text=True).stdout)" % grep]):
        lw = subprocess.run(argv, env=env_for(f"output={d}/x-%p-%n.json:at_exit=0"),
                            capture_output=True, text=True, timeout=20)
        check(lw.returncode == 0 and lw.stdout == plain, f"{argv[0]}: {lw.stdout!r} vs plain {plain!r} {lw.stderr}")
    kept = subprocess.run(grep, env=env_for(f"output={d}/y-%p-%n.json:at_exit=0"),
                          capture_output=True, text=True, timeout=20).stdout
    check(int(kept.split()[1], 16) >> (signal.SIGUSR2 - 1) & 1, f"a leakwatch image keeps it: {kept}")


def wrapper_chain(d, argv):
    """Run argv (which execs chanfix leak) under the preload with start and
    exit snapshots; ask the final image once. Returns (snapshots, asked)."""
    p = start(argv, f"output={d}/w-%p-%n.json:at_start=1:at_exit=1:exit_grace_ms=0", cwd=d)
    check(p.stdout.readline().strip() == "ready", "ready")
    r = ask(p.pid)
    check(r.returncode == 0, f"snapshot of the final image: {r.stderr}")
    rc, out, err = finish(p)
    check(rc == 0, f"exit {rc}: {err}")
    return snaps(d), load(r.stdout.strip())


def check_chain(ss, asked, images):
    names = [os.path.basename(f) for f, _ in ss]
    check(len(set(names)) == len(names), "no collisions")
    order = []
    for _, s in ss:
        if s["image"] not in order:
            order.append(s["image"])
    check(len(order) == images, f"{images} images: {[(os.path.basename(f), s['exe'], s['image']) for f, s in ss]}")
    by = {i: [s for _, s in ss if s["image"] == i] for i in order}
    for k, i in enumerate(order):
        trig = sorted(s["trigger"] for s in by[i])
        repl = {s["replaced_image"] for s in by[i]}
        check(repl == {order[k - 1] if k else None}, f"image {k} replaced {repl}")
        if k < len(order) - 1:
            check(trig == ["start"], f"wrapper image {k}: {trig}")
    last = by[order[-1]]
    check(sorted(s["trigger"] for s in last) == ["exit", "request", "start"],
          f"final image: {[s['trigger'] for s in last]}")
    check(last[0]["exe"].endswith("/chanfix"), f"final image is the program: {last[0]['exe']}")
    check(asked["image"] == order[-1], "the request was answered by the image running now")
    ex = [s for s in last if s["trigger"] == "exit"][0]
    check(any(t["state"] != "exited" and t["kind"] == "tracked" for t in ex["threads"]),
          "the program's leaked thread is in its own exit snapshot")


@test
def exec_wrappers():
    """A script that execs the program, two levels of it, and env: every
    image writes its own snapshots under names that never collide, each
    says which image it replaced, and the program's own start and exit
    snapshots pair by image."""
    wrap = os.path.join(TMP, "wrap.sh")
    with open(wrap, "w") as f:
        f.write('#!/bin/sh\nexec "$@"\n')
    os.chmod(wrap, 0o755)
    ss, asked = wrapper_chain(fresh("wrap1"), [wrap, FIX, "leak"])
    check_chain(ss, asked, 2)
    ss, asked = wrapper_chain(fresh("wrap2"), [wrap, wrap, FIX, "leak"])
    check_chain(ss, asked, 3)
    ss, asked = wrapper_chain(fresh("env"), ["env", FIX, "leak"])
    check_chain(ss, asked, 2)


@test
def quick_start_as_printed():
    """The README's quick start, as printed: `leakwatch run ... &` and at
    once `leakwatch snapshot $!`."""
    d = fresh("quick")
    script = f"""
set -e
export PATH={BUILD}:$PATH
leakwatch run --opt output={d}/svc-%p-%n.json -- {SERVICE} --port 0 &
leakwatch snapshot $!
leakwatch snapshot $!
kill $!
wait $! || true
"""
    r = subprocess.run(["bash", "-c", script], env=env_for("", preload=False), cwd=d,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"{r.returncode}: {r.stderr}")
    lines = [l for l in r.stdout.split() if l.endswith(".json")]  # the service prints too
    check(len(lines) == 2 and lines[0].endswith("-1.json") and lines[1].endswith("-2.json"),
          f"printed paths: {r.stdout}")
    for path in lines:
        check(load(path)["trigger"] == "request", path)


@test
def dead_endpoints_are_swept():
    """Endpoints left by processes that never reached exit (killed, _exit)
    are removed by later processes' writers; a live one stays."""
    import socket
    xdg = fresh("xdg")
    os.chmod(xdg, 0o700)
    env = {"XDG_RUNTIME_DIR": xdg}
    d = fresh("sweep")
    live = subprocess.Popen([FIX, "wait"], env=dict(env_for(f"output={d}/l-%n.json:at_exit=0"), **env),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        check(live.stdout.readline().strip() == "ready", "ready")
        mine = glob.glob(f"{xdg}/leakwatch/{live.pid}-*.sock")
        check(len(mine) == 1, f"live endpoint in $XDG_RUNTIME_DIR/leakwatch: {os.listdir(xdg)}")
        for k in range(10):  # what a SIGKILLed process leaves: a name nobody listens on
            s = socket.socket(socket.AF_UNIX)
            s.bind(f"{xdg}/leakwatch/{900000 + k}-1-{k:016x}.sock")
            s.close()
        q = subprocess.Popen([FIX, "wait"], env=dict(env_for(f"output={d}/s-%n.json:at_exit=0"), **env),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        check(q.stdout.readline().strip() == "ready", "ready")
        deadline = time.time() + 10
        while time.time() < deadline:
            left = sorted(n for n in os.listdir(f"{xdg}/leakwatch") if not n.startswith(f"{q.pid}-"))
            if left == [os.path.basename(mine[0])]:
                break
            time.sleep(0.02)
        finish(q)
        check(left == [os.path.basename(mine[0])], f"left: {left}")
        r = ask(live.pid)
        check(r.returncode == 0, f"the live one still answers: {r.stderr}")
    finally:
        finish(live)


@test
def snapshot_status_codes():
    """No such process: 2; a young process without the library is waited
    for, and one that exits before answering gives 1, not a wrong path."""
    r = ask(999999999, timeout=2)
    check(r.returncode == 2 and "no process" in r.stderr, f"{r.returncode} {r.stderr}")
    p = subprocess.Popen(["sleep", "0.5"], env=env_for("", preload=False))
    r = ask(p.pid, timeout=5)
    p.wait()
    check(r.returncode == 1 and "exited" in r.stderr and not r.stdout, f"{r.returncode} {r.stdout} {r.stderr}")


@test
def other_users_refused():
    """Only the same user or root may ask: the endpoint's directory is
    private, and the shim checks the peer's uid itself."""
    if os.geteuid() != 0:
        return  # needs two uids
    d = fresh("uid")
    os.chmod(TMP, 0o711)
    os.chmod(d, 0o777)
    owner = 65534
    # an interrupted earlier run can leave the owner's directory opened up
    # (below); the shim rightly refuses such a directory, which would turn
    # the channel off and make this test test nothing but that
    stale = f"/tmp/leakwatch-{owner}"
    if os.path.isdir(stale) and stat.S_IMODE(os.lstat(stale).st_mode) != 0o700:
        shutil.rmtree(stale)

    def as_owner():
        os.setgid(owner)
        os.setuid(owner)
    p = start([FIX, "wait"], f"output={d}/u-%n.json:at_exit=0", cwd=d, preexec=as_owner)
    try:
        check(p.stdout.readline().strip() == "ready", "ready")
        r = ask(p.pid, timeout=3, user=65533)
        check(r.returncode == 2, f"another uid: {r.returncode} {r.stdout} {r.stderr}")
        # open the directory up: the shim's own check still refuses
        dirs = glob.glob(f"/tmp/leakwatch-{owner}")
        check(dirs, "owner's directory")
        mode = os.stat(dirs[0]).st_mode
        os.chmod(dirs[0], 0o777)
        for s in glob.glob(f"{dirs[0]}/*.sock"):
            os.chmod(s, 0o777)
        try:
            r = ask(p.pid, timeout=3, user=65533)
        finally:
            os.chmod(dirs[0], stat.S_IMODE(mode))
        check(r.returncode == 2 and "permission denied" in r.stderr, f"peer check: {r.returncode} {r.stderr}")
        check(not glob.glob(f"{d}/u-*.json"), "no snapshot for another user")
        r = ask(p.pid)
        check(r.returncode == 0, f"root may ask: {r.stderr}")
    finally:
        finish(p)


# ---------------------------------------------------------------- driver

def main():
    global passed, failed
    for t in TESTS:
        if ONLY and t.__name__ not in ONLY:
            continue
        t0 = time.time()
        try:
            t()
            passed += 1
            print(f"PASS {t.__name__} ({time.time() - t0:.1f}s)")
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            failed += 1
            msg = str(e) if isinstance(e, Fail) else traceback.format_exc()
            print(f"FAIL {t.__name__}: {msg}")
        sys.stdout.flush()
    print(f"test-channel: {passed} passed, {failed} failed")
    res = os.environ.get("LW_RESULTS")
    if res:
        os.makedirs(res, exist_ok=True)
        with open(os.path.join(res, "test-channel"), "w") as f:
            f.write(f"{passed} {failed}\n")
    if failed:
        print(f"(files kept in {TMP})")
    else:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
