#!/usr/bin/env bash
# Builds bench/results/profpkg/: pkg/ as build.mjs makes it, but from the
# server wasm (the one node.js and deno.js load, webkv_server*) that cargo
# last built (target/server/wasm32-unknown-unknown/release/webkv.wasm) and
# with wasm-opt -g, so CPU profiles name Rust functions instead of
# wasm-function[N]. Does not touch pkg/ or run cargo. The browser entries of
# profpkg/ have no wasm.
#   bash bench/profile-pkg.sh
#   WEBKV_PKG=bench/results/profpkg node --cpu-prof --cpu-prof-dir=bench/results/prof bench/profile.mjs list 8
#   node bench/cpuprofile-top.mjs bench/results/prof/*.cpuprofile
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
src=target/server/wasm32-unknown-unknown/release/webkv.wasm
[[ -f $src ]] || { echo "$src missing: run node scripts/build.mjs once" >&2; exit 1; }
out=bench/results/profpkg
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --weak-refs --out-dir "$out" --out-name webkv_server "$src"
node_modules/.bin/wasm-opt -O3 -g --enable-bulk-memory --enable-reference-types \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-multivalue --enable-mutable-globals \
  "$out/webkv_server_bg.wasm" -o "$out/webkv_server_bg.wasm"
cp -r pkg-template/. "$out/"
echo "built $out (names kept; same optimisation level as pkg/)" >&2
