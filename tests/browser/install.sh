#!/usr/bin/env bash
# Install what the browser tests need; idempotent and quiet on success.
#  - Debian's Chromium at /usr/bin/chromium (apt-get, as root)
#  - playwright-core + axe-core from package-lock.json (npm ci), which never
#    downloads a browser of its own.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHROMIUM=/usr/bin/chromium
LOG="$(mktemp -t hys-browser-install.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

fail() {
  echo "tests/browser/install.sh: $*" >&2
  if [ -s "$LOG" ]; then
    echo "---- last output ----" >&2
    tail -n 40 "$LOG" >&2
  fi
  exit 1
}

# 1. Chromium (Debian package).
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "$CHROMIUM is missing and we are not root: run 'sudo apt-get install chromium' (Debian's package), then re-run"
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait (up to 10 min) rather than fail if another apt/dpkg run holds the lock.
  apt-get -o DPkg::Lock::Timeout=600 update -q >"$LOG" 2>&1 || fail "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends chromium >>"$LOG" 2>&1 ||
    fail "apt-get install chromium failed"
  [ -x "$CHROMIUM" ] || fail "chromium installed but $CHROMIUM is still missing"
fi

# 2. Node.js >= 20 (playwright-core needs it) and npm.
command -v node >/dev/null 2>&1 || fail "node (Node.js >= 20) is not installed"
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || fail "Node.js >= 20 needed, found $(node --version)"

# 3. npm packages, when node_modules is missing or older than the lock file.
STAMP="$HERE/node_modules/.package-lock.json"
if [ ! -f "$STAMP" ] || [ "$HERE/package-lock.json" -nt "$STAMP" ] ||
  [ ! -f "$HERE/node_modules/playwright-core/package.json" ] ||
  [ ! -f "$HERE/node_modules/axe-core/axe.min.js" ]; then
  (
    cd "$HERE"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  ) >"$LOG" 2>&1 || fail "npm ci failed in $HERE"
  touch "$STAMP"
fi
