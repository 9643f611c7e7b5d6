#!/usr/bin/env bash
# scripts/ulimit-tests.sh - owns the run of the C tests under a small address-space limit: every
# program must end with its errors reported (MCX_ENOMEM, failed checks, a non-zero exit), never with
# an abort, a crash or a hang. Builds the checking build without sanitizers (ASan cannot run under
# ulimit -v) in build-ulimit/, then under `ulimit -v` (default 262144 KiB = 256 MiB):
#   1. test/reliability/oom_ulimit: allocates until MCX_ENOMEM, frees, goes on; must pass;
#   2. every ctest test of the build: passed or failed with errors reported are fine; a signal,
#      an abort or a timeout fails this script.
#   scripts/ulimit-tests.sh [limit-kib]
# Prints "FIGURE ulimit_enomem=<n>" (MCX_ENOMEM reported by oom_ulimit).
set -euo pipefail
cd "$(dirname "$0")/.."

limit_kib="${1:-262144}"
case "$limit_kib" in ''|*[!0-9]*) echo "ulimit-tests.sh: limit must be KiB as a whole number, got '$limit_kib'" >&2; exit 2 ;; esac
jobs="$(nproc 2>/dev/null || echo 2)"
dir=build-ulimit
reldir=build-ulimit-rel
flags=(-DCMAKE_BUILD_TYPE=Debug -DMEMCTX_CHECKING=ON -DMEMCTX_SANITIZE=OFF)

cmake -S . -B "$dir" "${flags[@]}" -DMEMCTX_BUILD_TESTS=ON -DMEMCTX_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null
cmake -S test/reliability/standalone -B "$reldir" "${flags[@]}" >/dev/null
cmake --build "$reldir" -j "$jobs" --target oom_ulimit >/dev/null

status=0
echo "ulimit-tests.sh: ulimit -v $limit_kib ($((limit_kib / 1024)) MiB)"

# 1. the out-of-memory program
out="$(mktemp)"
set +e
( ulimit -v "$limit_kib"; exec "$reldir/reliability/oom_ulimit" ) >"$out" 2>&1
rc=$?
set -e
grep -E 'MCX_ENOMEM|round|^ok|^FAIL|CHECK' "$out" | sed 's/^/  /'
enomem="$(grep -o 'FIGURE enomem_reported=[0-9]*' "$out" | grep -o '[0-9]*$' || echo 0)"
if [ $rc -ne 0 ]; then
  echo "ulimit-tests.sh: oom_ulimit failed with status $rc" >&2
  tail -20 "$out" >&2
  status=1
fi
rm -f "$out"

# 2. every ctest test under the same limit
log="$dir/ulimit-ctest.log"
set +e
( ulimit -v "$limit_kib"; ctest --test-dir "$dir" -j "$jobs" --timeout 300 --output-on-failure ) >"$log" 2>&1
set -e
passed=0; reported=0; aborted=0
while IFS= read -r line; do
  name="$(sed -E 's/.*Test +#[0-9]+: ([^ ]+) .*/\1/' <<<"$line")"
  case "$line" in
    *" Passed "*) passed=$((passed + 1)) ;;
    *"***Failed"*) reported=$((reported + 1)); echo "  errors reported (allowed): $name" ;;
    *) aborted=$((aborted + 1)); echo "  ABORTED: $name: $(sed -E 's/.*\.\.\.+ *//' <<<"$line")" >&2 ;;
  esac
done < <(grep -E 'Test +#[0-9]+: ' "$log")
total=$((passed + reported + aborted))
echo "ulimit-tests.sh: ctest under ulimit -v: $total tests, $passed passed, $reported ended with errors reported, $aborted aborted (log: $log)"
if [ "$total" -eq 0 ]; then echo "ulimit-tests.sh: no test ran" >&2; status=1; fi
if [ "$aborted" -ne 0 ]; then status=1; fi
echo "FIGURE ulimit_enomem=$enomem"
exit $status
