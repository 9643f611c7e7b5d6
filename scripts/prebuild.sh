#!/usr/bin/env bash
# scripts/prebuild.sh - builds the prebuilt binaries that the npm tarball ships, one per Node ABI
# (the binding uses V8's C++ API, which is not ABI-stable across Node majors), each with that
# Node's own headers, into prebuilds/linux-x64/node.abi<N>.glibc.node, where node-gyp-build finds
# them. Runs on npm pack / npm publish (the prepack script).
#   scripts/prebuild.sh                  every major that package.json's engines names
#   scripts/prebuild.sh 22 24            those majors
#   scripts/prebuild.sh current          the running node only (with its own headers)
#   MEMCTX_PREBUILD_NODES="22 current"   the same list from the environment (npm pack passes no
#                                        arguments to prepack)
# Each build runs in build-prebuild/<major>/ from a copy of binding.gyp and native/, so the
# checkout's build/ stays as it is. Other majors come from scripts/node-version.sh (the registry).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || {
  echo "prebuild.sh: prebuilt binaries are made on linux-x64 only, this is $(uname -s)-$(uname -m)" >&2; exit 1; }
if [ $# -gt 0 ]; then
  majors=("$@")
elif [ -n "${MEMCTX_PREBUILD_NODES:-}" ]; then
  read -r -a majors <<< "$MEMCTX_PREBUILD_NODES"
else
  read -r -a majors <<< "$(node -p "require('./package.json').engines.node.match(/\\d+(?=\\.x)/g).join(' ')")"
fi
[ ${#majors[@]} -gt 0 ] || { echo "prebuild.sh: no Node major to build for" >&2; exit 2; }

out=prebuilds/linux-x64
rm -rf prebuilds
mkdir -p "$out"
for major in "${majors[@]}"; do
  if [ "$major" = current ]; then
    node="$(command -v node)"
    # the headers of an installed node sit beside its bin/ (Debian: /usr/include/node)
    nodedir="$(node -p "require('path').resolve(process.execPath, '..', '..')")"
    [ -f "$nodedir/include/node/node.h" ] || {
      echo "prebuild.sh: no headers at $nodedir/include/node for $node; name the major instead of 'current'" >&2; exit 1; }
  else
    { read -r node; read -r nodedir; } < <(bash scripts/node-version.sh "$major")
  fi
  bin="$(dirname "$node")"
  abi="$("$node" -p process.versions.modules)"
  version="$("$node" --version)"
  stage="build-prebuild/$("$node" -p 'process.versions.node.split(".")[0]')"
  rm -rf "$stage"
  mkdir -p "$stage"
  cp -r binding.gyp native "$stage/"
  echo "prebuild.sh: node $version (ABI $abi) with the headers in $nodedir"
  # node-addon-api resolves from the checkout's node_modules (a parent folder of the stage).
  (cd "$stage" && PATH="$bin:$PATH" npm_config_nodedir="$nodedir" \
    node "$root/node_modules/node-gyp/bin/node-gyp.js" rebuild --nodedir="$nodedir" -j "$(nproc 2>/dev/null || echo 2)" \
    > build.log 2>&1) || { tail -40 "$stage/build.log" >&2; echo "prebuild.sh: the build for node $version failed (log: $stage/build.log)" >&2; exit 1; }
  strip --strip-debug "$stage/build/Release/memctx.node"
  cp "$stage/build/Release/memctx.node" "$out/node.abi$abi.glibc.node"
  # Load it with that node: a binary that does not load must not be shipped.
  PATH="$bin:$PATH" node -e "require(process.argv[1]).version" "$root/$out/node.abi$abi.glibc.node" ||
    { echo "prebuild.sh: $out/node.abi$abi.glibc.node does not load in node $version" >&2; exit 1; }
done
ls -l "$out"
