#!/usr/bin/env bash
# npm run test:compat: the packed package's end-to-end flow (test/e2e/compat.test.ts) on
#   Node-RED 4.1 (the devDependency) under Node 20,
#   Node-RED 5 (from the npm registry) under Node 22 (the npm registry carries Node itself), and
#   Node-RED 5 under Node 24, the current LTS,
# so that node-red.version and engines.node in package.json are tested claims, not hopes.
#
# Node 20, 22 and 24 and Node-RED 5 are installed once into .compat-cache/ (git-ignored); delete a
# folder there to fetch a newer release. COMPAT_CACHE moves the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${COMPAT_CACHE:-.compat-cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
started=$(date +%s)

log() { printf 'compat: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

quiet_npm() {
  # npm's output only when it fails: a cache hit is silent, a miss says what it fetched.
  local out
  if ! out=$(npm "$@" --no-audit --no-fund --loglevel=error 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# The `node` package runs a preinstall that puts this platform's Node binary in place; allow it alone.
node_from_registry() {
  local major="$1" dir="$cache/node-$1"
  local bin="$dir/node_modules/node/bin/node"
  if [ ! -x "$bin" ] || ! "$bin" --version >/dev/null 2>&1; then
    log "installing Node $major from the npm registry into $dir"
    rm -rf "$dir"
    quiet_npm install --prefix "$dir" --no-save --no-package-lock --allow-scripts=node "node@$major"
  fi
  "$bin" --version | grep -q "^v$major\." || fail "$bin is not Node $major: $("$bin" --version 2>&1)"
  printf '%s\n' "$bin"
}

if node --version | grep -q '^v20\.'; then
  node20="$(command -v node)"
else
  node20="$(node_from_registry 20)"
fi
node22="$(node_from_registry 22)"
node24="$(node_from_registry 24)"

nodered5="$cache/node-red-5/node_modules/node-red"
if [ ! -f "$nodered5/red.js" ]; then
  log "installing node-red@5 into $cache/node-red-5 (with Node 22's npm environment)"
  rm -rf "$cache/node-red-5"
  # Node-RED needs no install scripts (bcrypt is optional; bcryptjs stands in).
  PATH="$(dirname "$node22"):$PATH" quiet_npm install --prefix "$cache/node-red-5" --no-save --no-package-lock --ignore-scripts node-red@5
fi

# npm pack builds the package first (its prepack script), as it does for npm publish.
log "building and packing the package"
packdir="$cache/pack"
rm -rf "$packdir"
mkdir -p "$packdir"
tarball="$packdir/$(npm pack --silent --pack-destination "$packdir" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack did not write $tarball"

targets=$(cat <<JSON
[
  {"label": "Node-RED 4.1 on Node 20", "nodeBin": "$node20", "nodeRedDir": "$PWD/node_modules/node-red", "expectNodeRed": "4.1", "expectNode": "20"},
  {"label": "Node-RED 5 on Node 22", "nodeBin": "$node22", "nodeRedDir": "$nodered5", "expectNodeRed": "5.", "expectNode": "22"},
  {"label": "Node-RED 5 on Node 24", "nodeBin": "$node24", "nodeRedDir": "$nodered5", "expectNodeRed": "5.", "expectNode": "24"}
]
JSON
)

log "running test/e2e/compat.test.ts on each"
COMPAT_TARBALL="$tarball" COMPAT_TARGETS="$targets" \
  npx mocha --no-config --require tsx/cjs --extension ts --timeout 60000 test/e2e/compat.test.ts

log "passed in $(( $(date +%s) - started )) s"
