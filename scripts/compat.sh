#!/usr/bin/env bash
# npm run test:compat: the packed package's end-to-end flow (test/e2e/compat.test.ts) on
#   Node-RED 4.1 (the devDependency) under Node 20,
#   Node-RED 5 (from the npm registry) under Node 22 (the npm registry carries Node itself), and
#   Node-RED 5 under Node 24, the current LTS, and
#   the oldest Node-RED under the oldest Node that package.json claims (the lower bounds of
#   node-red.version and engines.node, exactly),
# so that node-red.version and engines.node in package.json are tested claims, not hopes.
#
# Each Node and Node-RED not at hand is installed once into .compat-cache/ (git-ignored); delete a
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

# Node as a major ("22") or an exact version ("20.18.1"). The `node` package runs a preinstall that
# puts this platform's Node binary in place; allow it alone.
node_from_registry() {
  local version="$1" dir="$cache/node-$1"
  local bin="$dir/node_modules/node/bin/node"
  if [ ! -x "$bin" ] || ! "$bin" --version >/dev/null 2>&1; then
    log "installing Node $version from the npm registry into $dir"
    rm -rf "$dir"
    quiet_npm install --prefix "$dir" --no-save --no-package-lock --allow-scripts=node "node@$version"
  fi
  "$bin" --version | grep -Eq "^v${version//./\\.}(\.|$)" || fail "$bin is not Node $version: $("$bin" --version 2>&1)"
  printf '%s\n' "$bin"
}

# Node-RED as a major or an exact version, installed with the npm of the Node that will run it; the
# package directory.
node_red_from_registry() {
  local version="$1" node_bin="$2" dir="$cache/node-red-$1"
  if [ ! -f "$dir/node_modules/node-red/red.js" ]; then
    log "installing node-red@$version into $dir (with the npm environment of $("$node_bin" --version))"
    rm -rf "$dir"
    # Node-RED needs no install scripts (bcrypt is optional; bcryptjs stands in).
    PATH="$(dirname "$node_bin"):$PATH" quiet_npm install --prefix "$dir" --no-save --no-package-lock --ignore-scripts "node-red@$version"
  fi
  printf '%s\n' "$dir/node_modules/node-red"
}

# ">=4.0.0 <6.0.0" -> 4.0.0: the claims' lower bounds, so that narrowing or widening them is tested too.
lower_bound() {
  node -e 'const m = /^>=\s*(\d+\.\d+\.\d+)(\s|$)/.exec(process.argv[1]); if (!m) process.exit(1); console.log(m[1]);' "$1" ||
    fail "package.json: \"$1\" does not start with >=x.y.z, so its oldest version is unknown"
}
oldest_node_red="$(lower_bound "$(node -p 'require("./package.json")["node-red"].version')")"
oldest_node="$(lower_bound "$(node -p 'require("./package.json").engines.node')")"

if node --version | grep -q '^v20\.'; then
  node20="$(command -v node)"
else
  node20="$(node_from_registry 20)"
fi
node22="$(node_from_registry 22)"
node24="$(node_from_registry 24)"
node_oldest="$(node_from_registry "$oldest_node")"

nodered5="$(node_red_from_registry 5 "$node22")"
nodered_oldest="$(node_red_from_registry "$oldest_node_red" "$node_oldest")"

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
  {"label": "Node-RED 5 on Node 24", "nodeBin": "$node24", "nodeRedDir": "$nodered5", "expectNodeRed": "5.", "expectNode": "24"},
  {"label": "Node-RED $oldest_node_red on Node $oldest_node, the oldest package.json claims", "nodeBin": "$node_oldest", "nodeRedDir": "$nodered_oldest", "expectNodeRed": "$oldest_node_red", "expectNode": "$oldest_node"}
]
JSON
)

log "running test/e2e/compat.test.ts on each"
COMPAT_TARBALL="$tarball" COMPAT_TARGETS="$targets" \
  npx mocha --no-config --require tsx/cjs --extension ts --timeout 60000 test/e2e/compat.test.ts

log "passed in $(( $(date +%s) - started )) s"
