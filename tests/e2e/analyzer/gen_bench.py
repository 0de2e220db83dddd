#!/usr/bin/env python3
"""Synthetic snapshots for `make bench-analyzer`: N threads whose stacks are
real addresses inside the functions of MODULE (a -g ELF, found with nm), so
the diff does real symbolization work. BEFORE and AFTER are the same process;
AFTER is taken later with more scopes ended. NSTACKS distinct creation stacks
(default 200; each with its own start routine, so about that many sites —
real services start thousands of threads from a few code paths; pass N for
the worst case of one site per thread).
usage: gen_bench.py MODULE N BEFORE AFTER [NSTACKS]"""
import json, random, subprocess, sys

module, n, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
nstacks_arg = int(sys.argv[5]) if len(sys.argv) > 5 else 200
rnd = random.Random(42)
syms = []
for line in subprocess.run(["nm", "-S", "--defined-only", module], capture_output=True, text=True).stdout.splitlines():
    p = line.split()
    if len(p) == 4 and p[2] in "tT" and int(p[1], 16) > 8:
        syms.append((int(p[0], 16), int(p[1], 16)))
assert syms, "no functions in " + module
BASE = 0x555500000000
NSTACKS = max(1, min(n, nstacks_arg))
stacks = []
for _ in range(NSTACKS):
    frames = []
    for _ in range(16):
        a, sz = rnd.choice(syms)
        off = a + rnd.randrange(1, sz)
        frames.append({"ip": BASE + off, "module": 0, "offset": off})
    stacks.append(frames)

def snap(now_s, cancelled_upto):
    ctxs = [{"id": 1, "parent": None, "label": None, "kind": "root", "owner_tid": 1000, "owner_start": None,
             "created_ns": 0, "cancelled_ns": None, "cause": None, "cancel_origin": None, "background": False}]
    threads = [{"tid": 1000, "kind": "main", "name": "bench", "start_routine": None, "created_ns": None,
                "creator_tid": None, "context": 1, "creation_stack": None, "state": "running", "blocked": None}]
    for i in range(n):
        cid = i + 2
        a, _ = syms[(i % NSTACKS) % len(syms)]
        cancelled = i < cancelled_upto
        ctxs.append({"id": cid, "parent": 1 if i < 50 else 2 + (i % 50), "label": "req-%d" % (i % 50) if i < 50 else None,
                     "kind": "thread", "owner_tid": 2000 + i,
                     "owner_start": {"ip": BASE + a, "module": 0, "offset": a}, "created_ns": i,
                     "cancelled_ns": 1_000_000_000 if cancelled else None, "cause": "exited" if cancelled else None,
                     "cancel_origin": cid if cancelled else None, "background": False})
        st = i % NSTACKS
        threads.append({"tid": 2000 + i, "kind": "tracked", "name": "w%d" % (i % 7),
                        "start_routine": {"ip": BASE + a, "module": 0, "offset": a}, "created_ns": i,
                        "creator_tid": 1000, "context": cid, "creation_stack": st, "state": "blocked",
                        "blocked": {"call": "pthread_cond_wait", "family": "cond", "source": "intercepted",
                                    "object": 0x7000 + i, "fd": None, "fds": [], "object_owner": cid,
                                    "holder_tid": None, "join_target_tid": None, "since_ns": 500_000_000,
                                    "timeout_ns": None, "stack": (st + 1) % NSTACKS, "caller": None},
                        "waits": 3, "wakes_since_cancel": 1, "exited_ns": None, "exit": None, "joined": False,
                        "detached": False, "cancel_requested_ns": None, "attributed_to": None})
    return {"leakwatch_schema": 1, "pid": 4242, "exe": "/bench", "trigger": "signal",
            "taken_at": {"realtime_ns": 1, "monotonic_ns": now_s * 1_000_000_000},
            "modules": [{"path": module, "base": BASE, "start": BASE, "end": BASE + 0x1000000, "build_id": None}],
            "stacks": stacks, "contexts": ctxs, "threads": threads, "timers": [], "sockets": []}

json.dump(snap(5, n // 2), open(before, "w"))
json.dump(snap(9, n), open(after, "w"))
