#!/usr/bin/env bash
# Installs Debian's redis-server for the shared-state tests (test/**/redis*): they start their own
# redis-server processes on 127.0.0.1, one per test, on free ports. Idempotent and quiet: does nothing
# when the server is already there. Set REDIS_SERVER_PATH to use another binary; the tests read it too.
set -euo pipefail

server="${REDIS_SERVER_PATH:-/usr/bin/redis-server}"

if [ -x "$server" ]; then
  exit 0
fi

fail() {
  printf 'install-redis: %s\n' "$*" >&2
  exit 1
}

if [ -n "${REDIS_SERVER_PATH:-}" ]; then
  fail "REDIS_SERVER_PATH is set to $REDIS_SERVER_PATH, but no executable is there; unset it to install Debian's redis-server at /usr/bin/redis-server."
fi

command -v apt-get >/dev/null 2>&1 ||
  fail "no apt-get on this system: install redis-server yourself and set REDIS_SERVER_PATH to its executable."

if [ "$(id -u)" -eq 0 ]; then
  run() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run() { sudo -n "$@"; }
else
  fail "installing redis-server needs root: run 'sudo apt-get install redis-server' (or this script as root), or set REDIS_SERVER_PATH."
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get update failed (see above)."
fi
if ! run apt-get install -y -qq --no-install-recommends redis-server >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get install redis-server failed (see above)."
fi

[ -x /usr/bin/redis-server ] || fail "redis-server was installed but /usr/bin/redis-server is missing."
# The tests start their own servers; the Debian service is not needed and would hold port 6379.
if command -v systemctl >/dev/null 2>&1 && run systemctl is-active --quiet redis-server 2>/dev/null; then
  run systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
printf 'install-redis: %s\n' "$(/usr/bin/redis-server --version 2>/dev/null || echo 'redis-server installed')"
