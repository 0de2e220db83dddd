#!/usr/bin/env bash
# run.sh — `make test-examples`: runs each example under leakwatch-gate as
# its .expect file says and checks the gate's exit status and that the
# report contains (+) and does not contain (-) the listed texts, so the
# examples and the README built on them cannot drift from the code.
# Usage: tests/e2e/examples/run.sh BUILD_DIR. Writes "P F" to
# $LW_RESULTS_FILE when set; exits non-zero on any failure.
set -u
BUILD=${1:-build}
passed=0 failed=0
out=$(mktemp -d "${TMPDIR:-/tmp}/lw-examples.XXXXXX")
trap 'rm -rf -- "$out"' EXIT

ok() { passed=$((passed + 1)); echo "  ok: $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL: $*"; }

for exp in examples/c/*.expect examples/cpp/*.expect examples/python/*.expect; do
  [ -f "$exp" ] || continue
  name=$(basename "$exp" .expect)
  run=$(sed -n 's/^run: //p' "$exp")
  gate=$(sed -n 's/^gate: //p' "$exp")
  want=$(sed -n 's/^status: //p' "$exp")
  mode=$(sed -n 's/^mode: //p' "$exp")
  run=${run//\{build\}/$BUILD}
  rc=0
  if [ "$mode" = run ]; then
    # API examples: the program checks itself; stdout and the log together.
    echo "== $name: leakwatch run -- $run"
    # shellcheck disable=SC2086  # run is a word list from the .expect file
    timeout 60 "$BUILD/leakwatch" run --opt at_exit=0 -- $run >"$out/$name.report" 2>&1 || rc=$?
  else
    echo "== $name: leakwatch-gate $gate -- $run"
    # shellcheck disable=SC2086  # run/gate are word lists from the .expect file
    timeout 60 "$BUILD/leakwatch-gate" $gate -- $run >"$out/$name.stdout" 2>"$out/$name.report" || rc=$?
  fi
  if [ "$rc" = "$want" ]; then ok "$name: exit status $rc"; else bad "$name: exit status $rc, expected $want"; fi
  while IFS= read -r line; do
    case $line in
      "+ "*) t=${line#+ }
        if grep -qF -- "$t" "$out/$name.report"; then ok "$name: report has '$t'"; else bad "$name: report lacks '$t'"; fi ;;
      "- "*) t=${line#- }
        if grep -qF -- "$t" "$out/$name.report"; then bad "$name: report must not have '$t'"; else ok "$name: report has no '$t'"; fi ;;
    esac
  done <"$exp"
  if [ "$failed" != 0 ] || [ -n "${LW_VERBOSE:-}" ]; then sed 's/^/    | /' "$out/$name.report"; fi
done
echo "$passed passed, $failed failed"
[ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $failed" >"$LW_RESULTS_FILE"
[ "$failed" = 0 ]
