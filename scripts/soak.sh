#!/usr/bin/env bash
# scripts/soak.sh - owns the soak runs of the C core (npm run soak): builds test/reliability/soak in
# a release build (build-soak/ from test/reliability/standalone; no checking, so RSS is what a user
# sees) and runs traffic ramps.
#   scripts/soak.sh            short run for CI (~30 s): 20 s unpinned + 10 s with a pinned context
#   scripts/soak.sh --long     long run (~10 min): 512 MiB ramps, default decay; its figures are in
#                              docs/RELIABILITY.md
#   scripts/soak.sh -- ARGS    the soak program with ARGS (see test/reliability/soak.c)
# Prints the per-cycle table, the summaries and "FIGURE soak_cycles=<n>" (the sum of the runs).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-soak
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S test/reliability/standalone -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMCTX_CHECKING=OFF \
  -DMEMCTX_SANITIZE=OFF >/dev/null
cmake --build "$dir" -j "$jobs" --target soak >/dev/null
soak="$dir/reliability/soak"

total=0
run() {
  echo "soak.sh: $soak $*"
  local out
  out="$(mktemp)"
  set +e
  "$soak" "$@" | tee "$out"
  local rc=${PIPESTATUS[0]}
  set -e
  local n
  n="$(grep -o 'FIGURE soak_cycles=[0-9]*' "$out" | grep -o '[0-9]*$' || echo 0)"
  rm -f "$out"
  total=$((total + n))
  [ "$rc" -eq 0 ] || { echo "soak.sh: the soak failed (status $rc)" >&2; exit 1; }
}

case "${1:-}" in
  --long)
    run --seconds 420 --peak-mib 512 --contexts 128 --decay-ms 1000 --every 10
    run --seconds 180 --peak-mib 512 --contexts 128 --decay-ms 1000 --pin --every 10
    ;;
  --)
    shift
    run "$@"
    ;;
  "")
    run --seconds 20 --peak-mib 256 --contexts 64 --decay-ms 200 --every 4
    run --seconds 10 --peak-mib 256 --contexts 64 --decay-ms 200 --pin --every 4
    ;;
  *) echo "soak.sh: unknown argument '$1' (expected --long or -- ARGS)" >&2; exit 2 ;;
esac
echo "FIGURE soak_cycles=$total"
