#!/usr/bin/env python3
"""Quick overhead check: runs bench (churn, pingpong, mutex) plain, under
the forward-only interposer and under libleakwatch.so, alternating, and
prints medians and ratios. Not a test: numbers go to the report."""
import argparse, os, statistics, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("cases", nargs="*", default=["churn", "pingpong", "mutex"])
a = ap.parse_args()
bench = os.path.join(a.bin, "bench")
envs = {
    "plain": {},
    "fwd": {"LD_PRELOAD": os.path.abspath(os.path.join(a.bin, "fwd.so"))},
    "leakwatch": {"LD_PRELOAD": os.path.abspath(a.lib),
                  "LEAKWATCH_OPTIONS": "at_exit=0:quiet=1"},
}
res = {k: {} for k in envs}
for case in a.cases:
    for _ in range(a.runs):
        for name, extra in envs.items():
            env = dict(os.environ, **extra)
            out = subprocess.run([bench, case], env=env, capture_output=True, text=True,
                                 timeout=120).stdout.split()
            res[name].setdefault(case, []).append(float(out[1]))
# median and minimum: on a shared machine the minimum is the run least
# disturbed by other load
for case in a.cases:
    for stat in (statistics.median, min):
        p = stat(res["plain"][case])
        f = stat(res["fwd"][case])
        l = stat(res["leakwatch"][case])
        print(f"{case:9s} {stat.__name__:6s} plain {p:.4f}s fwd {f:.4f}s leakwatch {l:.4f}s "
              f"lw/plain {l/p:.3f} lw/fwd {l/f:.3f}")
