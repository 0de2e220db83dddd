#!/usr/bin/env bash
# demo.sh — `make demo`: the whole leakwatch job on the bundled service.
#
#   1. start examples/service under the preload (`leakwatch run`) on a free
#      127.0.0.1 port, warm it up on /status, take a snapshot
#      (`leakwatch snapshot PID`);
#   2. drive load on /report with the bundled client, wait past the grace
#      period, take a second snapshot;
#   3. `leakwatch diff` the two and show the report; stop the service by pid;
#   4. run the CI gate on a small test binary: it fails, then passes with a
#      suppression file.
# With --check (make test-demo) it also asserts on every step and exits
# non-zero when the report is not what the README promises.
#
# It owns build/demo/ and the one service process it starts (killed on every
# exit path); it never touches anything else.
set -u
BUILD=${1:-build}
CHECK=0
[ "${2:-}" = "--check" ] && CHECK=1
REQUESTS=${LW_DEMO_REQUESTS:-20}
DEMO=$BUILD/demo
LW=$BUILD/leakwatch
svc_pid=""
passed=0 failed=0

cleanup() {
  if [ -n "$svc_pid" ] && kill -0 "$svc_pid" 2>/dev/null; then
    kill -KILL "$svc_pid" 2>/dev/null
  fi
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  [ $CHECK = 1 ] || return 0
  if "$@"; then
    passed=$((passed + 1)); echo "  ok: $what"
  else
    failed=$((failed + 1)); echo "  FAIL: $what"
  fi
}
fatal() {
  echo "demo: $*" >&2
  [ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $((failed + 1))" >"$LW_RESULTS_FILE"
  exit 1
}

rm -rf "$DEMO"
mkdir -p "$DEMO"
DEMO=$(cd "$DEMO" && pwd)
start_s=$SECONDS

say "1. start the service under leakwatch (thread per connection, 127.0.0.1, free port)"
echo "\$ leakwatch run --opt output=$DEMO/service-%p-%n.json --opt at_exit=0 -- $BUILD/examples/service --port 0 --port-file $DEMO/port"
"$LW" run --opt "output=$DEMO/service-%p-%n.json" --opt at_exit=0 -- \
  "$BUILD/examples/service" --port 0 --port-file "$DEMO/port" >"$DEMO/service.log" 2>&1 &
svc_pid=$!
for _ in $(seq 100); do
  [ -s "$DEMO/port" ] && break
  kill -0 "$svc_pid" 2>/dev/null || fatal "the service exited early: $(cat "$DEMO/service.log")"
  sleep 0.05
done
[ -s "$DEMO/port" ] || fatal "the service did not start within 5 s"
port=$(cat "$DEMO/port")
echo "service pid $svc_pid listening on 127.0.0.1:$port"

say "2. warm up (/status, leaks nothing) and take the first snapshot"
"$BUILD/examples/client" "$port" 5 /status || fatal "warm-up requests failed"
echo "\$ leakwatch snapshot $svc_pid"
before=$("$LW" snapshot "$svc_pid") || fatal "first snapshot failed"
echo "$before"

say "3. drive load: $REQUESTS requests to /report, then wait past the grace period (1 s)"
"$BUILD/examples/client" "$port" "$REQUESTS" /report || fatal "load requests failed"
sleep 1.3
echo "\$ leakwatch snapshot $svc_pid"
after=$("$LW" snapshot "$svc_pid") || fatal "second snapshot failed"
echo "$after"

say "4. what leaked in between"
echo "\$ leakwatch diff $before $after"
diff_rc=0
"$LW" diff --color=never "$before" "$after" >"$DEMO/report.txt" 2>&1 || diff_rc=$?
cat "$DEMO/report.txt"
json_rc=0
"$LW" diff --format=json -o "$DEMO/report.json" "$before" "$after" >/dev/null 2>&1 || json_rc=$?
echo "(leakwatch diff exit status: $diff_rc; JSON report in $DEMO/report.json)"

say "5. stop the service (pid $svc_pid)"
kill -TERM "$svc_pid" 2>/dev/null
for _ in $(seq 60); do kill -0 "$svc_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$svc_pid" 2>/dev/null && kill -KILL "$svc_pid"
wait "$svc_pid" 2>/dev/null
svc_pid=""
echo "stopped"

check "diff exits 1 (new findings)" [ "$diff_rc" = 1 ]
check "JSON diff exits 1" [ "$json_rc" = 1 ]
for word in progress_poller_main report_worker_main handle_request nanosleep lookup_upstream; do
  check "text report names $word" grep -q "$word" "$DEMO/report.txt"
done
check "text report does not name the cancelled path (cache_refresher_main)" \
  bash -c "! grep -q cache_refresher_main '$DEMO/report.txt'"
check "text report ends with a SUMMARY line" bash -c "tail -n 1 '$DEMO/report.txt' | grep -q '^SUMMARY: '"
check "JSON: poller leaked x$REQUESTS, blocked in nanosleep, created by worker <- handler; sockets leaked x$REQUESTS" \
  python3 - "$DEMO/report.json" "$REQUESTS" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1])); n = int(sys.argv[2])
new = doc["new"]
def fn_names(stack): return [f.get("function") or "" for f in stack or []]
poll = [f for f in new if f["kind"] == "thread" and f.get("start_routine") == "progress_poller_main"]
assert poll, "no poller finding: %s" % [f.get("title") for f in new]
p = poll[0]
assert p["verdict"] == "leaked", p["verdict"]
assert sum(f["count"] for f in poll) == n, [f["count"] for f in poll]
assert "nanosleep" in p["blocked"]["call"], p["blocked"]
assert p["blocked"]["family"] == "sleep", p["blocked"]
chain = [c.get("function") for c in p["creators"]]
assert chain[:2] == ["report_worker_main", "handle_request"], chain
assert p["context"]["cause"] == "exited", p["context"]
socks = [f for f in new if f["kind"] == "socket"]
assert sum(f["count"] for f in socks) >= n, [(f["title"], f["count"]) for f in socks]
assert any("lookup_upstream" in fn_names(f["creation_stack"]) for f in socks), "socket creation stack"
for f in new + doc.get("persisting", []):
    assert "cache_refresher_main" not in json.dumps(f), f["title"]
EOF

say "6. the CI gate on a test binary that leaves a thread behind"
echo "\$ leakwatch-gate -- $BUILD/examples/cache_tests"
gate_rc=0
"$BUILD/leakwatch-gate" -- "$BUILD/examples/cache_tests" 2>"$DEMO/gate-fail.txt" || gate_rc=$?
cat "$DEMO/gate-fail.txt"
verdict() { case $1 in 0) echo "the CI job passes" ;; 1) echo "the CI job fails on the leak" ;; *) echo "the gate itself failed" ;; esac; }
echo "(leakwatch-gate exit status: $gate_rc — $(verdict "$gate_rc"))"
check "gate fails with status 1 on the leaking test binary" [ "$gate_rc" = 1 ]
check "gate report names cache_janitor_main" grep -q cache_janitor_main "$DEMO/gate-fail.txt"

say "7. the same gate with a suppression for the janitor"
echo "\$ cat examples/gate/leakwatch.supp"
grep -v '^#' examples/gate/leakwatch.supp
echo "\$ leakwatch-gate --suppressions=examples/gate/leakwatch.supp -- $BUILD/examples/cache_tests"
gate2_rc=0
"$BUILD/leakwatch-gate" --suppressions=examples/gate/leakwatch.supp -- "$BUILD/examples/cache_tests" \
  2>"$DEMO/gate-pass.txt" || gate2_rc=$?
cat "$DEMO/gate-pass.txt"
echo "(leakwatch-gate exit status: $gate2_rc — $(verdict "$gate2_rc"))"
check "gate passes with the suppression" [ "$gate2_rc" = 0 ]

say "done in $((SECONDS - start_s)) s; files in $DEMO/"
if [ $CHECK = 1 ]; then
  check "demo finished in under 60 s" [ $((SECONDS - start_s)) -lt 60 ]
  echo "$passed passed, $failed failed"
  [ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $failed" >"$LW_RESULTS_FILE"
  [ "$failed" = 0 ]
fi
