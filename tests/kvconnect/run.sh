#!/usr/bin/env bash
# KV Connect tests against a real denokv 0.14 (installed by scripts/setup.sh):
#   bash tests/kvconnect/run.sh
#
#   1. the conformance suite (tests/conformance/) with KV_TARGET=deno-remote: real Deno's
#      Deno.openKv(url) against the server;
#   2. the same suite with KV_TARGET=webkv-remote: webkv's openKv(url, { accessToken });
#   3. interop.test.js: Deno and webkv read what the other wrote;
#   4. faults.test.js: retries, double-apply, token expiry and wrong tokens through
#      fault_proxy.mjs (its own denokv and proxy);
#   5. kv_proxy.test.js: scripts/kv-proxy.mjs (CORS, token injection, metadata rewriting);
#      kv_proxy_hardening.test.mjs (node --test, its own denokv): request targets naming other
#      origins, foreign Origins and Host names, body and time limits, https:// targets;
#   6. http1.test.js: src/bindings/http1.js, webkv's HTTP/1.1 client in Deno, against scripted
#      servers (and one redirect test through to denokv).
# One denokv (tests/kvconnect/denokv.mjs) serves 1-3, 5 and 6; it binds 127.0.0.1, its PID is in
# tests/kvconnect/.tmp, and it is killed on exit. Every group runs; the exit status is
# non-zero if any failed. Extra arguments go to every `deno test` (e.g. --filter list).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

deno="${DENO:-$root/node_modules/@deno/linux-x64-glibc/deno}"
[[ -x "$deno" ]] || deno="$(command -v deno || true)"
[[ -n "$deno" ]] || { echo "deno not found: run npm install --no-audit --no-fund" >&2; exit 1; }
command -v denokv >/dev/null || [[ -n "${DENOKV:-}" ]] || {
  echo "denokv not found: run bash scripts/setup.sh (cargo install denokv --version 0.14.0 --locked)" >&2
  exit 1
}

node scripts/build-if-needed.mjs || { echo "building pkg/ failed" >&2; exit 1; }

mkdir -p "$here/.tmp"
envfile="$here/.tmp/run-$$.env"
node "$here/denokv.mjs" serve --write-env "$envfile" >/dev/null &
harness=$!
cleanup() {
  kill "$harness" 2>/dev/null && wait "$harness" 2>/dev/null
  rm -f "$envfile"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 1 200); do
  [[ -s "$envfile" ]] && break
  kill -0 "$harness" 2>/dev/null || { echo "denokv did not start (see tests/kvconnect/.tmp/*.log)" >&2; exit 1; }
  sleep 0.05
done
[[ -s "$envfile" ]] || { echo "denokv did not start within 10 s" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "$envfile"
set +a
echo "denokv $(cargo install --list 2>/dev/null | awk '/^denokv v/ { print $2 }' | tr -d v:) on $KV_CONNECT_URL (pid $KV_CONNECT_PID)"

failed=()
passed=()
group() {
  local name=$1
  shift
  printf '\n==== %s\n' "$name"
  local started=$SECONDS
  if "$@"; then
    passed+=("$name ($((SECONDS - started)) s)")
  else
    failed+=("$name")
  fi
}

group "conformance: deno-remote" env KV_TARGET=deno-remote "$deno" test --unstable-kv -A "$@" tests/conformance/

group "conformance: webkv-remote" env KV_TARGET=webkv-remote "$deno" test --unstable-kv -A "$@" tests/conformance/

group "interop: Deno <-> webkv" "$deno" test --unstable-kv -A "$@" tests/kvconnect/interop.test.js
# The fault tests get their own server: they flip its state through the proxy.
group "faults (fault_proxy.mjs)" env -u KV_CONNECT_URL -u KV_CONNECT_TOKEN "$deno" test --unstable-kv -A "$@" tests/kvconnect/faults.test.js
group "kv-proxy (CORS proxy)" "$deno" test --unstable-kv -A "$@" tests/kvconnect/kv_proxy.test.js
group "kv-proxy hardening (raw sockets, limits, https target)" env -u KV_CONNECT_URL -u KV_CONNECT_TOKEN node --test tests/kvconnect/kv_proxy_hardening.test.mjs
group "http1.js (Deno's HTTP/1.1 client)" "$deno" test --unstable-kv -A "$@" tests/kvconnect/http1.test.js

printf '\n==== kvconnect summary\n'
for p in "${passed[@]}"; do printf '  passed: %s\n' "$p"; done
for f in "${failed[@]}"; do printf '  FAILED: %s\n' "$f"; done
[[ ${#failed[@]} -eq 0 ]]
