#!/usr/bin/env bash
# scripts/test.sh - the one test command (npm test): the C tests with ctest, then the jest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-c.sh
test -f build/Release/memctx.node || npx node-gyp rebuild; npx jest --ci
