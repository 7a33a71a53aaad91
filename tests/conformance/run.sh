#!/usr/bin/env bash
# Run the conformance suite against a target: tests/conformance/run.sh [deno|webkv] [extra deno test args...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${1:-deno}"
shift || true
deno="${DENO:-$root/node_modules/@deno/linux-x64-glibc/deno}"
if [ ! -x "$deno" ]; then
  deno="$(command -v deno || true)"
fi
if [ -z "$deno" ]; then
  echo "deno binary not found (expected $root/node_modules/@deno/linux-x64-glibc/deno; run npm install)" >&2
  exit 1
fi
cd "$root"
KV_TARGET="$target" exec "$deno" test --unstable-kv -A "$@" tests/conformance/
