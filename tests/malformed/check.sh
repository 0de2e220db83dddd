#!/usr/bin/env bash
# Malformed-input corpus: every NAME.json must make leakwatch-diff exit 2
# with a message containing the fragment in NAME.expect (and the file name),
# never crash or hang. Plus generated cases: a 300 MB (sparse) file, a
# missing file, stdin, a directory. Usage: check.sh DIFF_BINARY [RESULTS_FILE]
set -u
diff_bin=$1; results=${2:-}
dir=$(dirname "$0")
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
check() {  # name expected-fragment cmd...
  local name=$1 want=$2; shift 2
  timeout 20 "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc = 2 ] && grep -qF -- "$want" "$tmp/err"; then pass=$((pass + 1));
  else fail=$((fail + 1)); echo "FAIL $name: rc=$rc, wanted exit 2 with \"$want\"; stderr: $(head -c 300 "$tmp/err")"; fi
}
for f in "$dir"/*.json; do
  name=$(basename "$f" .json)
  want=$(cat "$dir/$name.expect")
  check "$name" "$want" "$diff_bin" "$f"
  check "$name(as BEFORE)" "$name.json" "$diff_bin" "$f" "$dir/../../tests/malformed/empty.json"
done
truncate -s 300M "$tmp/huge.json"
check huge "larger than the 256 MB input limit" "$diff_bin" "$tmp/huge.json"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
check huge-cap "larger than the 1 MB input limit" "$diff_bin" --max-input-mb=1 "$tmp/big.json"
check huge-stdin "input is larger than the 1 MB input limit" bash -c "cat '$tmp/big.json' | '$diff_bin' --max-input-mb=1 -"
check missing "cannot open" "$diff_bin" "$tmp/nope.json"
check directory "is a directory" "$diff_bin" "$tmp"
check stdin "<stdin>: not valid JSON" bash -c "echo '{oops' | '$diff_bin' -"
check two-stdin "only one of BEFORE and AFTER" "$diff_bin" - -
check bad-option "unknown option" "$diff_bin" --bogus "$dir/empty.json"
check bad-format "unknown format" "$diff_bin" --format=xml "$dir/empty.json"
check bad-fail-on "unknown kind" "$diff_bin" --fail-on=thread,bogus "$dir/empty.json"
check bad-grace "--grace" "$diff_bin" --grace=-1 "$dir/empty.json"
check no-args "expected one or two snapshot files" "$diff_bin"
printf 'thread:ok\nbogus line\n' >"$tmp/s.supp"
check bad-supp "s.supp:2:" "$diff_bin" --suppressions="$tmp/s.supp" "$dir/empty.json"
printf 'thread:0123456789abcdef expires=2024-13-01\n' >"$tmp/b.txt"
check bad-baseline "b.txt:1: expires=" "$diff_bin" --baseline="$tmp/b.txt" "$dir/empty.json"
echo "malformed corpus: $pass passed, $fail failed"
[ -n "$results" ] && echo "$pass $fail" >"$results"
[ $fail = 0 ]
