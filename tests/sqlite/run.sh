#!/usr/bin/env bash
# openKv(path) on SQLite files in Deno's format, against real components:
# real Deno 2.9 (Deno.openKv on the same files), denokv serving them, webkv
# in Node 24 and 22 (node:sqlite), Bun (bun:sqlite) and Deno (node:sqlite),
# several processes on one file, SIGKILL, locked and corrupt files.
# The test runner is Node 24 (.tools/, from scripts/setup.sh): the system
# Node 20 has no node:sqlite, which the tests use to inspect the files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
node24="${NODE24:-.tools/node-24.21.0/bin/node}"
# Node 22 LTS runs webkv's scripts too: its newest and 22.13 (helpers.mjs).
for node in "$node24" "${NODE22:-.tools/node-22.23.5/bin/node}" "${NODE22_13:-.tools/node-22.13.1/bin/node}"; do
  if [ ! -x "$node" ]; then
    echo "tests/sqlite: $node missing: run bash scripts/setup.sh" >&2
    exit 1
  fi
done
if [ ! -f pkg/package.json ] || [ ! -f pkg/webkv_wasm_bg.wasm ]; then
  echo "tests/sqlite: pkg/ missing, building it"
  node scripts/build.mjs
fi
# One file at a time: the lock and timing tests must not compete for the CPU.
if [ $# -eq 0 ]; then set -- tests/sqlite/*.test.mjs; fi
# A test that waits for a child process fails after a minute instead of hanging.
exec "$node24" --test --test-concurrency=1 --test-timeout=60000 "$@"
