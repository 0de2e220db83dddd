"""bench_real.py — the workloads shaped like real programs: many Python
threads on one queue.Queue (the system's python3), short whole-process
ping-pong runs that include process start-up, and a redis server's CPU
time per request.

Owns: how those three sections run, their ratios (each against plain and
the floor, with the min–max of the per-round ratios) and their verdicts.
Must never: judge a number it did not measure (a missing tool is a skipped
row with its reason), leave a server running (stopped by its pid), or talk
to anything but 127.0.0.1.
"""
import os
import resource
import shutil
import subprocess
import time

from bench_sections import paired, verdict_le
from bench_util import fmt_ns, free_port, kill_pid, med, spread, table, wait_port

SYS_PYTHON = "/usr/bin/python3"  # the distribution's interpreter, not a venv's or pyenv's

# name, MODE of bench/wl_pyqueue.py, full items, quick items. Target: lw/plain
# <= 1.10 (CPython's test_queue test_many_threads* ran 1.6-1.95x plain).
PYQUEUE = [("pyqueue_block", "block", 10000, 300),
           ("pyqueue_nonblock", "nonblock", 10000, 300),
           ("pyqueue_timeout", "timeout", 10000, 300)]
PYQUEUE_TARGET = 1.10

# workload, size of the probe run that calibrates the size; target lw/floor
SHORT = [("sem_pingpong", 20000, 1.05), ("tcp_pingpong", 5000, 1.05)]
SHORT_SECONDS = 0.23
REDIS_TARGET = 1.02


def rr(xs):
    """'median [min–max]' of per-round ratios."""
    return "—" if not xs else f"{med(xs):.3f} [{min(xs):.2f}–{max(xs):.2f}]"


def _verdict(ratios, target, why_missing):
    v = verdict_le(med(ratios) if ratios else None, target, why_missing)
    if ratios and min(ratios) <= target < max(ratios):
        v += " (noisy: the per-round ratios span the target)"
    return v


# ---------------------------------------------------------------- python
def python_queue(rn, args, out):
    out.append("\n## Many Python threads on one queue.Queue\n")
    if not os.path.exists(SYS_PYTHON):
        out.append(f"{SYS_PYTHON} is missing (Debian package python3): not measured.\n")
        return [f"MISS (not measured: no {SYS_PYTHON})"]
    ver = subprocess.run([SYS_PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True).stdout.strip()
    runs = 1 if args.quick else args.runs
    rows, verdicts = [], []
    for name, mode, size, qsize in PYQUEUE:
        n = qsize if args.quick else size
        cmd = [SYS_PYTHON, "bench/wl_pyqueue.py", mode, str(n)]
        if args.py_cpus != "all":
            cmd = ["taskset", "-c", args.py_cpus] + cmd
        wall = {v: [] for v in rn.variants}
        cpu = {v: [] for v in rn.variants}
        failed = False
        for counted in ([] if args.quick else [False]) + [True] * runs:
            for v in rn.variants:
                res = rn.run_workload(cmd, v, timeout=300)
                if res is None:
                    failed = failed or v == "leakwatch"
                    continue
                if counted:
                    wall[v].append(res["elapsed_ns"] / res["ops"])
                    cpu[v].append(res["cpu_ns"] / res["ops"])
        lp, lf = paired(wall.get("leakwatch"), wall.get("plain")), paired(wall.get("leakwatch"), wall.get("floor"))
        cp, cf = paired(cpu.get("leakwatch"), cpu.get("plain")), paired(cpu.get("leakwatch"), cpu.get("floor"))
        if args.quick:
            verdict = "— (quick run)"
        elif failed:
            verdict = "MISS (leakwatch run failed)"
        else:
            verdict = _verdict(lp, PYQUEUE_TARGET, "leakwatch not built" if not rn.shim else "no runs")
            verdicts.append(verdict)
        rows.append([name, n] + [spread(wall.get(v), fmt_ns) for v in ("plain", "floor", "leakwatch")]
                    + [rr(lp), rr(lf), f"≤ {PYQUEUE_TARGET:.2f} (lw/plain)", verdict, rr(cp), rr(cf)])
        print(f"  {name}: lw/plain {rr(lp)} lw/floor {rr(lf)} cpu lw/plain {rr(cp)} {verdict}", flush=True)
    pin = "not pinned (both CPUs)" if args.py_cpus == "all" else f"pinned with `taskset -c {args.py_cpus}`"
    out.append(f"`{SYS_PYTHON} bench/wl_pyqueue.py MODE ITEMS` (CPython {ver}): 50 feeder and 50 consumer "
               "threads on one `queue.Queue`, the shape of CPython's `test_queue` `test_many_threads*` "
               "(feeders sleep up to 1 ms at random half the time; consumers `get()`, `get(block=False)` "
               "with a 10 µs sleep when empty, or `get(timeout=1e-5)`). CPython's locks are glibc "
               "semaphores (`sem_wait`, `sem_clockwait` with a timeout; `Condition.wait` allocates a lock "
               f"per wait: `sem_init`/`sem_destroy`), its GIL a mutex and condition variables. {pin}; "
               f"{runs} rounds of plain, floor, leakwatch after one warm-up round. Time per item moved, "
               "median (min–max); ratios are medians of per-round ratios [min–max]; CPU is the "
               "process's user+system time over the same interval.\n")
    out.append(table(["workload", "items", "plain per item", "floor per item", "leakwatch per item",
                      "lw/plain [min–max]", "lw/floor [min–max]", "target", "verdict",
                      "CPU lw/plain", "CPU lw/floor"], rows))
    return verdicts


# ---------------------------------------------------------------- short runs
def _whole_run(rn, cmd, variant):
    """Wall and CPU time of one whole process (start-up and exit included),
    or None if it failed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc, so, se = rn.run(cmd, rn.env(variant), 120)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0 or "bench " not in so:
        rn.fail(f"{variant}: short run {' '.join(os.path.basename(c) for c in cmd)}: exit {rc} "
                + " / ".join(se.strip().splitlines()[-2:]))
        return None
    rn.runs_ok += 1
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1e9, cpu * 1e9


def short_runs(rn, args, out):
    out.append("\n## Short runs: whole process, start-up included\n")
    rows, verdicts = [], []
    runs = 1 if args.quick else args.runs
    for name, probe, target in SHORT:
        pin = ["taskset", "-c", args.micro_cpus] if args.micro_cpus != "all" else []
        wl = rn.bin("wl_" + name)
        if args.quick:
            n = max(1, probe // 20)
        else:  # size for about SHORT_SECONDS of plain, from one probe run
            m = _whole_run(rn, pin + [wl, str(probe)], "plain")
            if m is None:
                verdicts.append("MISS (short run failed)")
                continue
            n = max(1, int(probe * SHORT_SECONDS / (m[0] / 1e9)))
        wall = {v: [] for v in rn.variants}
        cpu = {v: [] for v in rn.variants}
        for counted in ([] if args.quick else [False]) + [True] * runs:
            for v in rn.variants:
                m = _whole_run(rn, pin + [wl, str(n)], v)
                if m and counted:
                    wall[v].append(m[0])
                    cpu[v].append(m[1])
        lp, lf = paired(wall.get("leakwatch"), wall.get("plain")), paired(wall.get("leakwatch"), wall.get("floor"))
        cf = paired(cpu.get("leakwatch"), cpu.get("floor"))
        if args.quick:
            verdict = "— (quick run)"
        else:
            verdict = _verdict(lf, target, "leakwatch not built" if not rn.shim else "no runs")
            verdicts.append(verdict)
        rows.append([name, n] + [spread(wall.get(v), fmt_ns) for v in ("plain", "floor", "leakwatch")]
                    + [rr(lp), rr(lf), f"≤ {target:.2f}", verdict, rr(cf)])
        print(f"  short {name} {n}: lw/plain {rr(lp)} lw/floor {rr(lf)} {verdict}", flush=True)
    where = f"`taskset -c {args.micro_cpus}`" if args.micro_cpus != "all" else "not pinned"
    out.append(f"The ping-pong workloads as whole processes sized for about {SHORT_SECONDS} s plain "
               f"(the size from one plain probe run), {where}: time from `fork` to the exit status "
               "(start-up, shim initialisation and exit included), CPU time from the child's rusage. "
               f"{runs} rounds of plain, floor, leakwatch after one warm-up round; ratios are medians "
               "of per-round ratios [min–max]. Target: leakwatch/floor ≤ 1.05.\n")
    out.append(table(["workload", "size", "plain", "floor", "leakwatch", "lw/plain [min–max]",
                      "lw/floor [min–max]", "target", "verdict", "CPU lw/floor"], rows))
    return verdicts


# ---------------------------------------------------------------- redis
def _sched_ns(pid):
    """CPU time of every thread of pid so far, ns (schedstat: exact, where
    /proc/PID/stat counts 10 ms ticks)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total


def redis(rn, args, out):
    out.append("\n## Macro: redis server CPU time per request\n")
    srv, cli = shutil.which("redis-server"), shutil.which("redis-benchmark")
    if not srv or not cli:
        out.append("redis-server or redis-benchmark is not installed (Debian packages redis-server and "
                   "redis-tools; `make bench` installs them when it can): skipped.\n")
        print("  redis: not installed, skipped", flush=True)
        return []
    n = 2000 if args.quick else args.redis_requests
    runs = 1 if args.quick else args.redis_runs
    per = {v: [] for v in rn.variants}
    rps = {v: [] for v in rn.variants}
    for counted in ([] if args.quick else [False]) + [True] * runs:
        for v in rn.variants:
            port = free_port()
            d = os.path.join(rn.tmp, f"redis-{v}")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            cmd = ([] if args.redis_cpus == "all" else ["taskset", "-c", args.redis_cpus]) + [
                srv, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                "--io-threads", str(args.redis_io_threads), "--dir", d, "--daemonize", "no",
                "--protected-mode", "yes"]
            errf = open(os.path.join(rn.tmp, "redis.err"), "w")
            proc = subprocess.Popen(cmd, env=rn.env(v), stdin=subprocess.DEVNULL,
                                    stdout=errf, stderr=subprocess.STDOUT)
            try:
                if not wait_port(port, proc):
                    rn.fail(f"{v}: redis-server did not start (exit {proc.poll()})")
                    continue
                c0 = _sched_ns(proc.pid)
                client = ["taskset", "-c", args.client_cpu, cli, "-h", "127.0.0.1", "-p", str(port),
                          "-c", "16", "-n", str(n), "-t", "set,get", "-q"]
                rc, so, se = rn.run(client, rn.env("plain"), 300)
                c1 = _sched_ns(proc.pid)
                got = [float(line.split()[1]) for line in so.replace("\r", "\n").split("\n")
                       if line.startswith(("SET:", "GET:")) and "requests per second" in line]
                if rc != 0 or len(got) != 2 or c0 is None or c1 is None:
                    rn.fail(f"{v}: redis-benchmark exit {rc}: {(so + se).strip()[-200:]}")
                    continue
                rn.runs_ok += 1
                if counted:
                    per[v].append((c1 - c0) / (2 * n))
                    rps[v].append(2 / (1 / got[0] + 1 / got[1]))
            finally:
                kill_pid(proc)
                errf.close()
    cp, cf = paired(per.get("leakwatch"), per.get("plain")), paired(per.get("leakwatch"), per.get("floor"))
    tp = paired(rps.get("leakwatch"), rps.get("plain"))
    verdict = "— (quick run)" if args.quick else _verdict(cp, REDIS_TARGET, "no runs")
    ver = subprocess.run([srv, "--version"], capture_output=True, text=True).stdout.split()
    ver = next((w.split("=")[1] for w in ver if w.startswith("v=")), "?")
    where = "not pinned" if args.redis_cpus == "all" else f"on CPU {args.redis_cpus}"
    out.append(f"redis-server {ver} (`--appendonly yes --io-threads {args.redis_io_threads} --save ''`, "
               f"127.0.0.1), {where} (its I/O threads spin while they wait for work: pinned to the CPU "
               f"of the main thread they starve it); `redis-benchmark -c 16 -n {n} -t set,get` on CPU "
               f"{args.client_cpu} "
               f"({2 * n:,} requests per run). Server CPU per request = CPU time of all its threads "
               "(`/proc/PID/task/*/schedstat`, ns) across the client run ÷ requests. "
               f"{runs} rounds of plain, floor, leakwatch after one warm-up round.\n")
    rows = [[v, spread(per[v], fmt_ns), spread(rps[v], lambda x: f"{x:,.0f}")] for v in rn.variants]
    out.append(table(["variant", "server CPU per request median (min–max)",
                      "requests/s median (min–max)"], rows))
    out.append(f"\nServer CPU per request: leakwatch/plain {rr(cp)}, leakwatch/floor {rr(cf)}; "
               f"throughput leakwatch/plain {rr(tp)}. Target CPU per request ≤ {REDIS_TARGET:.2f}× "
               f"plain: **{verdict}**\n")
    print(f"  redis: cpu/op lw/plain {rr(cp)} lw/floor {rr(cf)} -> {verdict}", flush=True)
    return [] if args.quick else [verdict]
