"""bench_util.py — process handling and formatting for bench/run.py.

Owns: the three variants (plain, floor, leakwatch) and their environments,
running one workload with a time bound and parsing its result line, stopping
servers by pid, statistics and markdown tables. Must never leave a child
running: every Popen is waited for, and killed by its own pid on timeout.
"""
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

RESULT_RE = re.compile(r"^bench (\S+) (.*)$", re.M)


def parse_result(text):
    """The last 'bench NAME k=v ...' line of `text` as a dict, or None."""
    found = RESULT_RE.findall(text)
    if not found:
        return None
    name, rest = found[-1]
    res = {"name": name}
    for kv in rest.split():
        k, _, v = kv.partition("=")
        try:
            res[k] = int(v)
        except ValueError:
            try:
                res[k] = float(v)
            except ValueError:
                res[k] = v
    if not isinstance(res.get("ops"), int) or not isinstance(res.get("elapsed_ns"), int) or res["ops"] <= 0:
        return None
    return res


def fmt_ns(ns):
    if ns is None:
        return "—"
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs, fmt):
    """'median (min–max)' of xs with `fmt` for each number."""
    if not xs:
        return "—"
    return f"{fmt(med(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines) + "\n"


def kill_pid(proc, grace=5.0):
    """Stop one child we started, by its pid: SIGTERM, then SIGKILL."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)
    return proc.returncode


class Runner:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.bench_dir = os.path.join(self.build, "bench")
        self.floor = os.path.join(self.bench_dir, "libfloor.so")
        self.tmp = tempfile.mkdtemp(prefix="lw-bench-")
        # The shim is copied once: it may be rebuilt in the tree while the
        # suite runs, and every figure of one run must come from one build.
        shim = os.path.join(self.build, "libleakwatch.so")
        self.shim, self.shim_id = None, None
        if os.path.exists(shim):
            self.shim = os.path.join(self.tmp, "libleakwatch.so")
            shutil.copy2(shim, self.shim)
            with open(self.shim, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:12]
            built = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(shim)))
            self.shim_id = f"sha256 {digest}, built {built} UTC"
        self.variants = ["plain", "floor"] + (["leakwatch"] if self.shim else [])
        self.failures = []
        self.runs_ok = 0

    def bin(self, name):
        return os.path.join(self.bench_dir, name)

    def variant_desc(self):
        d = ["plain (no preload)", f"floor (LD_PRELOAD={os.path.relpath(self.floor)})"]
        if self.shim:
            d.append(f"leakwatch (LD_PRELOAD=a copy of build/libleakwatch.so taken at the start, "
                     f"{self.shim_id}; LEAKWATCH_OPTIONS={self.lw_options('DIR')})")
        else:
            d.append("leakwatch: NOT BUILT (build/libleakwatch.so missing) — its rows are missing")
        return d

    def coverage_notes(self):
        path = os.path.join(self.bench_dir, "floor-coverage.txt")
        try:
            lines = open(path).read().split("\n")
        except OSError:
            return ["floor coverage unknown (floor-coverage.txt missing)"]
        n = next((ln.split()[1] for ln in lines if ln.startswith("floor_exports ")), "?")
        missing = [ln.split()[1] for ln in lines if ln.startswith("floor_missing ")]
        notes = [f"floor forwards {n} functions: the ones the shim exports and the floor has a wrapper for"]
        if missing:
            notes.append("WARNING: shim exports with no floor wrapper (floor is cheaper than it should be): "
                         + ", ".join(missing))
        return notes

    @staticmethod
    def lw_options(outdir, extra=""):
        # at_exit=0: the exit snapshot is measured on its own (snapshot
        # section); micro timings are taken inside the process anyway.
        opts = f"output={outdir}/lw-%p-%n.json:at_exit=0"
        return opts + (":" + extra if extra else "")

    def env(self, variant, lw_extra="", outdir=None):
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.pop("LEAKWATCH_OPTIONS", None)
        if variant == "floor":
            e["LD_PRELOAD"] = self.floor
        elif variant == "leakwatch":
            e["LD_PRELOAD"] = self.shim
            e["LEAKWATCH_OPTIONS"] = self.lw_options(outdir or self.tmp, lw_extra)
        elif variant != "plain":
            raise ValueError(variant)
        return e

    def fail(self, what):
        self.failures.append(what)
        print(f"  FAILED: {what}", flush=True)

    def run(self, cmd, env, timeout, stdin=subprocess.DEVNULL):
        """Runs cmd; returns (rc, stdout, stderr) or (None, out, err) on timeout."""
        p = subprocess.Popen(cmd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, errors="replace")
        try:
            out, err = p.communicate(timeout=timeout)
            return p.returncode, out, err
        except subprocess.TimeoutExpired:
            kill_pid(p, grace=1)
            out, err = p.communicate()
            return None, out, err

    def run_workload(self, cmd, variant, timeout=120, env=None):
        rc, out, err = self.run(cmd, env or self.env(variant), timeout)
        res = parse_result(out)
        if rc != 0 or res is None:
            why = "timeout" if rc is None else f"exit {rc}"
            tail = " / ".join(err.strip().splitlines()[-3:])
            self.fail(f"{variant}: {' '.join(os.path.basename(c) for c in cmd)}: {why} {tail}")
            return None
        self.runs_ok += 1
        return res

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_port(port, proc, timeout=10.0):
    """True once 127.0.0.1:port accepts a connection (and proc still runs)."""
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
