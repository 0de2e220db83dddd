#!/usr/bin/env bash
# run.sh — `make test-gate`: leakwatch-gate against real test runners with
# the real shim and analyzer: a plain test binary, a check suite in fork
# mode, /usr/bin/python3 -m unittest, ctest, a shell script running two binaries;
# with and without leaks; exit statuses (findings, CMD failure passthrough,
# --exitcode, signal death), suppressions, baselines, --keep, and the
# JUnit / SARIF / JSON / markdown files covering every process.
# Usage: tests/e2e/gate/run.sh BUILD_DIR. Writes "P F" to $LW_RESULTS_FILE.
set -u
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(pwd)
FIX=$SRC/tests/e2e/gate/fixtures
GATE=$BUILD/leakwatch-gate
passed=0 failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/lw-gate.XXXXXX")
trap 'rm -rf -- "$T"' EXIT

ok() { passed=$((passed + 1)); echo "  ok: $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL: $*"; }
# gate NAME WANT_STATUS GATE_ARGS... -- CMD...: runs the gate (60 s bound),
# keeps its report in $T/NAME.txt, checks the status.
gate() {
  local name=$1 want=$2 rc=0
  shift 2
  (cd "$T" && timeout 60 "$GATE" "$@") >"$T/$name.out" 2>"$T/$name.txt" </dev/null || rc=$?
  if [ "$rc" = "$want" ]; then
    ok "$name: exit status $rc"
  else
    bad "$name: exit status $rc, expected $want"; sed 's/^/    | /' "$T/$name.txt"
  fi
}
has() { # has NAME REGEX DESCRIPTION
  if grep -qE -- "$2" "$T/$1.txt"; then ok "$1: $3"; else bad "$1: $3 (no /$2/)"; sed 's/^/    | /' "$T/$1.txt"; fi
}
hasnt() {
  if grep -qE -- "$2" "$T/$1.txt"; then bad "$1: $3 (found /$2/)"; sed 's/^/    | /' "$T/$1.txt"; else ok "$1: $3"; fi
}

echo "== fixtures"
cc -std=c11 -Wall -Wextra -Werror -O0 -g -pthread -o "$T/plain_test" "$FIX/plain_test.c" || exit 1
# shellcheck disable=SC2046  # pkg-config output is a word list
cc -std=c11 -Wall -Wextra -Werror -O0 -g -pthread -o "$T/check_clean" "$FIX/check_suite.c" $(pkg-config --cflags --libs check) || exit 1
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -O0 -g -pthread -DLW_FIXTURE_LEAK -o "$T/check_leaky" "$FIX/check_suite.c" $(pkg-config --cflags --libs check) || exit 1
have_cmake=0
if command -v cmake >/dev/null && command -v ctest >/dev/null; then
  for v in clean leaky; do
    opt=OFF; [ $v = leaky ] && opt=ON
    cmake -S "$FIX/ctest" -B "$T/ctest-$v" -DLW_LEAK=$opt -DCMAKE_BUILD_TYPE=Debug >"$T/cmake-$v.log" 2>&1 &&
      cmake --build "$T/ctest-$v" >>"$T/cmake-$v.log" 2>&1 && have_cmake=1
  done
fi

echo "== a plain test binary"
gate plain-clean 0 -- "$T/plain_test" clean
has plain-clean "no new findings" "clean process says so"
has plain-clean "^SUMMARY: leakwatch-gate: 1 process\(es\) checked, 0 with new findings" "one SUMMARY line"
gate plain-leak 1 -- "$T/plain_test" leak
has plain-leak "metrics_ticker_main" "names the leaked thread's start routine"
has plain-leak "^SUMMARY: leakwatch-gate: .*1 with new findings \([0-9]+:plain_test\)" "SUMMARY names the process"
gate plain-fail 3 -- "$T/plain_test" fail
has plain-fail "command exited with status 3" "CMD's status passes through"
gate plain-exitcode 7 --exitcode=7 -- "$T/plain_test" leak
printf 'top:metrics_ticker_main\n' >"$T/ticker.supp"
gate plain-suppressed 0 --suppressions="$T/ticker.supp" -- "$T/plain_test" leak
hasnt plain-suppressed "with new findings \(" "suppressed leak is not a failure"
gate plain-failon 0 --fail-on=socket -- "$T/plain_test" leak

echo "== report files covering every process"
gate fmt-junit 1 --format=junit -o "$T/r.xml" -- "$FIX/two_bins.sh" "$T/plain_test" leak clean
if python3 - "$T/r.xml" <<'EOF'
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "testsuites", r.tag
suites = r.findall("testsuite")
assert len(suites) >= 3, len(suites)
assert sum(len(s.findall(".//failure")) for s in suites) >= 1
assert all("pid" in s.get("name") for s in suites)
EOF
then ok "junit: <testsuites> with one suite per process, a failure"; else bad "junit file"; fi
gate fmt-sarif 1 --format=sarif -o "$T/r.sarif" -- "$FIX/two_bins.sh" "$T/plain_test" leak clean
if python3 - "$T/r.sarif" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
# two_bins.sh runs under dash, which leaves through _exit(): no exit
# snapshot, so no run for it; one run per binary.
assert d["version"] == "2.1.0" and len(d["runs"]) >= 2, len(d["runs"])
assert sum(len(r.get("results", [])) for r in d["runs"]) >= 1
EOF
then ok "sarif: one run per process, a result"; else bad "sarif file"; fi
gate fmt-json 1 --format=json -o "$T/r.json" -- "$FIX/two_bins.sh" "$T/plain_test" leak clean
if python3 - "$T/r.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
procs = d["processes"]
assert len(procs) >= 3
leaky = [p for p in procs if p["status"] == "findings"]
assert len(leaky) == 1, [(p["exe"], p["status"]) for p in procs]
assert any(f["start_routine"] == "metrics_ticker_main" for f in leaky[0]["report"]["new"])
EOF
then ok "json: processes array, the leaking one has the finding"; else bad "json file"; fi
gate fmt-md 1 --format=markdown -o "$T/r.md" -- "$T/plain_test" leak
if grep -q "metrics_ticker_main" "$T/r.md"; then ok "markdown file names the leak"; else bad "markdown file"; fi

echo "== check suite (fork mode: each test in a forked child)"
gate check-clean 0 -- "$T/check_clean"
gate check-leaky 1 -- "$T/check_leaky"
has check-leaky "inbox_poller_main" "names the poller left by a forked test child"
has check-leaky "forked child: compared with parent [0-9]+'s start snapshot" "forked child diffed against the runner's start"

echo "== /usr/bin/python3 -m unittest"
gate py-clean 0 -- /usr/bin/python3 -m unittest discover -s "$FIX" -p 'test_pyunit.py'
LW_FIXTURE_LEAK=1 gate py-leaky 1 -- /usr/bin/python3 -m unittest discover -s "$FIX" -p 'test_pyunit.py'
# the consumer was started from the main thread (the process scope): alive_at_exit
has py-leaky "alive_at_exit" "reports the thread still running at exit"

echo "== ctest"
if [ $have_cmake = 1 ]; then
  # ctest's libuv opens process-lifetime signal pipes from main
  # (uv_loop_init); they belong to the root context, so the exit snapshot
  # does not count them as leaked: no suppression is needed.
  gate ctest-clean 0 -- ctest --test-dir "$T/ctest-clean"
  has ctest-clean "^SUMMARY: leakwatch-gate: 3 process" "ctest and both test processes are checked"
  gate ctest-leaky 1 -- ctest --test-dir "$T/ctest-leaky"
  has ctest-leaky "metrics_ticker_main" "names the leak in the test process"
else
  echo "  skip: cmake/ctest not available or the fixture did not build"
fi

echo "== a shell script running two binaries"
gate script-clean 0 -- "$FIX/two_bins.sh" "$T/plain_test" clean clean
has script-clean "^SUMMARY: leakwatch-gate: [3-9] process" "the shell and both binaries are checked"
gate script-leaky 1 -- "$FIX/two_bins.sh" "$T/plain_test" clean leak
has script-leaky "metrics_ticker_main" "names the leak in the second binary"

echo "== exec wrappers: the program they exec is checked"
printf '#!/bin/sh\nexec "$@"\n' >"$T/wrap.sh"; chmod +x "$T/wrap.sh"
gate wrapped-leak 1 -- "$T/wrap.sh" "$T/wrap.sh" env "$T/plain_test" leak
has wrapped-leak "metrics_ticker_main" "a leak behind two exec wrappers and env is found"
has wrapped-leak "^SUMMARY: leakwatch-gate: 1 process\(es\) checked, 1 with new findings \([0-9]+:plain_test\)" "the wrappers are not processes of their own"
gate wrapped-clean 0 -- "$T/wrap.sh" env "$T/plain_test" clean
gate fmt-md-alias 1 --format=md -o "$T/r2.md" -- "$T/plain_test" leak
if grep -q "metrics_ticker_main" "$T/r2.md"; then ok "--format=md (the alias diff accepts) works for the gate"; else bad "gate --format=md"; fi

echo "== --fail-on=none: the exit status and every report file agree"
gate failon-none 0 --fail-on=none --format=junit -o "$T/none.xml" -- "$T/plain_test" leak
if grep -q 'failures="0"' "$T/none.xml" && ! grep -q "<failure" "$T/none.xml"; then ok "junit says no failures"; else bad "junit under --fail-on=none"; fi
gate failon-none-json 0 --fail-on=none --format=json -o "$T/none.json" -- "$T/plain_test" leak
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not any(f["fails"] for p in d["processes"] if p["report"] for f in p["report"]["new"]); assert not any(p["report"]["summary"]["fails"] for p in d["processes"] if p["report"])' "$T/none.json"; then ok "json says nothing fails"; else bad "json under --fail-on=none"; fi

echo "== processes without an exit snapshot"
gate killed 137 -- bash -c 'kill -KILL $$'
has killed "no exit snapshot: it was killed by a signal, called _exit\(\)" "says so for the killed pid"
gate underscore-exit 0 -- /usr/bin/python3 -c 'import os; os._exit(0)'
has underscore-exit "no exit snapshot" "says so for a process that called _exit"

echo "== --keep and --baseline"
gate keep 1 --keep="$T/kept" -- "$T/plain_test" leak
n=$(find "$T/kept" -name 'leakwatch-*.json' | wc -l)
if [ "$n" -ge 2 ]; then ok "keep: $n snapshots kept"; else bad "keep: $n snapshots kept, expected >= 2"; fi
perms=$(find "$T/kept" -name 'leakwatch-*.json' -perm 0600 | wc -l)
if [ "$perms" = "$n" ]; then ok "keep: snapshots are mode 0600"; else bad "keep: snapshot modes"; fi
start=$(grep -l '"trigger": *"start"' "$T"/kept/leakwatch-*.json | head -n 1)
exit_=$(grep -l '"trigger": *"exit"' "$T"/kept/leakwatch-*.json | head -n 1)
if [ -n "$start" ] && [ -n "$exit_" ] && "$BUILD/leakwatch-diff" --write-baseline="$T/baseline" "$start" "$exit_" >/dev/null 2>&1; [ -s "$T/baseline" ]; then
  gate baseline 0 --baseline="$T/baseline" -- "$T/plain_test" leak
  sed 's/^\([a-z_]*:[0-9a-f]*\).*/\1 owner=ci expires=2000-01-01/' "$T/baseline" >"$T/baseline-expired"
  gate baseline-expired 1 --baseline="$T/baseline-expired" -- "$T/plain_test" leak
  has baseline-expired "expire" "an expired baseline entry is said so"
else
  bad "baseline: could not write one with leakwatch-diff --write-baseline"
fi

echo "== the quick start as the README prints it: run ... &, then snapshot \$! at once"
mkdir -p "$T/qs"
qs_ok=0
for _ in 1 2 3 4; do
  "$BUILD/leakwatch" run --opt "output=$T/qs/svc-%p-%n.json" --opt at_exit=0 -- sleep 30 &
  qpid=$!
  if f=$("$BUILD/leakwatch" snapshot "$qpid" 2>"$T/qs.err") && [ "$f" = "$T/qs/svc-$qpid-1.json" ] && [ -s "$f" ]; then
    qs_ok=$((qs_ok + 1))
  else
    sed 's/^/    | /' "$T/qs.err"
  fi
  kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
done
if [ $qs_ok = 4 ]; then ok "snapshot right after run: 4 of 4"; else bad "snapshot right after run: $qs_ok of 4"; fi

echo "== leakwatch snapshot"
# A relative output pattern with %e resolves against the process's cwd.
mkdir -p "$T/snapcwd"
(cd "$T/snapcwd" && exec "$BUILD/leakwatch" run --opt 'output=snap-%e-%p-%n.json' --opt at_exit=0 -- sleep 30) &
spid=$!
# under load the wrapper may take a while to exec the program: wait for it
for _ in $(seq 200); do grep -q 'libleakwatch\.so' "/proc/$spid/maps" 2>/dev/null && break; sleep 0.05; done
if f=$("$BUILD/leakwatch" snapshot --timeout=5 "$spid" 2>"$T/snap.err") && [ "$f" = "$T/snapcwd/snap-sleep-$spid-1.json" ] && [ -s "$f" ]; then
  ok "snapshot prints the new file ($f)"
else
  bad "snapshot: got '$f'"; sed 's/^/    | /' "$T/snap.err"
fi
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
# A program with its own SIGUSR2 handler: the snapshot signal steps aside,
# the control channel still answers (and sends the program no signal).
"$BUILD/leakwatch" run --opt "output=$T/own-%p-%n.json" --opt at_exit=0 --opt quiet=1 -- \
  /usr/bin/python3 -c 'import signal, sys, time; signal.signal(signal.SIGUSR2, lambda *a: None); open(sys.argv[1], "w").close(); time.sleep(30)' "$T/own.ready" &
spid=$!
for _ in $(seq 200); do [ -e "$T/own.ready" ] && break; sleep 0.05; done
rc=0; f=$("$BUILD/leakwatch" snapshot --timeout=5 "$spid" 2>"$T/snap2.err") || rc=$?
if [ $rc = 0 ] && [ "$f" = "$T/own-$spid-1.json" ] && grep -q '"trigger":"request"' "$f" && kill -0 "$spid"; then
  ok "snapshot: a program owning SIGUSR2 answers through the channel"
else
  bad "snapshot own handler: status $rc, '$f'"; sed 's/^/    | /' "$T/snap2.err"
fi
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null

echo "$passed passed, $failed failed"
[ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $failed" >"$LW_RESULTS_FILE"
[ "$failed" = 0 ]
