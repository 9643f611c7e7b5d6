#!/usr/bin/env bash
# scripts/test-c.sh - builds the C core and runs its tests with ctest.
#   (no flag)     release build in build-c/
#   --checking    checking build (MEMCTX_CHECKING) in build-check/
#   --sanitize    checking build with ASan+UBSan in build-asan/
#   --ubsan       release build with UBSan in build-ubsan/ (its own paths: deferred frees)
#   --valgrind    checking build in build-vg/, every test under valgrind memcheck
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-release}"
jobs="$(nproc 2>/dev/null || echo 2)"
case "$mode" in
  release|"") dir=build-c;     flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  --checking) dir=build-check; flags=(-DCMAKE_BUILD_TYPE=Debug -DMEMCTX_CHECKING=ON) ;;
  --sanitize) dir=build-asan;  flags=(-DCMAKE_BUILD_TYPE=Debug -DMEMCTX_CHECKING=ON -DMEMCTX_SANITIZE=ON -DMEMCTX_BUILD_BENCH=OFF) ;;
  --ubsan)    dir=build-ubsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMCTX_UBSAN=ON -DMEMCTX_BUILD_BENCH=OFF) ;;
  --valgrind) dir=build-vg;    flags=(-DCMAKE_BUILD_TYPE=Debug -DMEMCTX_CHECKING=ON -DMEMCTX_BUILD_BENCH=OFF) ;;
  *) echo "test-c.sh: unknown mode '$mode' (expected --checking, --sanitize, --ubsan or --valgrind)" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null

if [ "$mode" = --valgrind ]; then
  command -v valgrind >/dev/null || { echo "test-c.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
  # Tests read MEMCTX_TEST_SCALE to shrink their loops under valgrind.
  export MEMCTX_TEST_SCALE=0.05
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --overwrite \
    MemoryCheckCommandOptions="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-origins=yes" \
    -T memcheck
else
  if [ "$mode" = --ubsan ]; then
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  fi
  if [ "$mode" = --sanitize ]; then
    export MEMCTX_TEST_SCALE=0.25
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  fi
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
fi
