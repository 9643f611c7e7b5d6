#!/usr/bin/env bash
# scripts/fuzz.sh - owns the fuzzing run of the C core (npm run fuzz -- <seconds>): installs Debian's
# clang and the matching compiler-rt development package (libclang-rt-<ver>-dev, libFuzzer and the
# sanitizer runtimes) when missing, builds test/fuzz with libFuzzer + ASan + UBSan in build-fuzz/,
# and runs the target for <seconds> (default 60) from the seed corpus in test/fuzz/corpus (new
# inputs go to build-fuzz/corpus; crash files to build-fuzz/artifacts/). Prints the executions and
# "FIGURE fuzz_executions=<n>"; exits non-zero when the fuzzer found a failure.
#   scripts/fuzz.sh [seconds] [extra libFuzzer flags...]
#   MEMCTX_FUZZ_BUILD=release: the release build instead of the checking build (build-fuzz-release/:
#   frees whose header is read later, the paths the checking build does not take)
#   Reproduce a crash: build-fuzz/test/fuzz/fuzz_ops <file>  (MCX_FUZZ_TRACE=1 prints every operation)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: seconds must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

# clang and compiler-rt: Debian's default clang, and the libclang-rt-<major>-dev of its version
# (without it -fsanitize=fuzzer fails to link: libclang_rt.fuzzer-x86_64.a is missing).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  echo "fuzz.sh: installing $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}
if ! command -v clang >/dev/null; then apt_install clang; fi
clang_major="$(clang -dumpversion | cut -d. -f1)"
fuzzer_lib="$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)"
if [ ! -f "$fuzzer_lib" ] && [ ! -f "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ]; then
  apt_install "libclang-rt-${clang_major}-dev"
fi

case "${MEMCTX_FUZZ_BUILD:-checking}" in
  checking) dir=build-fuzz; checking=ON ;;
  release) dir=build-fuzz-release; checking=OFF ;;
  *) echo "fuzz.sh: MEMCTX_FUZZ_BUILD must be checking or release, got '$MEMCTX_FUZZ_BUILD'" >&2; exit 2 ;;
esac
jobs="$(nproc 2>/dev/null || echo 2)"
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMCTX_FUZZ=ON -DMEMCTX_CHECKING="$checking" \
  -DMEMCTX_SANITIZE=ON -DMEMCTX_BUILD_TESTS=OFF -DMEMCTX_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$jobs" --target fuzz_ops >/dev/null

mkdir -p "$dir/corpus" "$dir/artifacts"
log="$dir/fuzz.log"
echo "fuzz.sh: clang $clang_major, running fuzz_ops for $seconds s (log: $log)"
set +e
# -rss_limit_mb: an input may hold 8 MiB live plus a 64 MiB request (and ASan's shadow of it).
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  "$dir/test/fuzz/fuzz_ops" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=3072 \
  -max_len=4096 -artifact_prefix="$dir/artifacts/" "$@" "$dir/corpus" test/fuzz/corpus >"$log" 2>&1
rc=$?
set -e
execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)"
corpus_n="$(find "$dir/corpus" -type f | wc -l)"
echo "fuzz.sh: ${execs:-0} executions in $seconds s (${rate:-0}/s), $cov, corpus $corpus_n inputs"
echo "FIGURE fuzz_executions=${execs:-0}"
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: the fuzzer stopped with status $rc; the report:" >&2
  grep -E -A40 'model disagreement|ERROR: (Address|Undefined|Leak|libFuzzer)|runtime error' "$log" | head -80 >&2 || tail -40 "$log" >&2
  ls -1 "$dir/artifacts/" >&2
  exit 1
fi
