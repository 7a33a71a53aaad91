#!/usr/bin/env bash
# Runs every webkv test: lint, native core tests, wasm-bindgen-test in Node
# and headless Chromium (through wasm-pack), the package build, the V8 codec,
# type checks, the conformance suite against real Deno and against webkv (in
# memory and on SQLite files), SQLite files against real Deno and denokv,
# Durable Objects' SQLite storage in workerd, the runtime smoke tests, the packed package in every bundler, the IndexedDB
# database in Chromium, the www pages, and KV Connect against a real denokv
# and against hostile servers.
# Expects `bash scripts/setup.sh` to have run (the README's test command does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-60}"

passed=()
run() {
  local name=$1
  shift
  printf '\n==== %s\n' "$name"
  local started=$SECONDS
  "$@"
  passed+=("$name ($((SECONDS - started)) s)")
}

run "cargo fmt --check" cargo fmt --all -- --check
run "clippy (native)" cargo clippy --all-targets -- -D warnings
run "clippy (wasm32)" cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings
# The two feature sets scripts/build.mjs builds (browser, server).
run "clippy (wasm32, browser build: indexeddb)" cargo clippy --target wasm32-unknown-unknown --lib --no-default-features --features indexeddb -- -D warnings
run "clippy (wasm32, server build: sqlite, remote)" cargo clippy --target wasm32-unknown-unknown --lib --no-default-features --features sqlite,remote -- -D warnings
run "clippy (wasm32, KV Connect browser build: remote)" cargo clippy --target wasm32-unknown-unknown --lib --no-default-features --features remote -- -D warnings
run "core tests (native)" cargo test
# The commands the README gives the crate's users (they run the same suites
# as `cargo test --target wasm32-unknown-unknown`).
run "bindings, and the KV Connect wire decoders fed a hostile server's bytes, as wasm32 in Node (wasm-pack test --node)" wasm-pack test --node
# Through scripts/wasm-pack-chrome.mjs: plain `wasm-pack test --headless
# --chrome` can leave the test page at "Loading scripts..." until
# chromedriver's 300 s timeout on a busy machine (the runner's HTTP server
# strands a connection; README.md, "Testing the wasm bindings").
run "bindings in Chromium (wasm-pack test --headless --chrome, through a one-request-per-connection proxy)" node scripts/wasm-pack-chrome.mjs
run "wasm-pack's test server holds keep-alive connections; through the proxy it holds none" node --test tests/wasm-pack-chrome/
run "build pkg/" node scripts/build.mjs
run "V8 value codec and wire.js in Node" node --test tests/codec/v8_node.test.mjs tests/codec/wire_node.test.mjs
run "V8 value codec in Chromium" node --test tests/codec/v8_chromium.test.mjs
run "V8 value codec against Deno's V8" node_modules/@deno/linux-x64-glibc/deno test -A tests/codec/v8_deno.test.js
run "TypeScript declarations vs Deno's" bash tests/types/run.sh
run "conformance: real Deno" bash tests/conformance/run.sh deno
run "conformance: webkv in Deno" bash tests/conformance/run.sh webkv
run "conformance: webkv in Deno on SQLite files" bash tests/conformance/run.sh webkv-sqlite
run "SQLite files in Deno's format (webkv in Node 24/22.23/22.13, Bun, Deno): interop with real Deno and denokv, processes, queues, SIGKILL, full disk, group commit, errors" bash tests/sqlite/run.sh
run "Durable Objects: openKv(ctx.storage) in workerd with SQLite storage on disk (restarts, alarm-driven queue, concurrency, rollback, Deno reads the file), and the example under real wrangler dev from the packed tarball" node --test --test-concurrency=1 tests/durable-object/durable-object.test.mjs tests/durable-object/wrangler.test.mjs
run "conformance: webkv in Chromium (IndexedDB)" node tests/conformance/chromium/run.mjs
run "IndexedDB failures and layouts in Chromium" node --test tests/storage/
run "IndexedDB durability across reloads, tabs, workers and crashes in Chromium" node --test tests/idb/
run "smoke: Node, Deno, Bun, workerd, Chromium page and worker" bash tests/smoke/run.sh
run "webkv/hono: Hono middleware in Node, Deno, Bun and workerd, with denokv; the README app under real wrangler dev" node --test --test-concurrency=1 tests/hono/
run "packaging: the tarball in esbuild, Rollup, bun build, Vite 6/7/8, webpack, Parcel (Chromium page and worker), Next.js 16 (Turbopack, webpack, dev), server bundles (esbuild, bun build, webpack) alone in Node and Bun; tsc, attw, publint" bash tests/packaging/run.sh
run "www pages in Chromium: explorer, demo app, bundled demo, playground" node --test tests/www/
run "KV Connect: conformance, interop and faults against denokv" bash tests/kvconnect/run.sh
run "KV Connect: Chromium through the CORS proxy" node --test tests/kvconnect/chromium.test.mjs
run "KV Connect: Node and workerd straight to denokv" node --test tests/kvconnect/runtimes.test.mjs
run "KV Connect: hostile servers and redirects, in Node" node --test tests/kvconnect/hostile.test.mjs tests/kvconnect/redirects.test.mjs
run "KV Connect: hostile servers, in Deno (http1.js)" node_modules/@deno/linux-x64-glibc/deno test -A tests/kvconnect/hostile_deno.test.js

printf '\n==== all test groups passed\n'
printf '  %s\n' "${passed[@]}"
