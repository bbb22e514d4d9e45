#!/usr/bin/env bash
# Installs one Debian package that tests need, unless its executable is already there.
# Usage: install-debian-package.sh <package> <executable> <override variable> <caller's name>
# The override variable (CHROMIUM_PATH, REDIS_SERVER_PATH) names another executable to use instead;
# the tests read the same variable. Quiet unless something fails, then says what to do.
set -euo pipefail

package="$1"
default_path="$2"
override_name="$3"
caller="$4"
override="${!override_name:-}"

fail() {
  printf '%s: %s\n' "$caller" "$*" >&2
  exit 1
}

if [ -x "${override:-$default_path}" ]; then
  exit 0
fi

if [ -n "$override" ]; then
  fail "$override_name is set to $override, but no executable is there; unset it to install Debian's $package at $default_path."
fi

command -v apt-get >/dev/null 2>&1 ||
  fail "no apt-get on this system: install $package yourself and set $override_name to its executable."

if [ "$(id -u)" -eq 0 ]; then
  run() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run() { sudo -n "$@"; }
else
  fail "installing $package needs root: run 'sudo apt-get install $package' (or this script as root), or set $override_name."
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get update failed (see above)."
fi
if ! run apt-get install -y -qq --no-install-recommends "$package" >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get install $package failed (see above)."
fi

[ -x "$default_path" ] || fail "$package was installed but $default_path is missing."
printf '%s: %s\n' "$caller" "$("$default_path" --version 2>/dev/null || echo "$package installed")"
