#!/usr/bin/env bash
# Run every test program of a build directory and sum up. Each program forks
# each of its tests with a timeout (tests/harness.c). COOP_TEST_WRAP runs each
# program under a wrapper (valgrind). Last line: "N passed, N failed".
set -u
build=${1:-build}
wrap=${COOP_TEST_WRAP:-}
passed=0; failed=0; skipped=0; failures=(); skips=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  out=$($wrap "$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ -z "$line" ]; then
    echo "$out"
    echo "FAIL $(basename "$t") (exit $rc, no summary: crashed outside a test)"
    failed=$((failed + 1)); failures+=("$(basename "$t")"); continue
  fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
  while IFS= read -r sk; do skips+=("$sk"); skipped=$((skipped + 1)); done < <(printf '%s\n' "$out" | grep '^SKIP ')
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" | grep -v '^PASS '
    failures+=("$(basename "$t")")
    [ "$f" -eq 0 ] && failed=$((failed + 1))
  fi
  printf '%-36s %s\n' "$(basename "$t")" "$line"
done
if [ "$skipped" -gt 0 ]; then echo "$skipped skipped:"; printf '  %s\n' "${skips[@]}"; fi
[ ${#failures[@]} -gt 0 ] && echo "failing programs: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
