#!/usr/bin/env bash
# End-to-end: real programs under build/libleakwatch.so (C three-level leak,
# C++, Python threading), start + exit snapshots of the same process, then
# leakwatch-diff --format=json, asserting on findings, creator chains and
# exit codes (0 clean, 1 findings, 2 bad input).
# Usage: run.sh BUILD_DIR [RESULTS_FILE]
set -u
B=$1; results=${2:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run NAME CMD...: snapshots of CMD's process into $tmp/NAME-*.json
run() {
  local name=$1; shift
  mkdir -p "$tmp/$name"
  timeout 60 env LD_PRELOAD="$PWD/$B/libleakwatch.so" \
    LEAKWATCH_OPTIONS="at_start=1:at_exit=1:quiet=1:output=$tmp/$name/%p-%n.json" "$@" >/dev/null 2>&1
  ls "$tmp/$name"/*.json 2>/dev/null | sort -t- -k2 -n
}

# pick NAME WORD: the first and last snapshot of the process whose command
# line contains WORD (wrappers such as pyenv shims are processes too).
pick() {
  python3 - "$tmp/$1" "$2" <<'PY'
import glob, json, os, re, sys
by_pid = {}
for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
    pid, seq = re.match(r".*/(\d+)-(\d+)\.json$", f).groups()
    by_pid.setdefault(int(pid), []).append((int(seq), f))
for pid, snaps in sorted(by_pid.items()):
    snaps.sort()
    d = json.load(open(snaps[-1][1]))
    if len(snaps) >= 2 and sys.argv[2] in " ".join(d.get("cmdline") or []) + " " + (d.get("exe") or ""):
        print(snaps[0][1], snaps[-1][1])
        break
PY
}

# diff NAME WORD [OPTIONS]: leakwatch-diff on that process's first and last snapshot
diffit() {
  local name=$1 word=$2; shift 2
  local pair; pair=$(pick "$name" "$word")
  local first=${pair% *} last=${pair#* }
  if [ -z "$pair" ]; then bad "$name: no process with two snapshots matching $word"; return 1; fi
  timeout 60 "$B/leakwatch-diff" --format=json "$@" "$first" "$last" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
}

check() {  # NAME PYTHON-ASSERTIONS (d = report, rc = exit code)
  local name=$1 code=$2
  if python3 - "$tmp/$name.out" "$(cat "$tmp/$name.rc" 2>/dev/null)" <<PY
import json, sys
d = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
def find(start, verdict=None):
    return [f for f in d["new"] if (f.get("start_routine") or "").startswith(start) and (verdict is None or f["verdict"] == verdict)]
$code
PY
  then ok; else bad "$name: assertions failed (stderr: $(head -c 300 "$tmp/$name.err"))"; fi
}

# C: handle_session -> session_listener_main leaked; stats_flush_main unjoined
run c "$B/examples/session_leak" >/dev/null
diffit c session_leak --grace=100
check c '
assert rc == 1, rc
assert d["same_process"], "start and exit snapshots are one process"
[l] = find("session_listener_main", "leaked")
assert l["blocked"]["family"] == "cond" and l["blocked"]["call"].startswith("pthread_cond"), l["blocked"]
chain = [c["function"] for c in l["creators"]]
assert chain[0] == "handle_session" and chain[-1] == "main", chain
assert any(fr["function"] == "handle_session" and fr["file"] and fr["file"].endswith("session_leak.c") for fr in l["creation_stack"])
assert find("stats_flush_main", "unjoined"), "unjoined stats flusher"
assert not find("audit_writer_main"), "joined thread reported"
'

# C++: Session::heartbeat_loop leaked, demangled names
run cpp "$B/examples/heartbeat_leak" >/dev/null
diffit cpp heartbeat_leak --grace=100
check cpp '
assert rc == 1, rc
leaked = [f for f in d["new"] if f["verdict"] == "leaked" and f["kind"] == "thread"]
assert len(leaked) == 1, [f["title"] for f in d["new"]]
names = [fr["function"] or "" for fr in leaked[0]["creation_stack"]]
assert any("Session::Session" in n for n in names), names
assert "heartbeat_loop" in json.dumps(leaked[0]), leaked[0]["start_routine"]
assert not any("Flusher" in (f.get("start_routine") or "") for f in d["new"])
'

# Python threading: one leaked poller, asleep
run py python3 examples/python/poller_leak.py >/dev/null
diffit py poller_leak.py --grace=100
check py '
assert rc == 1, rc
leaked = [f for f in d["new"] if f["verdict"] == "leaked"]
assert len(leaked) == 1, [f["title"] for f in d["new"]]
assert leaked[0]["blocked"]["family"] == "sleep", leaked[0]["blocked"]
assert leaked[0]["creators"][-1]["function"] == "main"
assert not [f for f in d["new"] if f["verdict"] == "unjoined"]
'

# A clean program: exit 0, nothing new
run clean /bin/true >/dev/null
diffit clean true
check clean '
assert rc == 0, rc
assert d["new"] == [], d["new"]
'

# Suppressing the leak by start routine turns exit 1 into 0
printf 'top:session_listener_*\nthread:stats_flush_*\n' >"$tmp/s.supp"
diffit c session_leak --grace=100 --suppressions="$tmp/s.supp"
check c '
assert rc == 0, rc
assert sum(s["hits"] for s in d["suppressions"]) == 2, d["suppressions"]
'

# Bad input: exit 2
echo '{"leakwatch_schema": 1' >"$tmp/broken.json"
"$B/leakwatch-diff" "$tmp/broken.json" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "broken input: exit $rc, wanted 2"

echo "analyzer e2e: $pass passed, $fail failed"
[ -n "$results" ] && echo "$pass $fail" >"$results"
[ $fail = 0 ]
