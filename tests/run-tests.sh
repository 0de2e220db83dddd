#!/usr/bin/env bash
# Runs each test target named on the command line (make targets contributed
# by the module.mk fragments), then prints one closing line with the totals.
# A suite may write "PASSED FAILED" to $LW_RESULTS/<target>; otherwise its
# exit status counts as one test.
set -u
export LW_RESULTS=${LW_RESULTS:-build/test-results}
rm -rf "$LW_RESULTS"; mkdir -p "$LW_RESULTS"
passed=0; failed=0; bad=()
for t in "$@"; do
  echo "=== $t"
  start=$(date +%s)
  if make --no-print-directory -s "$t"; then rc=0; else rc=1; fi
  if [ -s "$LW_RESULTS/$t" ]; then
    read -r p f < "$LW_RESULTS/$t"
  elif [ $rc = 0 ]; then p=1; f=0; else p=0; f=1; fi
  # A suite that failed without counting a failure still fails.
  if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" != 0 ] && bad+=("$t")
  echo "--- $t: $p passed, $f failed ($(( $(date +%s) - start ))s)"
done
[ ${#bad[@]} -gt 0 ] && echo "failing suites: ${bad[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
