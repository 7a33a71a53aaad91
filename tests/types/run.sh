#!/usr/bin/env bash
# Type-check pkg-template/index.d.ts against real Deno's `Deno.Kv` declarations,
# and pkg-template/hono.d.ts against real Hono's types.
# Usage: tests/types/run.sh   (from anywhere; runs from the repo root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DENO="${DENO:-node_modules/@deno/linux-x64-glibc/deno}"
if [ ! -x "$DENO" ]; then
  echo "tests/types: deno not found at $DENO (run npm install)" >&2
  exit 1
fi
"$DENO" check --unstable-kv --quiet tests/types/check.ts
echo "tests/types: ok (pkg-template/index.d.ts matches Deno.Kv types)"
# webkv/hono's declarations against real Hono's (node_modules/hono).
"$DENO" check --unstable-kv --quiet tests/types/hono.ts
echo "tests/types: ok (pkg-template/hono.d.ts: c.var.kv is a Kv in Hono apps)"
