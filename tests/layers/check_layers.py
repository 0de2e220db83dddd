#!/usr/bin/env python3
"""check_layers.py PRELOAD_DIR OBJ_DIR LIBLEAKWATCH

The shim's layering (docs/design.md section 3.1), checked from what the
build produced rather than from what its comments say:

  1. every source sits in a layer folder: hooks runtime snapshot resources
     core platform (read top-down);
  2. #include "...": a file includes headers of its own layer or a lower
     one, and headers include each other without a cycle;
  3. symbols (nm on the objects): a file references only what its own layer
     or a lower one defines, and no two files reference each other through
     a cycle;
  4. interception: every name the library exports (but the API table) is in
     the one interception list (platform/lw_intercept.h), and no object
     outside hooks/ and platform/ references a listed name (it would call
     its own hook); dlsym/dlvsym only in platform/;
  5. one fork sequence (one pthread_atfork reference, in runtime/lw_fork.c)
     and no weak-symbol stand-ins.

Prints one line per violation; exit status 1 if there is any.
"""
import collections
import os
import re
import subprocess
import sys

LAYERS = ["hooks", "runtime", "snapshot", "resources", "core", "platform"]
API_EXPORTS = {"leakwatch_api_v1"}


def nm(args, path):
    out = subprocess.run(["nm"] + args + [path], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def cycles(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    pre, obj, lib = sys.argv[1], sys.argv[2], sys.argv[3]
    bad = []
    checks = 0

    def check(ok, msg):
        nonlocal checks
        checks += 1
        if not ok:
            bad.append(msg)

    files = []
    for root, _, names in os.walk(pre):
        for n in names:
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(root, n), pre))
    files.sort()
    layer = {}
    for f in files:
        top = f.split("/")[0] if "/" in f else ""
        check(top in LAYERS and f.count("/") == 1,
              f"preload/{f}: not in a layer folder ({' '.join(LAYERS)})")
        layer[f] = LAYERS.index(top) if top in LAYERS else -1

    # 2. includes
    by_name = collections.defaultdict(list)
    for f in files:
        if f.endswith(".h"):
            by_name[os.path.basename(f)].append(f)
    for n, fs in by_name.items():
        check(len(fs) == 1, f"header {n} exists twice: {fs}")
    inc = collections.defaultdict(set)
    for f in files:
        text = open(os.path.join(pre, f), encoding="utf-8").read()
        for m in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
            hs = by_name.get(os.path.basename(m.group(1)))
            if not hs:
                continue  # include/leakwatch.h and other non-shim headers
            h = hs[0]
            inc[f].add(h)
            check(layer[h] >= layer[f],
                  f"preload/{f} includes {h}: a {LAYERS[layer[h]]} header from the "
                  f"{LAYERS[layer[f]]} layer above it")
    for c in cycles([f for f in files if f.endswith(".h")],
                    {k: {h for h in v} for k, v in inc.items() if k.endswith(".h")}):
        check(False, f"include cycle between headers: {' -> '.join(c)}")
    checks += 1

    # 3. symbols
    defs, undef = {}, collections.defaultdict(set)
    objs = {}
    for f in files:
        if f.endswith(".c"):
            o = os.path.join(obj, f[:-2] + ".o")
            check(os.path.exists(o), f"{o}: missing (build first)")
            if os.path.exists(o):
                objs[f] = o
    for f, o in objs.items():
        for line in nm([], o):
            p = line.split()
            if len(p) == 2 and p[0] == "U":
                undef[f].add(p[1])
            elif len(p) == 3 and p[1] in "TDBRGSV":
                defs[p[2]] = f
            if len(p) == 3 and p[1] in "WV":
                check(False, f"preload/{f}: weak definition {p[2]} (no weak stand-ins)")
        src = open(os.path.join(pre, f), encoding="utf-8").read()
        check("__attribute__((weak" not in src.replace(" ", ""),
              f"preload/{f}: declares a weak symbol (no weak stand-ins)")
    refs = collections.defaultdict(set)
    for f, syms in undef.items():
        for s in sorted(syms):
            t = defs.get(s)
            if not t or t == f:
                continue
            refs[f].add(t)
            check(layer[t] >= layer[f],
                  f"preload/{f} uses {s} from {t}: the {LAYERS[layer[t]]} layer is above "
                  f"{LAYERS[layer[f]]}")
    for c in cycles(list(objs), refs):
        check(False, f"call cycle between files: {' <-> '.join(c)}")
    checks += 1

    # 4. interception
    text = open(os.path.join(pre, "platform/lw_intercept.h"), encoding="utf-8").read()
    listed = set(re.findall(r"^\s*X\([^,]+,\s*(\w+)\s*,", text, re.M))
    check(len(listed) > 50, f"interception list: only {len(listed)} names found")
    exported = set()
    for line in nm(["-D", "--defined-only"], lib):
        p = line.split()
        if len(p) == 3:
            exported.add(p[2])
    for s in sorted(exported - listed - API_EXPORTS):
        check(False, f"{lib} exports {s}, which is not in the interception list")
    interposed = listed & exported
    check(len(interposed) > 50, f"only {len(interposed)} listed names are exported")
    for f, syms in sorted(undef.items()):
        top = LAYERS[layer[f]]
        for s in sorted(syms):
            base = s.split("@")[0]
            if top not in ("hooks", "platform") and base in interposed:
                check(False, f"preload/{f} calls {base}, a name the shim interposes "
                             f"(use the platform layer)")
            if top != "platform" and base in ("dlsym", "dlvsym"):
                check(False, f"preload/{f} resolves symbols itself ({base}): "
                             f"add the function to the interception list")

    # 5. fork sequence
    atfork = sorted(f for f, syms in undef.items() if "pthread_atfork" in syms)
    check(atfork == ["runtime/lw_fork.c"],
          f"pthread_atfork referenced by {atfork or 'nothing'}: one fork sequence, "
          f"runtime/lw_fork.c")

    for b in bad:
        print("layers:", b)
    print(f"layers: {checks - len(bad)} checks passed, {len(bad)} failed "
          f"({len(files)} files, {len(interposed)} interposed names)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
