#!/usr/bin/env bash
# Installs Debian's chromium for the editor tests in test/browser (playwright-core drives it).
# Idempotent and quiet: does nothing when the browser is already there. Set CHROMIUM_PATH to use
# another binary; the tests read the same variable.
set -euo pipefail
exec bash "$(dirname "$0")/install-debian-package.sh" chromium /usr/bin/chromium CHROMIUM_PATH install-chromium
