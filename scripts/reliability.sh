#!/usr/bin/env bash
# scripts/reliability.sh - owns the reliability step of CI (npm run test:reliability): the fuzz smoke
# (libFuzzer + ASan + UBSan, >= 60 s of the checking build, 30 s of the release build), the
# fault-injection sweep in the ASan+UBSan checking build (LeakSanitizer on), the replay of the fuzz
# corpus, the short soak (~30 s), and the C tests under
# ulimit -v; then the jest reliability suite (test/reliability/*.test.ts) when the facade is built.
# Prints the figures at the end: fuzz executions, soak cycles, faults injected, MCX_ENOMEM reported
# under the address-space limit. Exits non-zero when any step fails (all steps still run).
#   scripts/reliability.sh [fuzz-seconds]     (default 60; CI must not go below 60)
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
fuzz_seconds="${1:-60}"
jobs="$(nproc 2>/dev/null || echo 2)"
failed=()
declare -A fig

figure() { grep -o "FIGURE $1=[0-9]*" "$2" | tail -1 | grep -o '[0-9]*$'; }
step() { # step NAME COMMAND...: run, keep the log, note failures
  local name="$1"; shift
  local log="build-reliability/$name.log"
  echo "== reliability: $name ($(( $(date +%s) - start )) s)"
  "$@" 2>&1 | tee "$log" | grep -E '^(FIGURE|summary|drift|fuzz\.sh|ulimit-tests\.sh|soak\.sh|fault sweep|  [a-z].*mapping points|FAIL|.*CHECK failed|ERROR|Tests:)|^ +(workers|loopback|release while|ulimit -v|allocUnsafe after)' 
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then failed+=("$name"); echo "== reliability: $name FAILED (status $rc, log $log)"; tail -30 "$log"; fi
  return 0
}
mkdir -p build-reliability

# 1. fuzz smoke
step fuzz bash scripts/fuzz.sh "$fuzz_seconds"
fig[fuzz_executions]="$(figure fuzz_executions build-reliability/fuzz.log)"
# the release build too: its frees are checked later, a path the checking build never takes
step fuzz-release env MEMCTX_FUZZ_BUILD=release bash scripts/fuzz.sh 30

# 2. fault sweep + corpus replay in the ASan+UBSan checking build
asan_build() {
  cmake -S test/reliability/standalone -B build-reliability/asan -DCMAKE_BUILD_TYPE=Debug -DMEMCTX_CHECKING=ON \
    -DMEMCTX_SANITIZE=ON >/dev/null &&
  cmake --build build-reliability/asan -j "$jobs" >/dev/null
}
sweep() {
  asan_build || return 1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-reliability/asan/reliability/fault_sweep &&
  ASAN_OPTIONS=detect_leaks=1 build-reliability/asan/reliability/fuzz_replay test/fuzz/corpus
}
step fault-sweep sweep
fig[faults_injected]="$(figure faults_injected build-reliability/fault-sweep.log)"

# 3. short soak
step soak bash scripts/soak.sh
fig[soak_cycles]="$(figure soak_cycles build-reliability/soak.log)"

# 4. ulimit -v
step ulimit bash scripts/ulimit-tests.sh
fig[ulimit_enomem]="$(figure ulimit_enomem build-reliability/ulimit.log)"

# 5. the jest reliability suite (facade property tests, workers, loopback I/O, bad-input matrix)
# npm test runs the same files with short defaults; here they run longer.
if ls test/reliability/*.test.ts >/dev/null 2>&1; then
  jest_run() {
    MEMCTX_REL_SECONDS=8 MEMCTX_REL_RUNS=150 MEMCTX_REL_REQUESTS=5000 npx jest --ci --runInBand test/reliability
  }
  step jest jest_run
fi

echo
echo "== reliability figures (in $(( $(date +%s) - start )) s)"
echo "fuzz executions:            ${fig[fuzz_executions]:-?} (${fuzz_seconds} s, libFuzzer + ASan + UBSan)"
echo "faults injected:            ${fig[faults_injected]:-?} (fault sweep, every mapping point of every API)"
echo "soak cycles:                ${fig[soak_cycles]:-?} (256 MiB ramps, RSS and mapped bytes back each cycle)"
echo "ENOMEM under ulimit -v:     ${fig[ulimit_enomem]:-?} (clean MCX_ENOMEM reports, no abort)"
if [ ${#failed[@]} -ne 0 ]; then
  echo "reliability: FAILED: ${failed[*]}"
  exit 1
fi
echo "reliability: all steps passed"
