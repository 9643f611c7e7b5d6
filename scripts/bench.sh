#!/usr/bin/env bash
# scripts/bench.sh - `npm run bench`: every benchmark. The C part (scripts/bench-c.sh), then the
# JS part when the package defines `bench:js` (and the JS workloads beside the peers,
# `bench:js-peers`), then BENCHMARKS.md and its charts.
#   --quick   a one-minute pass of the C part (passed on to the JS part too)
set -euo pipefail
cd "$(dirname "$0")/.."

for a in "$@"; do
  case "$a" in
    --quick) ;;
    *) echo "bench.sh: unknown option '$a' (expected --quick)" >&2; exit 2 ;;
  esac
done

export MCXB_COMMAND="npm run bench${*:+ -- $*}"
bash scripts/bench-c.sh --no-report "$@"
npm run bench:js --if-present -- "$@"
npm run bench:js-peers --if-present -- "$@"
node bench/tools/report.mjs
