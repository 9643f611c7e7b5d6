#!/usr/bin/env bash
# scripts/bench-c.sh - builds the C benchmarks (Release, build-bench/) and runs them: issue 2's
# region benchmark and the peer workloads 1-5; writes bench/results/c.json and, unless
# --no-report, BENCHMARKS.md with its charts.
#   --quick      a one-minute pass (smaller sizes, fewer rounds)
#   --no-report  leave BENCHMARKS.md alone (scripts/bench.sh writes it after the JS part)
set -euo pipefail
cd "$(dirname "$0")/.."

report=1
run_args=()
for a in "$@"; do
  case "$a" in
    --no-report) report=0 ;;
    --quick) run_args+=(--quick) ;;
    *) echo "bench-c.sh: unknown option '$a' (expected --quick or --no-report)" >&2; exit 2 ;;
  esac
done

bash scripts/bench-deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
# Tests are not needed here; the benchmarks are built against the Release core.
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DMEMCTX_BUILD_TESTS=OFF -DMEMCTX_BUILD_BENCH=ON \
  | grep -E '^-- bench:' || true
cmake --build build-bench -j "$jobs" >/dev/null

export MCXB_COMMAND="${MCXB_COMMAND:-npm run bench:c${run_args[*]:+ -- ${run_args[*]}}}"
node bench/tools/run-c.mjs "${run_args[@]}"
if [ "$report" = 1 ]; then
  node bench/tools/report.mjs
fi
