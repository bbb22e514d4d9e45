#!/usr/bin/env bash
# Installs Debian's chromium for the editor tests in test/browser (playwright-core drives it).
# Idempotent and quiet: does nothing when the browser is already there. Set CHROMIUM_PATH to use
# another binary; the tests read the same variable.
set -euo pipefail

browser="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$browser" ]; then
  exit 0
fi

fail() {
  printf 'install-chromium: %s\n' "$*" >&2
  exit 1
}

if [ -n "${CHROMIUM_PATH:-}" ]; then
  fail "CHROMIUM_PATH is set to $CHROMIUM_PATH, but no executable is there; unset it to install Debian's chromium at /usr/bin/chromium."
fi

command -v apt-get >/dev/null 2>&1 ||
  fail "no apt-get on this system: install Chromium yourself and set CHROMIUM_PATH to its executable."

if [ "$(id -u)" -eq 0 ]; then
  run() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run() { sudo -n "$@"; }
else
  fail "installing chromium needs root: run 'sudo apt-get install chromium' (or this script as root), or set CHROMIUM_PATH."
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get update failed (see above)."
fi
if ! run apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get install chromium failed (see above)."
fi

[ -x /usr/bin/chromium ] || fail "chromium was installed but /usr/bin/chromium is missing."
printf 'install-chromium: %s\n' "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
