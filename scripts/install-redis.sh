#!/usr/bin/env bash
# Installs Debian's redis-server for the shared-state tests: they start their own redis-server
# processes on 127.0.0.1, one per test, on free ports, so a system Redis is never used. Idempotent and
# quiet: does nothing when the server is already there. Set REDIS_SERVER_PATH to use another binary;
# the tests read the same variable.
set -euo pipefail
exec bash "$(dirname "$0")/install-debian-package.sh" redis-server /usr/bin/redis-server REDIS_SERVER_PATH install-redis
