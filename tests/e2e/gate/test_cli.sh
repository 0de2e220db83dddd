#!/usr/bin/env bash
# test_cli.sh — `make test-scripts`: the `leakwatch` and `leakwatch-gate`
# commands' option handling, error messages and exit codes, the snapshot
# pairing and report merging of lw_helper.py, and shellcheck. Uses small
# fake programs and a do-nothing preload library, so it needs no working
# shim. Usage: tests/e2e/gate/test_cli.sh BUILD_DIR.
set -u
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(pwd)
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

LW=$BUILD/leakwatch GATE=$BUILD/leakwatch-gate HELPER=$BUILD/lw_helper.py

echo "== shellcheck"
if command -v shellcheck >/dev/null; then
  expect 0 "" "shellcheck of the commands, demo and tests" -- \
    shellcheck -x scripts/leakwatch scripts/leakwatch-gate scripts/lw-common.sh \
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
mkdir -p "$T/fakebin"; printf '#!/bin/sh\necho "getconf: unsupported" >&2\nexit 1\n' >"$T/fakebin/getconf"; chmod +x "$T/fakebin/getconf"
expect 125 "not glibc" "run: non-glibc system (getconf GNU_LIBC_VERSION fails) -> 125" -- \
  env PATH="$T/fakebin:$PATH" "$LW" run -- true
expect 125 "not glibc" "gate: non-glibc system -> 125" -- env PATH="$T/fakebin:$PATH" "$GATE" -- true
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
expect 2 "cannot read" "gate unreadable suppressions -> 2" -- "$GATE" --suppressions="$T/none" -- true
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
# a TMPDIR of its own: another gate running on the machine (a second test
# run) must not count
mkdir -p "$T/tmpdir"
TMPDIR="$T/tmpdir" "$GATE" -- sh -c 'exit 0' >/dev/null 2>&1
left=$(find "$T/tmpdir" -mindepth 1 | wc -l)
if [ "$left" = 0 ]; then ok "gate removes its private directory"; else bad "gate left a temporary directory"; fi

echo "== lw_helper.py"
expect 0 "^dynamic$" "elf: dynamic" -- python3 "$HELPER" elf "$T/dynamic"
expect 0 "^nonglibc:/lib/ld-musl" "elf: musl" -- python3 "$HELPER" elf "$T/musl"
[ $have_static = 1 ] && expect 0 "^static$" "elf: static" -- python3 "$HELPER" elf "$T/static"
expect 0 "^script:python3$" "elf: env shebang" -- python3 "$HELPER" elf "$SRC/tests/e2e/gate/fixtures/test_pyunit.py"
expect 0 "^notelf$" "elf: not an ELF file" -- python3 "$HELPER" elf "$T/dummy.c"
# Synthetic snapshot directory: pid 100 start+exit; 101 forked from 100
# (exit only); 102 start only (killed); 103 exec'd (two starts, one exit).
P=$T/plan; mkdir -p "$P"
snap() { # snap FILE PID PPID TRIGGER MONO
  printf '{"leakwatch_schema":1,"pid":%s,"ppid":%s,"exe":"/bin/x%s","trigger":"%s","seq":1,"taken_at":{"realtime_ns":1,"monotonic_ns":%s}}\n' \
    "$2" "$3" "$2" "$4" "$5" >"$P/$1"
}
snap leakwatch-100-1.json 100 1 start 10
snap leakwatch-100-2.json 100 1 exit 90
snap leakwatch-101-1.json 101 100 exit 50
snap leakwatch-102-1.json 102 100 start 20
snap leakwatch-103-1.json 103 100 start 30
snap leakwatch-103-2.json 103 100 start 40
snap leakwatch-103-3.json 103 100 exit 60
printf '{"truncated' >"$P/leakwatch-104-1.json"
python3 "$HELPER" plan "$P" >"$T/plan.tsv" 2>&1
check_plan() { if grep -qP -- "$1" "$T/plan.tsv"; then ok "plan: $2"; else bad "plan: $2"; sed 's/^/    | /' "$T/plan.tsv"; fi; }
check_plan "^PAIR\t100\t/bin/x100\t$P/leakwatch-100-1.json\t$P/leakwatch-100-2.json\t" "own start and exit paired"
check_plan "^PAIR\t101\t/bin/x101\t$P/leakwatch-100-1.json\t$P/leakwatch-101-1.json\tforked child" "forked child diffed against its parent's start"
check_plan "^NOEXIT\t102\t.*no exit snapshot" "killed process reported without exit snapshot"
check_plan "^NOEXIT\t103\t.*replaced by exec" "exec'd image noted"
check_plan "^PAIR\t103\t/bin/x103\t$P/leakwatch-103-2.json\t$P/leakwatch-103-3.json" "exec'd image paired with its own start"
check_plan "^BAD\t-\t-\t$P/leakwatch-104-1.json\t" "unreadable snapshot reported"
# Merging per-process reports.
printf '<?xml version="1.0"?>\n<testsuite name="leakwatch" tests="1" failures="1"><testcase classname="thread" name="a &lt;b&gt;"><failure message="x">body</failure></testcase></testsuite>\n' >"$T/a.xml"
printf '<testsuites><testsuite name="leakwatch" tests="2" failures="0"><testcase classname="t" name="c"/><testcase classname="t" name="d"/></testsuite></testsuites>\n' >"$T/b.xml"
printf '100\t/bin/a\tfindings\tnote\t%s\n101\t/bin/b\tclean\tnote\t%s\n102\t/bin/c\tno_exit_snapshot\tkilled\t-\n' "$T/a.xml" "$T/b.xml" >"$T/m-junit"
expect 0 "" "merge junit" -- python3 "$HELPER" merge junit "$T/merged.xml" "$T/m-junit"
expect 0 "^3 4 1 1$" "merged junit: 3 suites, 4 tests, 1 failure, 1 skipped" -- python3 -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot(); assert r.tag == "testsuites"
s = r.findall("testsuite"); assert "pid 100" in s[0].get("name")
print(len(s), r.get("tests"), r.get("failures"), r.get("skipped"))' "$T/merged.xml"
# shellcheck disable=SC2016  # "$schema" is a JSON key, not a variable
printf '{"version":"2.1.0","$schema":"s","runs":[{"tool":{"driver":{"name":"leakwatch"}},"results":[{"ruleId":"r1"}]}]}\n' >"$T/a.sarif"
# shellcheck disable=SC2016
printf '{"version":"2.1.0","$schema":"s","runs":[{"tool":{"driver":{"name":"leakwatch"}},"results":[]}]}\n' >"$T/b.sarif"
printf '100\t/bin/a\tfindings\tn\t%s\n101\t/bin/b\tclean\tn\t%s\n' "$T/a.sarif" "$T/b.sarif" >"$T/m-sarif"
expect 0 "" "merge sarif" -- python3 "$HELPER" merge sarif "$T/merged.sarif" "$T/m-sarif"
expect 0 "^2 1 leakwatch-gate/pid-100$" "merged sarif: one run per process" -- python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
print(len(d["runs"]), len(d["runs"][0]["results"]), d["runs"][0]["automationDetails"]["id"])' "$T/merged.sarif"
printf '{"leakwatch_diff":1,"new":[{"kind":"thread"}],"persisting":[],"fixed":[]}\n' >"$T/a.json"
printf '100\t/bin/a\tfindings\tn\t%s\n102\t/bin/c\tno_exit_snapshot\tkilled\t-\n' "$T/a.json" >"$T/m-json"
expect 0 "" "merge json" -- python3 "$HELPER" merge json "$T/merged.json" "$T/m-json"
expect 0 "^2 1 thread no_exit_snapshot$" "merged json: processes array" -- python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); p = d["processes"]
print(len(p), d["summary"]["findings"], p[0]["report"]["new"][0]["kind"], p[1]["status"])' "$T/merged.json"

echo "$passed passed, $failed failed"
[ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $failed" >"$LW_RESULTS_FILE"
[ "$failed" = 0 ]
