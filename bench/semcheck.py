#!/usr/bin/env python3
"""semcheck.py PLAIN LW SNAPSHOT [RESULTS] — verdict of test-bench-semantics.

Owns: comparing bench/semcheck's output plain and under leakwatch (must be
identical, line by line) and checking that leakwatch's snapshot recorded the
two unjoined threads' exits as "pthread_exit" and "cancelled". Must never:
pass on a missing or empty file. Exit 0 only when every check passed.
"""
import json
import sys


def main(argv):
    if len(argv) < 4:
        print("usage: semcheck.py PLAIN LW SNAPSHOT [RESULTS]", file=sys.stderr)
        return 2
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}")

    try:
        plain = open(argv[1]).read().splitlines()
        lw = open(argv[2]).read().splitlines()
    except OSError as e:
        print(f"FAIL cannot read outputs: {e}")
        plain, lw = [], []
    check(len(plain) >= 30, f"plain run printed {len(plain)} lines (expected >= 30)")
    for i in range(max(len(plain), len(lw))):
        a = plain[i] if i < len(plain) else "<missing>"
        b = lw[i] if i < len(lw) else "<missing>"
        check(a == b, f"line {i + 1}: plain '{a}' vs leakwatch '{b}'")
    try:
        snap = json.load(open(argv[3]))
        exits = sorted(t.get("exit") or "" for t in snap["threads"]
                       if t.get("kind") == "tracked" and t.get("state") == "exited")
    except (OSError, ValueError, KeyError) as e:
        print(f"FAIL snapshot {argv[3]}: {e}")
        exits = None
    check(exits == ["cancelled", "pthread_exit"],
          f"unjoined exited threads recorded as {exits}, expected ['cancelled', 'pthread_exit']")
    print(f"test-bench-semantics: {passed} passed, {failed} failed")
    if len(argv) > 4:
        try:
            with open(argv[4], "w") as f:
                f.write(f"{passed} {failed}\n")
        except OSError:
            pass
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
