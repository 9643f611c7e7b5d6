#!/usr/bin/env bash
# scripts/bench-deps.sh - installs the peer allocators of the C benchmarks (Debian -dev packages)
# and the tools they use, with apt-get, when they are missing and we are root; otherwise it says
# which peer the benchmark will skip. Never fails: a missing peer is a skipped row, not an error.
set -uo pipefail

# package -> what the benchmark loses without it
declare -A WHAT=(
  [libmimalloc-dev]="mimalloc heaps and mi_free rows"
  [libjemalloc-dev]="jemalloc arena and malloc/free rows"
  [libapr1-dev]="APR pool rows"
  [libtalloc-dev]="talloc rows"
  [pkg-config]="jemalloc, APR and talloc (found with pkg-config)"
  [valgrind]="workload 5 (callgrind instruction counts)"
  [linux-perf]="perf stat software events in the profile section"
)
ORDER=(libmimalloc-dev libjemalloc-dev libapr1-dev libtalloc-dev pkg-config valgrind linux-perf)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "bench-deps: not a Debian system (no dpkg-query): peers are used only if CMake finds them"
  exit 0
fi

missing=()
for p in "${ORDER[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench-deps: all peers and tools installed"
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bench-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/bench-deps-apt.log 2>&1; then
    apt-get update >>/tmp/bench-deps-apt.log 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/bench-deps-apt.log 2>&1 || true
  fi
fi

for p in "${missing[@]}"; do
  if installed "$p"; then
    echo "bench-deps: installed $p"
  else
    echo "bench-deps: $p is missing and could not be installed (need root and apt-get; log /tmp/bench-deps-apt.log): the benchmark skips ${WHAT[$p]}"
  fi
done
exit 0
