#!/usr/bin/env bash
# scripts/setup-chromium.sh - installs Debian's chromium for the report test (test/main); never fails CI.
# The report test opens the HTML report in headless Chromium. Only Debian packages are reachable
# here (no browser downloads), so this installs the distribution's package when it is missing.
# Exit code is always 0: the test itself skips with a clear message when no browser is present.
set -uo pipefail

find_browser() {
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

if path=$(find_browser); then
  echo "setup-chromium: found $path ($("$path" --version 2>/dev/null | head -n1))"
  exit 0
fi

if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "setup-chromium: not root and no sudo; the report browser test will be skipped"
  exit 0
fi
SUDO=""
[ "$(id -u)" != "0" ] && SUDO="sudo -n"

echo "setup-chromium: installing Debian package chromium"
if ! { $SUDO apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
         chromium fonts-dejavu-core >/dev/null; }; then
  echo "setup-chromium: apt-get install chromium failed; the report browser test will be skipped"
  exit 0
fi

if path=$(find_browser); then
  echo "setup-chromium: installed $path ($("$path" --version 2>/dev/null | head -n1))"
else
  echo "setup-chromium: chromium not found after install; the report browser test will be skipped"
fi
exit 0
