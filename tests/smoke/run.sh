#!/usr/bin/env bash
# Smoke tests of the built npm package: import `webkv` by name, as a user
# would, in Node 20, Deno, Bun, workerd, a Chromium page and a Chromium module
# worker, and run the same scenario (scenario.js) with every result asserted.
#
# Usage: tests/smoke/run.sh [test files...]   (default: all tests/smoke/*.test.mjs)
# Builds pkg/ first if it is missing. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

if [ ! -f pkg/package.json ] || [ ! -f pkg/webkv_wasm_bg.wasm ]; then
  echo "tests/smoke: pkg/ missing, building it"
  node scripts/build.mjs
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/workerd ] || [ ! -d node_modules/bun ]; then
  echo "tests/smoke: dev dependencies missing, running npm install"
  npm install --no-audit --no-fund
fi

TMP=tests/smoke/.tmp
mkdir -p "$TMP/pids"
# Servers started by the tests record their PIDs here; kill any left behind.
cleanup() {
  for f in "$TMP"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

node tests/smoke/link-pkg.mjs >/dev/null

if [ "$#" -gt 0 ]; then files=("$@"); else files=(tests/smoke/*.test.mjs); fi

status=0
node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$TMP/smoke.tap" \
  "${files[@]}" || status=$?

pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$TMP/smoke.tap" | tail -1)"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$TMP/smoke.tap" | tail -1)"
echo "smoke: ${pass:-0} passed, ${fail:-0} failed"
if [ "$status" -ne 0 ] || [ "${fail:-0}" != "0" ] || [ "${pass:-0}" = "0" ]; then
  [ "$status" -ne 0 ] || status=1
  echo "tests/smoke: FAILED" >&2
fi
exit "$status"
