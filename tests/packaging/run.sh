#!/usr/bin/env bash
# Packaging tests: the packed tarball of pkg/ as users get it.
#   - bundlers.test.mjs: an app importing webkv built with esbuild, Rollup,
#     `bun build`, Vite 6/7/8 (build and dev server), webpack 5 and Parcel 2,
#     with no webkv-specific configuration, run in Chromium (page and module
#     Worker); and a server app bundled by esbuild --platform=node,
#     `bun build --target=node|bun` and webpack 5 (target node), run alone
#     in Node 24 and Bun;
#   - next.test.mjs: a Next.js App Router app (no next.config) built with
#     Turbopack and with webpack (`next build` + `next start`) and served by
#     `next dev` (Turbopack): a client component in Chromium (memory and
#     IndexedDB), a server component (memory) and a route handler (memory and
#     a SQLite file), one Next build at a time;
#   - types.test.mjs: tsc strict (TypeScript 5.9/6/7, default libs and
#     es2022+dom, moduleResolution bundler/node16/nodenext, no @types/node),
#     attw --pack --profile esm-only and publint;
#   - package.test.mjs: README, LICENSE, metadata, sideEffects, the glue.
#
# Usage: tests/packaging/run.sh [test files...]   (default: all four)
# The tools are installed once into tests/packaging/.tmp/tools/ (ignored;
# reinstalled whenever tools/package.json or its lock change, or it is gone).
# Builds pkg/ first if it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

if [ ! -f pkg/package.json ] || [ ! -f pkg/webkv_wasm_inline.js ]; then
  echo "tests/packaging: pkg/ missing or stale, building it"
  node scripts/build.mjs
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/bun ]; then
  echo "tests/packaging: dev dependencies missing, running npm install"
  npm install --no-audit --no-fund
fi
node tests/packaging/install-tools.mjs >/dev/null

if [ "$#" -gt 0 ]; then
  files=()
  for f in "$@"; do
    if [ -f "$f" ]; then files+=("$f"); else files+=("tests/packaging/$f"); fi
  done
else
  files=(tests/packaging/bundlers.test.mjs tests/packaging/types.test.mjs tests/packaging/next.test.mjs tests/packaging/package.test.mjs)
fi

# Two files at once: the type checks fill the gaps the bundlers leave, and
# next.test.mjs (one Next build at a time) starts when one of them is done.
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
