#!/usr/bin/env bash
# test_cli.sh — `make test-scripts`: the `leakwatch` command and the names
# it answers to (leakwatch-gate, -diff, -show): option handling, error
# messages and exit codes, every gate argument checked before CMD runs, the
# gate's pairing of snapshots per process image (gate-report over synthetic
# directories) and its merged reports, and shellcheck of the shell scripts
# left. Uses small fake programs and a do-nothing preload library, so it
# needs no working shim. Usage: tests/e2e/gate/test_cli.sh BUILD_DIR.
set -u
BUILD=$(cd "${1:-build}" && pwd)
passed=0 failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/lw-cli.XXXXXX")
bg=""
trap '[ -n "$bg" ] && kill "$bg" 2>/dev/null; rm -rf -- "$T"' EXIT

ok() { passed=$((passed + 1)); echo "  ok: $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL: $*"; }
# expect WANT_STATUS PATTERN DESCRIPTION -- CMD...: status and stderr+stdout text.
expect() {
  local want=$1 pat=$2 what=$3 rc=0
  shift 4
  "$@" >"$T/out" 2>&1 </dev/null || rc=$?
  if [ "$rc" != "$want" ]; then
    bad "$what: status $rc, expected $want"; sed 's/^/    | /' "$T/out"
  elif [ -n "$pat" ] && ! grep -qiE -- "$pat" "$T/out"; then
    bad "$what: output lacks /$pat/"; sed 's/^/    | /' "$T/out"
  else
    ok "$what"
  fi
}

LW=$BUILD/leakwatch GATE=$BUILD/leakwatch-gate DIFF=$BUILD/leakwatch-diff SHOW=$BUILD/leakwatch-show

echo "== shellcheck"
if command -v shellcheck >/dev/null; then
  expect 0 "" "shellcheck of the commands, demo and tests" -- \
    shellcheck -x scripts/deps.sh \
    examples/demo.sh tests/e2e/gate/*.sh tests/e2e/examples/run.sh
else
  echo "  skip: shellcheck not installed"
fi

echo "== fixtures"
printf 'void lw_dummy(void) {}\n' >"$T/dummy.c"
cc -shared -fPIC -o "$T/libleakwatch.so" "$T/dummy.c"
cc -shared -fPIC -o "$T/libother.so" "$T/dummy.c"
printf 'int main(void) { return 0; }\n' >"$T/hello.c"
cc -o "$T/dynamic" "$T/hello.c"
cp "$T/dynamic" "$T/setuid"; chmod u+s "$T/setuid"
cp "$T/dynamic" "$T/noexec"; chmod a-x "$T/noexec"
cc -o "$T/musl" -Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1 "$T/hello.c"
have_static=0
if cc -static -o "$T/static" "$T/hello.c" 2>/dev/null; then have_static=1; fi
printf '#!%s\nexit 0\n' "$T/static" >"$T/static-script"; chmod +x "$T/static-script"
export LEAKWATCH_LIB=$T/libleakwatch.so

echo "== leakwatch"
expect 0 "usage: leakwatch COMMAND" "leakwatch --help" -- "$LW" --help
expect 0 "^leakwatch [0-9]+\.[0-9]+" "leakwatch --version" -- "$LW" --version
expect 2 "unknown command 'bogus'" "unknown command -> 2" -- "$LW" bogus
expect 2 "usage" "no command -> 2" -- "$LW"
expect 0 "usage: leakwatch run" "leakwatch run --help" -- "$LW" run --help
expect 0 "usage: leakwatch run" "leakwatch help run" -- "$LW" help run
expect 0 "usage: leakwatch snapshot" "leakwatch snapshot --help" -- "$LW" snapshot --help
expect 2 "no command given" "run without CMD -> 2" -- "$LW" run --
expect 2 "KEY=VALUE" "run --opt without = -> 2" -- "$LW" run --opt foo -- true
expect 127 "command not found" "run: CMD not found -> 127" -- "$LW" run -- no-such-command-xyz
expect 127 "not found" "run: ./missing -> 127" -- "$LW" run -- "$T/missing"
expect 126 "not executable" "run: not executable -> 126" -- "$LW" run -- "$T/noexec"
expect 126 "directory" "run: a directory -> 126" -- "$LW" run -- "$T"
expect 125 "setuid" "run: setuid -> 125 naming the loader" -- "$LW" run -- "$T/setuid"
expect 125 "not glibc" "run: musl-linked program -> 125" -- "$LW" run -- "$T/musl"
if [ $have_static = 1 ]; then
  expect 125 "statically linked.*LD_PRELOAD cannot work" "run: static binary -> 125" -- "$LW" run -- "$T/static"
  expect 125 "script run by.*statically linked" "run: script with a static interpreter -> 125" -- "$LW" run -- "$T/static-script"
else
  echo "  skip: static binary checks (no libc.a: cc -static failed)"
fi
expect 125 "preload library not found" "run: missing library -> 125" -- \
  env LEAKWATCH_LIB="$T/nope.so" "$LW" run -- true
# (A non-glibc system cannot run the leakwatch binary itself, which is
# linked with glibc; it still asks confstr(_CS_GNU_LIBC_VERSION).)
expect 3 "" "run: CMD's exit status passes through" -- "$LW" run -- sh -c 'exit 3'
# shellcheck disable=SC2016  # the inner shell expands them
expect 0 "^$T/libleakwatch.so:$T/libother.so\|signal=SIGUSR1:at_exit=0:quiet=1$" \
  "run: LD_PRELOAD prepended, options merged (--opt replaces the same key)" -- \
  env LD_PRELOAD="$T/libother.so" LEAKWATCH_OPTIONS=signal=SIGUSR1:at_exit=1 \
  "$LW" run --opt at_exit=0 --opt quiet=1 -- sh -c 'echo "$LD_PRELOAD|$LEAKWATCH_OPTIONS"'
expect 2 "no process" "snapshot: no such pid -> 2" -- "$LW" snapshot 999999999
expect 2 "not a process id" "snapshot: bad pid -> 2" -- "$LW" snapshot abc
sleep 30 & bg=$!
expect 2 "not running under leakwatch" "snapshot: process without the preload -> 2" -- "$LW" snapshot "$bg"
kill "$bg"; wait "$bg" 2>/dev/null; bg=""

echo "== leakwatch-gate"
expect 0 "usage: leakwatch-gate" "gate --help" -- "$GATE" --help
expect 0 "usage: leakwatch-gate" "leakwatch gate --help forwards" -- "$LW" gate --help
expect 0 "^leakwatch-gate [0-9]" "gate --version" -- "$GATE" --version
expect 2 "no command given" "gate without CMD -> 2" -- "$GATE" --
expect 2 "unknown option" "gate unknown option -> 2" -- "$GATE" --frobnicate -- true
expect 2 "unknown format" "gate bad format -> 2" -- "$GATE" --format=pdf -o x -- true
expect 2 "needs -o" "gate --format without -o -> 2" -- "$GATE" --format=junit -- true
expect 2 "suppressions: .*none: cannot (open|read)" "gate unreadable suppressions -> 2" -- "$GATE" --suppressions="$T/none" -- true
expect 2 "exitcode" "gate bad --exitcode -> 2" -- "$GATE" --exitcode=x -- true
expect 127 "command not found" "gate: CMD not found -> 127" -- "$GATE" -- no-such-command-xyz
expect 126 "not executable" "gate: not executable -> 126" -- "$GATE" -- "$T/noexec"
expect 125 "setuid.*ignores LD_PRELOAD" "gate: setuid -> 125" -- "$GATE" -- "$T/setuid"
if [ $have_static = 1 ]; then
  expect 125 "statically linked" "gate: static binary -> 125" -- "$GATE" -- "$T/static"
fi
expect 125 "preload library not found" "gate: missing library -> 125" -- \
  env LEAKWATCH_LIB="$T/nope.so" "$GATE" -- true
expect 5 "command exited with status 5" "gate: CMD's failure status passes through" -- "$GATE" -- sh -c 'exit 5'
expect 125 "no snapshot was written" "gate: nothing loaded the preload -> 125" -- "$GATE" -- "$T/dynamic"
mkdir -p "$T/kept"; : >"$T/kept/leakwatch-1-1.json"
expect 2 "already holds snapshots" "gate --keep refuses a used directory" -- "$GATE" --keep="$T/kept" -- true

echo "== every gate argument is checked before CMD runs"
# not_run WHAT GATE_ARGS...: exit 2, a message, and CMD (touch) never ran.
not_run() {
  local what=$1 rc=0
  shift
  rm -f "$T/ran"
  "$GATE" "$@" -- touch "$T/ran" >"$T/out" 2>&1 </dev/null || rc=$?
  if [ "$rc" = 2 ] && [ ! -e "$T/ran" ] && [ -s "$T/out" ]; then
    ok "$what: exit 2 before CMD ($(head -n 1 "$T/out"))"
  else
    bad "$what: status $rc, CMD ran: $([ -e "$T/ran" ] && echo yes || echo no)"; sed 's/^/    | /' "$T/out"
  fi
}
mkdir -p "$T/adir" "$T/stale"
printf 'thread:ok_*\nbogus line\n' >"$T/bad.supp"
printf 'thread:nothex owner=x\n' >"$T/bad.baseline"
printf '{"name": "a stray file"}\n' >"$T/stale/package.json"
not_run "bad --grace" --grace=soon
not_run "negative --grace" --grace=-5
not_run "bad --fail-on" --fail-on=thread,bogus
not_run "--suppressions is a directory" --suppressions="$T/adir"
not_run "malformed --suppressions" --suppressions="$T/bad.supp"
not_run "--baseline is a directory" --baseline="$T/adir"
not_run "malformed --baseline" --baseline="$T/bad.baseline"
not_run "unwritable -o (no such directory)" --format=json -o "$T/no/such/dir/r.json"
not_run "-o is a directory" --format=junit -o "$T/adir"
not_run "--keep with stale files" --keep="$T/stale"
not_run "--keep that is a file" --keep="$T/bad.supp"
not_run "unknown --format" --format=pdf -o "$T/r.pdf"
not_run "bad --exitcode" --exitcode=300
not_run "bad --max-input-mb" --max-input-mb=0
if [ -e "$T/stale/package.json" ] && [ "$(ls "$T/stale")" = package.json ]; then ok "--keep left the refused directory as it was"; else bad "--keep touched a refused directory"; fi

echo "== leakwatch-diff and leakwatch-show"
printf '{"leakwatch_schema":1,"pid":7,"exe":"/bin/x","trigger":"exit","taken_at":{"realtime_ns":1,"monotonic_ns":10},"modules":[],"stacks":[],"contexts":[],"threads":[],"timers":[],"sockets":[]}\n' >"$T/one.json"
cp "$T/one.json" "$T/one.orig"
expect 2 "is the input" "diff -o naming its input -> 2" -- "$DIFF" -o "$T/one.json" "$T/one.json"
if cmp -s "$T/one.json" "$T/one.orig"; then ok "diff -o did not overwrite its input"; else bad "diff overwrote its input"; fi
expect 2 "is the input" "show -o naming its input -> 2" -- "$SHOW" -o "$T/one.json" "$T/one.json"
expect 0 "" "diff -o writes the report" -- "$DIFF" --format=md -o "$T/one.md" "$T/one.json"
tmps=$(find "$T" -maxdepth 1 -name '.one.md*' | wc -l)
if grep -q "no new findings" "$T/one.md" && [ "$tmps" = 0 ]; then ok "diff -o: the file is complete, no temporary left"; else bad "diff -o output"; fi
expect 2 "expected a number from 0 to" "show --grace=-1 -> 2 (range checked)" -- "$SHOW" --grace=-1 "$T/one.json"
expect 2 "max-input-mb" "show --max-input-mb=0 -> 2" -- "$SHOW" --max-input-mb=0 "$T/one.json"
expect 2 "larger than|too large|exceeds" "show refuses input over the cap" -- \
  "$SHOW" --max-input-mb=1 <(head -c 2000000 /dev/zero | tr '\0' ' '; cat "$T/one.json")
expect 2 "text or html" "show --format=json -> 2 (a dump is text or html)" -- "$SHOW" --format=json "$T/one.json"
expect 0 "usage: leakwatch-show" "leakwatch help show" -- "$LW" help show
expect 0 "^leakwatch-diff [0-9]" "leakwatch diff --version" -- "$LW" diff --version
# a TMPDIR of its own: another gate running on the machine (a second test
# run) must not count
mkdir -p "$T/tmpdir"
TMPDIR="$T/tmpdir" "$GATE" -- sh -c 'exit 0' >/dev/null 2>&1
left=$(find "$T/tmpdir" -mindepth 1 | wc -l)
if [ "$left" = 0 ]; then ok "gate removes its private directory"; else bad "gate left a temporary directory"; fi
# interrupted while CMD runs: no verdict, no half-written report, no directory
mkdir -p "$T/tmpdir2" "$T/intout"
rc=0; TMPDIR="$T/tmpdir2" timeout -s INT 1 "$GATE" --format=json -o "$T/intout/r.json" -- sleep 5 >/dev/null 2>&1 || rc=$?
left=$(find "$T/tmpdir2" "$T/intout" -mindepth 1 | wc -l)
if [ "$rc" = 124 ] && [ "$left" = 0 ]; then ok "an interrupted gate leaves no report file and no directory"; else bad "interrupted gate: status $rc, $left files left"; fi

echo "== gate-report: pairing per process image, merged reports"
# Synthetic snapshot directory: pid 100 start+exit; 101 forked from 100
# (exit only); 102 start only (killed); 103 exec'd without image ids (two
# starts, one exit); 104 a wrapper chain with image ids (a -> b -> c, like
# a pyenv shim: only c exits); an unreadable file.
P=$T/plan; mkdir -p "$P"
snap() { # snap FILE PID PPID TRIGGER MONO [IMAGE [REPLACED]]
  local ids=""
  [ -n "${6:-}" ] && ids=",\"image\":\"$6\""
  [ -n "${7:-}" ] && ids="$ids,\"replaced_image\":\"$7\""
  printf '{"leakwatch_schema":1,"pid":%s,"ppid":%s,"exe":"/bin/x%s","trigger":"%s","seq":1%s,"taken_at":{"realtime_ns":1,"monotonic_ns":%s},"modules":[],"stacks":[],"contexts":[],"threads":[],"timers":[],"sockets":[]}\n' \
    "$2" "$3" "$2" "$4" "$ids" "$5" >"$P/$1"
}
snap leakwatch-100-1.json 100 1 start 10
snap leakwatch-100-2.json 100 1 exit 90
snap leakwatch-101-1.json 101 100 exit 50
snap leakwatch-102-1.json 102 100 start 20
snap leakwatch-103-1.json 103 100 start 30
snap leakwatch-103-2.json 103 100 start 40
snap leakwatch-103-3.json 103 100 exit 60
snap leakwatch-104-a-1.json 104 100 start 31 a
snap leakwatch-104-b-1.json 104 100 start 32 b a
snap leakwatch-104-c-1.json 104 100 start 33 c b
snap leakwatch-104-c-2.json 104 100 exit 70 c
printf '{"truncated' >"$P/leakwatch-105-1.json"
printf '{"name": "not ours"}\n' >"$P/package.json"
rc=0; "$LW" gate-report -v --format=json -o "$T/plan.json" "$P" >"$T/plan.txt" 2>&1 || rc=$?
if [ $rc = 2 ]; then ok "gate-report: an unreadable snapshot -> 2"; else bad "gate-report status $rc"; sed 's/^/    | /' "$T/plan.txt"; fi
check_plan() { if grep -qE -- "$1" "$T/plan.txt"; then ok "plan: $2"; else bad "plan: $2"; sed 's/^/    | /' "$T/plan.txt"; fi; }
check_plan "process 100 \(/bin/x100\): own start snapshot" "own start and exit paired"
check_plan "process 102 \(/bin/x102\): no exit snapshot: it was killed by a signal.*not checked" "killed process reported without exit snapshot"
check_plan "process 103 \(/bin/x103\): replaced by exec of /bin/x103" "exec'd image (no ids) noted with -v"
check_plan "process 104 \(/bin/x104\): replaced by exec" "wrapper images (ids) noted with -v"
check_plan "leakwatch-105-1.json: " "unreadable snapshot reported"
check_plan "SUMMARY: leakwatch gate-report: 5 process\(es\) checked, 0 with new findings, 1 without an exit snapshot, 1 analysis error" "one SUMMARY line"
if grep -q package.json "$T/plan.txt"; then bad "gate-report read a file the run did not write"; else ok "only leakwatch-*.json files are read"; fi
expect 0 "^100 .*100-1.json .*100-2.json own start snapshot$" "json: pid 100 paired with its own start" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["processes"]:
    r = p["report"] or {}
    print(p["pid"], (r.get("before") or {}).get("path"), (r.get("after") or {}).get("path"), p["note"])' "$T/plan.json"
expect 0 "^101 .*100-1.json .*101-1.json forked child: compared with parent 100" "json: forked child diffed against its parent's start" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["processes"]:
    r = p["report"] or {}
    print(p["pid"], (r.get("before") or {}).get("path"), (r.get("after") or {}).get("path"), p["note"])' "$T/plan.json"
expect 0 "^103 .*103-2.json .*103-3.json own start" "json: exec'd image (no ids) paired with its own start" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["processes"]:
    r = p["report"] or {}
    print(p["pid"], (r.get("before") or {}).get("path"), (r.get("after") or {}).get("path"), p["note"])' "$T/plan.json"
expect 0 "^104 .*104-c-1.json .*104-c-2.json own start" "json: the last image of a wrapper chain paired by image id" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["processes"]:
    r = p["report"] or {}
    print(p["pid"], (r.get("before") or {}).get("path"), (r.get("after") or {}).get("path"), p["note"])' "$T/plan.json"
expect 0 "^6 1 1 1$" "json: 6 entries (5 processes, 1 error), summary by status" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); s = d["summary"]
print(len(d["processes"]), s["error"], s["no_exit_snapshot"], d["leakwatch_gate"])' "$T/plan.json"
rm -f "$P/leakwatch-105-1.json" "$P/package.json"
for fmt in junit sarif md text; do
  expect 0 "no new findings" "gate-report --format=$fmt" -- "$LW" gate-report --format=$fmt -o "$T/plan.$fmt" "$P"
done
expect 0 "^5 5 0 0 1$" "merged junit: a suite per process, skipped for the one without exit" -- python3 -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot(); assert r.tag == "testsuites"
s = r.findall("testsuite"); assert all("pid" in x.get("name") for x in s)
print(len(s), r.get("tests"), r.get("failures"), r.get("errors"), r.get("skipped"))' "$T/plan.junit"
expect 0 "^4 leakwatch-gate/pid-100$" "merged sarif: one run per checked process" -- python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
print(len(d["runs"]), d["runs"][0]["automationDetails"]["id"])' "$T/plan.sarif"
if grep -q "^## leakwatch-gate" "$T/plan.md" && grep -q "^### process 100" "$T/plan.md"; then ok "merged markdown: a section per process"; else bad "merged markdown"; fi

echo "$passed passed, $failed failed"
[ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $failed" >"$LW_RESULTS_FILE"
[ "$failed" = 0 ]
