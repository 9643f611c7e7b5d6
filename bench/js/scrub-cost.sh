#!/usr/bin/env bash
# bench/js/scrub-cost.sh - splits the facade's change against an older build into the cost of
# scrubbing (contexts are MCX_CONTEXT_CLEAN: C zeroes what a context used before another gets it)
# and the cost of everything else. Builds the committed HEAD a second time with
# MEMCTX_MEASURE_WITHOUT_SCRUB=1 (a measurement build: contexts without the flag), then runs
# before-after.js twice: this checkout against that build (the scrub), and that build against the
# older tree (the rest); with --out-dir, writes before-after-scrub.json and before-after-rest.json
# there (bench/tools/report.mjs renders them from bench/js). Usage:
#   bash bench/js/scrub-cost.sh <older-tree> [--rounds N] [--out-dir DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
older="$(cd "${1:?usage: bench/js/scrub-cost.sh <older-tree> [--rounds N] [--out-dir DIR]}" && pwd)"
shift
rounds=5
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --out-dir) out="$2"; shift 2 ;;
    *) echo "scrub-cost.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git clone -q "$root" "$tmp/unscrubbed"
ln -s "$root/node_modules" "$tmp/unscrubbed/node_modules"
echo "building HEAD without scrubbing in $tmp/unscrubbed ..."
(cd "$tmp/unscrubbed" && MEMCTX_MEASURE_WITHOUT_SCRUB=1 npx node-gyp rebuild >/dev/null && npx tsc -p tsconfig.json)
args=(--rounds "$rounds")
echo "== the scrub: this checkout / the same code without scrubbing"
node --expose-gc "$root/bench/js/before-after.js" "$tmp/unscrubbed" "${args[@]}" ${out:+--out "$out/before-after-scrub.json"}
echo "== the rest: the same code without scrubbing / $older"
node --expose-gc "$root/bench/js/before-after.js" "$older" --after "$tmp/unscrubbed" "${args[@]}" ${out:+--out "$out/before-after-rest.json"}
