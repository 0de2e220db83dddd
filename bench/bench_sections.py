"""bench_sections.py — the sections of the benchmark report after the micro
table: micro row verdicts, memcached, snapshot cost (with gdb and eu-stack
beside it), analyzer, memory per thread, ThreadSanitizer/valgrind rows.

Owns: what each section measures and how its verdict is decided. Must never
judge a number it did not measure: a section that cannot run says why and
counts as a miss where issue 6 sets a target.
"""
import glob
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time

from bench_util import fmt_ns, free_port, kill_pid, med, parse_result, spread, table, wait_port

SNAP_RE = re.compile(r"^lw-\d+-\d+\.json$")


def verdict_le(value, target, what, fmt=lambda x: f"{x:.3f}"):
    if value is None:
        return f"MISS (not measured: {what})"
    if value <= target:
        return "PASS"
    return f"MISS ({fmt(value)} > {fmt(target)})"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "—" if r is None else f"{r:.3f}"


# ---------------------------------------------------------------- micro
def paired(a, b):
    """Per-round ratios a[i]/b[i] (runs of one round are adjacent in time, so
    their ratio cancels most of the drift of a shared machine)."""
    return [x / y for x, y in zip(a or [], b or []) if y]


def micro_row(name, n, target, per_op, cpu_op, failures, rn):
    p, f, lw = (med(per_op.get(v, [])) for v in ("plain", "floor", "leakwatch"))
    pr = paired(per_op.get("leakwatch"), per_op.get("floor"))
    r_floor = med(pr) if pr and "leakwatch" not in failures else None
    lwf = "—" if r_floor is None else f"{r_floor:.3f} [{min(pr):.2f}–{max(pr):.2f}]"
    if target is None:
        verdict = "— (no target)"
    elif "leakwatch" in failures:
        verdict = "MISS (leakwatch run failed)"
    else:
        verdict = verdict_le(r_floor, target, "leakwatch not built" if not rn.shim else "no runs")
        if pr and min(pr) <= target < max(pr):
            verdict += " (noisy: the per-round ratios span the target)"
    cpr = paired(cpu_op.get("leakwatch"), cpu_op.get("floor"))
    cpu_cell = "—" if not cpr else f"{med(cpr):.3f} [{min(cpr):.2f}–{max(cpr):.2f}]"
    plr = paired(per_op.get("leakwatch"), per_op.get("plain"))
    cells = [name, n, spread(per_op.get("plain"), fmt_ns), spread(per_op.get("floor"), fmt_ns),
             spread(per_op.get("leakwatch"), fmt_ns), fmt_ratio(med(plr) if plr else None), lwf,
             "—" if target is None else f"≤ {target:.2f}", verdict, cpu_cell]
    summary = (f"plain {fmt_ns(p)}  floor {fmt_ns(f)}  leakwatch {fmt_ns(lw)}  "
               f"lw/floor {lwf}  {verdict}  cpu lw/floor {cpu_cell}")
    return {"cells": cells, "verdict": verdict, "note": "", "summary": summary}


# ---------------------------------------------------------------- memcached
def macro(rn, args, out):
    out.append("\n## Macro: memcached under a load generator\n")
    mc = shutil.which("memcached")
    if not mc:
        out.append("memcached is not installed (`sh scripts/deps.sh memcached`): not measured.\n")
        return ["MISS (memcached not measured)"]
    ops = {v: [] for v in rn.variants}
    p99 = {v: [] for v in rn.variants}
    cpu = {v: [] for v in rn.variants}
    user = ["-u", "root"] if os.geteuid() == 0 else []
    rounds = [False] + [True] * args.mc_runs
    for counted in rounds:
        for v in rn.variants:
            port = free_port()
            server = ["taskset", "-c", args.server_cpu, mc, "-l", "127.0.0.1", "-p", str(port),
                      "-U", "0", "-t", "4", "-m", "64", "-c", "1024"] + user
            errf = open(os.path.join(rn.tmp, "memcached.err"), "w")
            srv = subprocess.Popen(server, env=rn.env(v), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=errf)
            try:
                if not wait_port(port, srv):
                    rn.fail(f"{v}: memcached did not start (exit {srv.poll()})")
                    continue
                secs = args.mc_seconds if counted else 1
                client = ["taskset", "-c", args.client_cpu, rn.bin("mcload"), "-p", str(port),
                          "-c", "16", "-d", str(secs), "-w", "1", "-P", str(srv.pid)]
                res = rn.run_workload(client, f"{v} (memcached)", timeout=secs + 60, env=rn.env("plain"))
                if res and counted:
                    ops[v].append(res["ops_per_s"])
                    p99[v].append(res["p99_us"])
                    cpu[v].append(res["cpu_ns"] / res["ops"])
            finally:
                kill_pid(srv)
                errf.close()
    mp, mf, ml = (med(ops.get(v, [])) for v in ("plain", "floor", "leakwatch"))
    pr = paired(ops.get("leakwatch"), ops.get("plain"))
    pf = paired(ops.get("leakwatch"), ops.get("floor"))
    pfp = paired(ops.get("floor"), ops.get("plain"))
    r = med(pr) if pr else None
    verdict = ("MISS (not measured)" if r is None else
               "PASS" if r >= 0.97 else f"MISS ({(1 - r) * 100:.1f}% below plain, target ≤ 3%)")
    if pr and min(pr) < 0.97 <= max(pr):
        verdict += " (noisy: the per-round ratios span the target)"
    out.append(f"{subprocess.run([mc, '-V'], capture_output=True, text=True).stdout.strip()}, "
               f"`-t 4 -U 0 -m 64`, pinned to CPU {args.server_cpu} (`taskset`); bench/mcload on CPU "
               f"{args.client_cpu}: 16 connections, one request in flight each, 90% get / 10% set, "
               f"1,000 keys, 100-byte values, {args.mc_seconds} s measured after 1 s warm-up; "
               f"{args.mc_runs} runs per variant after one warm-up round, alternating.\n")
    rows = [[v, spread(ops[v], lambda x: f"{x:,.0f}"), spread(p99[v], lambda x: f"{x:.0f} µs"),
             spread(cpu[v], fmt_ns)] for v in rn.variants]
    out.append(table(["variant", "ops/s median (min–max)", "p99 latency median (min–max)",
                      "server CPU per request (min–max)"], rows))
    cpr, cpf = paired(cpu.get("leakwatch"), cpu.get("plain")), paired(cpu.get("leakwatch"), cpu.get("floor"))
    out.append(f"\nServer CPU per request (utime+stime of all memcached threads from /proc/PID/stat "
               f"over the measured interval; a loaded server batches more requests per wake-up, so this "
               f"also moves with throughput): leakwatch/plain "
               f"{'—' if not cpr else f'{med(cpr):.3f} [{min(cpr):.2f}–{max(cpr):.2f}]'}, leakwatch/floor "
               f"{'—' if not cpf else f'{med(cpf):.3f} [{min(cpf):.2f}–{max(cpf):.2f}]'}.\n")
    def rr(xs):
        return "—" if not xs else f"{med(xs):.3f} [{min(xs):.2f}–{max(xs):.2f}]"
    out.append(f"\nThroughput ratios (median of per-round ratios [min–max]): leakwatch/plain {rr(pr)}, "
               f"leakwatch/floor {rr(pf)}, floor/plain {rr(pfp)}. Target ≥ 0.97 of plain: **{verdict}**\n")
    print(f"  memcached: plain {mp} floor {mf} leakwatch {ml} lw/plain {rr(pr)} -> {verdict}", flush=True)
    return [verdict]


# ---------------------------------------------------------------- snapshots
def _read_line(proc, timeout):
    end = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
            if b"\n" in buf:
                return buf.decode(errors="replace")
        if proc.poll() is not None:
            break
    return None


def _take_snapshot(pid, outdir, timeout=30.0):
    """SIGUSR2, then poll every ms for a new complete snapshot file (they
    are renamed into place, so existing under the final name means done)."""
    before = set(os.listdir(outdir))
    t0 = time.monotonic()
    os.kill(pid, signal.SIGUSR2)
    while time.monotonic() - t0 < timeout:
        new = [f for f in os.listdir(outdir) if f not in before and SNAP_RE.match(f)]
        if new:
            return time.monotonic() - t0, os.path.join(outdir, new[0])
        time.sleep(0.001)
    return None, None


def _timed_tool(cmd, outfile, timeout=60):
    t0 = time.monotonic()
    with open(outfile, "w") as f:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_pid(p, grace=2)
            return None, "timeout"
    return time.monotonic() - t0, p.returncode


def _proc_scan(pid):
    t0 = time.monotonic()
    n = 0
    for tdir in glob.glob(f"/proc/{pid}/task/*"):
        for leaf in ("stat", "syscall", "comm"):
            try:
                with open(os.path.join(tdir, leaf), "rb") as f:
                    f.read()
            except OSError:
                pass
        n += 1
    return time.monotonic() - t0, n


def snapshot_cost(rn, args, out, snaps):
    out.append("\n## Snapshot cost (live blocked threads)\n")
    if not rn.shim:
        out.append("leakwatch is not built: not measured.\n")
        return ["MISS (snapshot not measured)"]
    sizes = [100] if args.quick else [1000, 10000]
    rows, verdicts = [], []
    for n in sizes:
        outdir = os.path.join(rn.tmp, f"snap-{n}")
        os.makedirs(outdir, exist_ok=True)
        errpath = os.path.join(rn.tmp, f"snap-{n}.err")
        with open(errpath, "w") as errf:
            proc = subprocess.Popen([rn.bin("wl_block_release"), str(n), "600", "spawner"],
                                    env=rn.env("leakwatch", outdir=outdir), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=errf)
        try:
            line = _read_line(proc, 120)
            if not line or not line.startswith("ready"):
                rn.fail(f"snapshot: wl_block_release {n} under leakwatch never became ready: "
                        + open(errpath).read()[-300:])
                verdicts.append("MISS (snapshot run failed)")
                continue
            time.sleep(1.2)  # past the default grace so the threads count as leaked
            times, files = [], []
            for _ in range(1 if args.quick else 3):
                dt, path = _take_snapshot(proc.pid, outdir)
                if dt is None:
                    rn.fail(f"snapshot of {n} threads: no file within 30 s")
                    break
                times.append(dt)
                files.append(path)
            threads = "?"
            size = os.path.getsize(files[-1]) if files else None
            if files:
                try:
                    with open(files[-1]) as f:
                        doc = json.load(f)
                    threads = len(doc.get("threads", []))
                    if threads < n:
                        rn.fail(f"snapshot of {n} threads lists only {threads} threads")
                    else:
                        rn.runs_ok += 1
                except (OSError, ValueError) as e:
                    rn.fail(f"snapshot of {n} threads is not valid JSON: {e}")
            snaps[n] = files
            scan_t, scan_n = _proc_scan(proc.pid)
            gdb_t = eus_t = None
            gdb_rc = eus_rc = "not run"
            if not args.quick:
                if shutil.which("gdb"):
                    gdb_t, gdb_rc = _timed_tool(["gdb", "-batch", "-nx", "-ex", "thread apply all bt",
                                                 "-p", str(proc.pid)], os.path.join(rn.tmp, "gdb.out"))
                if shutil.which("eu-stack"):
                    eus_t, eus_rc = _timed_tool(["eu-stack", "-p", str(proc.pid)],
                                                os.path.join(rn.tmp, "eu-stack.out"))
            rows.append([f"{n:,}", spread([t * 1e9 for t in times], fmt_ns),
                         f"{size / 1024:.0f} KiB" if size else "—", threads,
                         f"{scan_t:.3f} s ({scan_n} tasks)",
                         _tool_cell(gdb_t, gdb_rc), _tool_cell(eus_t, eus_rc)])
            if n == 10000:
                verdicts.append(verdict_le(med(times), 0.5, "no snapshot", lambda x: f"{x:.2f} s"))
            print(f"  snapshot {n}: {rows[-1]}", flush=True)
        finally:
            try:
                proc.stdin.close()  # EOF releases and joins the threads
            except OSError:
                pass
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                kill_pid(proc)
            proc.stdout.close()
    out.append("Process: `build/bench/wl_block_release N 600 spawner` under leakwatch (threads started by "
               "a spawner thread that has exited, so they are leaked candidates), all blocked in "
               "`pthread_cond_wait`. Time from `kill -USR2` to the complete file (polled every 1 ms; "
               "median of 3 signals, min–max). gdb/eu-stack attach to the same process, bounded at 60 s.\n")
    out.append(table(["threads", "signal → file", "file size", "threads in file", "bare /proc scan",
                      "`gdb -batch -ex 'thread apply all bt' -p`", "`eu-stack -p`"], rows))
    if not args.quick:
        out.append("\nTarget: snapshot of 10,000 threads < 0.5 s: **" + (verdicts[-1] if verdicts else "MISS") + "**\n")
    return verdicts


def _tool_cell(t, rc):
    if t is None:
        return "timeout (60 s)" if rc == "timeout" else str(rc)
    return f"{t:.2f} s" + ("" if rc == 0 else f" (exit {rc})")


# ---------------------------------------------------------------- analyzer
def analyzer(rn, args, out, snaps):
    out.append("\n## Analyzer: diff of two 10,000-thread snapshots\n")
    probe = subprocess.run(["make", "-n", "bench-analyzer"], capture_output=True, text=True)
    if probe.returncode == 0:
        rc, so, se = rn.run(["make", "--no-print-directory", "bench-analyzer"], dict(os.environ), 600)
        out.append("Output of `make bench-analyzer` (the analyzer's own benchmark):\n")
        out.append("```\n" + (so + se).strip()[-4000:] + "\n```\n")
        if rc != 0:
            rn.fail(f"make bench-analyzer: exit {rc}")
    diff = os.path.join(rn.build, "leakwatch-diff")
    files = snaps.get(10000) or []
    if not os.path.exists(diff) or len(files) < 2:
        why = "build/leakwatch-diff missing" if not os.path.exists(diff) else "no 10,000-thread snapshots"
        out.append(f"Diff of this suite's own snapshots not measured: {why}.\n")
        return [] if probe.returncode == 0 else [f"MISS (not measured: {why})"]
    a, b = files[0], files[-1]
    rows, times, verdicts = [], [], []
    for fmt in ("text", "json"):
        ts, rss, rcs = [], [], set()
        for _ in range(3):
            tf = os.path.join(rn.tmp, "time.out")
            cmd = ["/usr/bin/time", "-f", "%e %M", "-o", tf, diff, f"--format={fmt}",
                   "-o", os.path.join(rn.tmp, f"diff.{fmt}"), a, b]
            rc, so, se = rn.run(cmd, dict(os.environ), 120)
            rcs.add(rc)
            if rc not in (0, 1):
                rn.fail(f"leakwatch-diff --format={fmt}: exit {rc}: {se.strip()[-200:]}")
                break
            e, m = open(tf).read().split()[-2:]
            ts.append(float(e))
            rss.append(int(m))
        if ts:
            rn.runs_ok += 1
            rows.append([fmt, spread(ts, lambda x: f"{x:.2f} s"), f"{max(rss) / 1024:.0f} MiB",
                         ",".join(str(r) for r in sorted(rcs, key=str))])
            times += ts
    out.append(f"`/usr/bin/time -f '%e %M' build/leakwatch-diff --format=FMT -o FILE BEFORE AFTER` on the "
               f"first and last snapshots of the 10,000-thread process above ({os.path.getsize(a) // 1024} KiB "
               f"and {os.path.getsize(b) // 1024} KiB), 3 runs each.\n")
    out.append(table(["format", "wall time median (min–max)", "peak RSS", "exit status"], rows))
    v = verdict_le(med(times) if times else None, 1.5, "diff failed", lambda x: f"{x:.2f} s")
    out.append(f"\nTarget: diff < 1.5 s: **{v}**\n")
    print(f"  analyzer: {rows} -> {v}", flush=True)
    verdicts.append(v)
    return verdicts


# ---------------------------------------------------------------- memory
def memory(rn, args, out):
    out.append("\n## Memory: peak RSS of N live threads\n")
    rows, verdicts = [], []
    for n in (2000, 10000):
        rss = {v: [] for v in rn.variants}
        for _ in range(3):
            for v in rn.variants:
                tf = os.path.join(rn.tmp, "time.out")
                cmd = ["/usr/bin/time", "-f", "%M", "-o", tf, rn.bin("wl_block_release"), str(n)]
                res = rn.run_workload(cmd, v, timeout=120)
                if res:
                    rss[v].append(int(open(tf).read().split()[-1]))
        p, f, lw = (med(rss.get(v, [])) for v in ("plain", "floor", "leakwatch"))
        per_plain = (lw - p) * 1024 / n if lw and p else None
        per_floor = (lw - f) * 1024 / n if lw and f else None
        rows.append([f"{n:,}"] + [spread(rss.get(v), lambda x: f"{x / 1024:.1f} MiB") for v in rn.variants]
                    + ["—"] * (3 - len(rn.variants))
                    + ["—" if per_plain is None else f"{per_plain:,.0f} B",
                       "—" if per_floor is None else f"{per_floor:,.0f} B"])
        if n == 10000:
            verdicts.append(verdict_le(per_plain, 2048 + 512, "leakwatch not measured", lambda x: f"{x:,.0f} B"))
        print(f"  memory {n}: {rows[-1]}", flush=True)
    out.append("`/usr/bin/time -f %M build/bench/wl_block_release N` (N threads created, all blocked once "
               "in `pthread_cond_wait`, released, joined), 3 runs per variant, alternating; median "
               "(min–max) of maximum resident set size. Per-thread cost = (leakwatch − plain) / N.\n")
    out.append(table(["threads", "plain", "floor", "leakwatch", "lw − plain per thread", "lw − floor per thread"],
                     rows))
    out.append("\nTarget: ≤ 2 KiB of state per live thread plus its stacks (taken here as two 32-frame "
               "stacks, 512 B): ≤ 2,560 B per thread at 10,000 threads: **"
               + (verdicts[-1] if verdicts else "MISS") + "**\n")
    return verdicts


# ---------------------------------------------------------------- TSan / valgrind
TSAN_SIZE = {"thread_churn": 2000, "cond_pingpong": 5000, "sem_pingpong": 5000, "mutex_contended": 400000,
             "tcp_pingpong": 5000, "socketpair_pingpong": 5000, "poll_pingpong": 5000, "nanosleep_ticker": 1000,
             "block_release": 2000, "timer_churn": 20000}
VG_SIZE = {"thread_churn": 300, "cond_pingpong": 2000, "mutex_contended": 40000, "socketpair_pingpong": 2000, "poll_pingpong": 2000,
           "block_release": 200}


def _per_op(rn, cmd, variant, runs, env=None, timeout=120):
    xs = []
    for _ in range(runs):
        res = rn.run_workload(cmd, variant, timeout=timeout, env=env)
        if res is None:
            return xs, "failed"
        xs.append(res["elapsed_ns"] / res["ops"])
    return xs, None


def compare(rn, args, out):
    out.append("\n## Comparison: ThreadSanitizer and valgrind\n")
    rows = []
    tsan_env = dict(rn.env("plain"))
    tsan_env["TSAN_OPTIONS"] = "report_thread_leaks=1:halt_on_error=0"
    for name in TSAN_SIZE:
        n = str(TSAN_SIZE[name])
        wl = rn.bin("wl_" + name)
        ts = rn.bin(os.path.join("tsan", "wl_" + name))
        runs = [(v, [wl, n], None) for v in rn.variants]
        if os.path.exists(ts):
            runs.append(("tsan", [ts, n], tsan_env))
        meas = {v: [] for v, _, _ in runs}
        for _ in range(3):  # rounds: every variant once per round
            for v, cmd, env in runs:
                res = rn.run_workload(cmd, v, timeout=120, env=env)
                if res:
                    meas[v].append(res["elapsed_ns"] / res["ops"])
        p = med(meas.get("plain", []))
        cells = [name, n]
        for v in ("plain", "floor", "leakwatch", "tsan"):
            m = med(meas.get(v, []))
            cells.append("—" if m is None else
                         fmt_ns(m) + ("" if v == "plain" else f" (×{m / p:.2f})" if p else ""))
        rows.append(cells)
        print(f"  tsan {name}: {cells}", flush=True)
    out.append("Same workload sources; ThreadSanitizer build: `clang -fsanitize=thread -O2 -g` "
               "(build/bench/tsan/). Not pinned. Median of 3 rounds (plain, floor, leakwatch, TSan) at the reduced "
               "size shown; "
               "(×N) = ratio to plain at the same size.\n")
    out.append(table(["workload", "size", "plain", "floor", "leakwatch", "ThreadSanitizer"], rows))
    vrows = []
    vg = shutil.which("valgrind")
    for name, n in VG_SIZE.items():
        if not vg:
            break
        wl = rn.bin("wl_" + name)
        p, lwm = [], []
        for _ in range(3):  # plain and leakwatch alternate, as everywhere else
            p += _per_op(rn, [wl, str(n)], "plain", 1)[0]
            if rn.shim:
                lwm += _per_op(rn, [wl, str(n)], "leakwatch", 1)[0]
        pm = med(p)
        cells = [name, n, fmt_ns(pm)]
        cells.append(fmt_ns(med(lwm)) + (f" (×{med(lwm) / pm:.2f})" if lwm and pm else ""))
        for tool in ("none", "helgrind"):
            cmd = [vg, f"--tool={tool}", "-q", wl, str(n)]
            x, err = _per_op(rn, cmd, f"valgrind-{tool}", 1, env=rn.env("plain"), timeout=90)
            cells.append(f"{fmt_ns(x[0])} (×{x[0] / pm:.1f})" if x and pm else err or "—")
        vrows.append(cells)
        print(f"  valgrind {name}: {cells}", flush=True)
    if vrows:
        out.append(f"\nvalgrind {subprocess.run([vg, '--version'], capture_output=True, text=True).stdout.strip()}"
                   ", one run each at a smaller size (bounded at 90 s; plain and leakwatch: median of 3 "
                   "alternating runs), in-process timing of the same workload (valgrind's start-up is "
                   "not included):\n")
        out.append(table(["workload", "size", "plain", "leakwatch", "valgrind --tool=none",
                          "valgrind --tool=helgrind"], vrows))


# ---------------------------------------------------------------- instructions
INSTR_SIZES = {"thread_churn": (200, 600), "cond_pingpong": (1000, 3000), "sem_pingpong": (1000, 3000),
               "mutex_contended": (20000, 60000), "tcp_pingpong": (1000, 3000),
               "socketpair_pingpong": (1000, 3000), "poll_pingpong": (1000, 3000),
               "nanosleep_ticker": (200, 600),
               "block_release": (200, 600), "timer_churn": (2000, 6000)}
# The contended side of each lock call, deterministically (bench/wl_contended.c):
# what a shim adds per contended attempt, which the workloads above reach
# only as often as valgrind's scheduler makes them contend.
INSTR_CONTENDED = {"wl_contended " + m: (["wl_contended", m], 1000, 3000)
                   for m in ("mutex_timedlock", "sem_clockwait", "sem_timedwait", "cond_timedwait",
                             "sem_lifecycle", "uncontended")}
COLLECTED_RE = re.compile(r"Collected\s*:\s*(\d+)")


def contended_smoke(rn, out):
    """Quick runs only: every wl_contended mode once per variant (its checks
    fail the run if a hook changed a result), so the callgrind rows cannot rot."""
    for name, (argv, _, _) in INSTR_CONTENDED.items():
        for v in rn.variants:
            rn.run_workload([rn.bin(argv[0])] + argv[1:] + ["200"], v, timeout=60)
    out.append(f"\n- contended-path workloads ({len(INSTR_CONTENDED)} modes of wl_contended): run once per variant\n")


def _instructions(rn, variant, cmd):
    env = rn.env(variant)
    rc, so, se = rn.run(["valgrind", "--tool=callgrind", "--max-threads=1000", "--callgrind-out-file=/dev/null"] + cmd, env, 300)
    m = COLLECTED_RE.search(se or "")
    if rc != 0 or not m:
        rn.fail(f"callgrind {variant} {' '.join(os.path.basename(c) for c in cmd)}: exit {rc}")
        return None
    rn.runs_ok += 1
    return int(m.group(1))


def instructions(rn, args, out):
    """User-space instructions per operation (callgrind), from two sizes so
    start-up and exit cancel out. Deterministic where wall time is not; it
    says where leakwatch's extra work is, not what it costs in the kernel."""
    out.append("\n## Instructions per operation (callgrind)\n")
    if not shutil.which("valgrind"):
        out.append("valgrind is not installed: not measured.\n")
        return
    rows = []
    runs = [(name, ["wl_" + name], n1, n2) for name, (n1, n2) in INSTR_SIZES.items()]
    runs += [(name, argv, n1, n2) for name, (argv, n1, n2) in INSTR_CONTENDED.items()]
    for name, argv, n1, n2 in runs:
        per = {}
        cmd = [rn.bin(argv[0])] + argv[1:]
        for v in rn.variants:
            a = _instructions(rn, v, cmd + [str(n1)])
            b = _instructions(rn, v, cmd + [str(n2)])
            per[v] = (b - a) / (n2 - n1) if a is not None and b is not None else None
        cells = [name, f"{n1}/{n2}"] + [("—" if per.get(v) is None else f"{per[v]:,.0f}")
                                        for v in ("plain", "floor", "leakwatch")]
        lw, f = per.get("leakwatch"), per.get("floor")
        cells.append("—" if lw is None or f is None else f"{lw - f:+,.0f}")
        rows.append(cells)
        print(f"  instructions {name}: {cells}", flush=True)
    out.append("`valgrind --tool=callgrind` total instructions (all threads, user space) at two sizes; "
               "per operation = difference / difference in size. valgrind runs one thread at a time, "
               "so wake-up and contention patterns differ from a real run; syscalls are not counted. "
               "The `wl_contended` rows take the contended side of one call every time, whatever the "
               "scheduler does (`build/bench/wl_contended MODE N`: a held mutex or an empty semaphore "
               "with a deadline already past; `sem_lifecycle` is the init, free and contended wait, post and destroy of the lock "
               "CPython allocates per `Condition.wait`; `uncontended`, for contrast, a free mutex lock+unlock, "
               "a sem_post+sem_wait and a cond_signal nobody waits for).\n")
    out.append(table(["workload", "sizes", "plain", "floor", "leakwatch", "leakwatch − floor"], rows))
