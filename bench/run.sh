#!/usr/bin/env bash
# Runs every webkv benchmark and writes a markdown summary to stdout and to
# bench/results/latest.md. Usage: bash bench/run.sh   (or: npm run bench)
#   BENCH_RUNS=3    timed runs per workload and implementation (median reported)
#   BENCH_CORE=0    the core every benchmark process is pinned to (taskset)
#   BENCH_ONLY=set,get   only these workloads
#   CHROMIUM=/usr/bin/chromium   the browser of the IndexedDB benchmark (bench/idb/run.mjs)
#   BENCH_COLD_SIZES=100000   its cold databases' sizes (default 100000,1000000: ~10 min; 100000 alone: ~3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
runs="${BENCH_RUNS:-3}"
core="${BENCH_CORE:-0}"
only=()
[[ -n "${BENCH_ONLY:-}" ]] && only=(--only "$BENCH_ONLY")
cold=()
[[ -n "${BENCH_COLD_SIZES:-}" ]] && cold=(--cold-sizes "$BENCH_COLD_SIZES")

deno="$root/node_modules/@deno/linux-x64-glibc/deno"
[[ -x "$deno" ]] || deno="$(command -v deno || true)"
[[ -n "$deno" ]] || { echo "deno not found: run npm install --no-audit --no-fund" >&2; exit 1; }

have_pkg() { [[ -f "$1/deno.js" && -f "$1/node.js" && -f "$1/kv.js" && -f "$1/webkv_wasm.js" && -f "$1/webkv_wasm_bg.wasm" ]]; }

if ! have_pkg pkg; then
  echo "pkg/ missing or incomplete: building it (node scripts/build.mjs, about a minute)" >&2
  node scripts/build.mjs >&2
fi

# Others may rebuild pkg/ at any moment: measure a private copy, so that every
# benchmark in this run sees the same build and none sees a half-written one.
snap="$(mktemp -d)"
kvharness=""
trap '[[ -z "$kvharness" ]] || kill "$kvharness" 2>/dev/null || true; rm -rf "$snap"' EXIT
for attempt in 1 2 3 4 5; do
  rm -rf "$snap/pkg"
  if cp -r pkg "$snap/pkg" 2>/dev/null && have_pkg "$snap/pkg"; then break; fi
  [[ $attempt == 5 ]] && { echo "could not copy a complete pkg/" >&2; exit 1; }
  echo "pkg/ is being rebuilt; retrying in 20 s" >&2
  sleep 20
done
export WEBKV_PKG="$snap/pkg"

pin=()
if command -v taskset >/dev/null; then
  pin=(taskset -c "$core")
  pinning="every benchmark process pinned to core $core with \`taskset -c $core\` (Deno KV's SQLite thread shares that core)"
else
  pinning="**not pinned** (taskset not found)"
fi

mkdir -p bench/results
out="bench/results/latest.md"
tmp="$snap/summary.md"

wasm_sha="$(sha256sum "$WEBKV_PKG/webkv_wasm_bg.wasm" | cut -c1-12)"
{
  echo "# webkv benchmarks"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet -- src pkg-template 2>/dev/null || echo ' (+ uncommitted changes in src/ or pkg-template/)'), wasm sha256 $wasm_sha…"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared with other work; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $pinning"
  echo "- Absolute numbers swing a lot between runs on this shared machine; compare the ratios (both sides measured in the same process, alternating order)."
  echo
} > "$tmp"

echo "== size" >&2
node bench/size.mjs >> "$tmp"
echo "== node: webkv vs @deno/kv in-memory" >&2
"${pin[@]}" node --expose-gc bench/node_bench.mjs --runs "$runs" "${only[@]}" >> "$tmp"
echo "== deno: webkv vs Deno.openKv(\":memory:\")" >&2
"${pin[@]}" "$deno" run -A --unstable-kv --v8-flags=--expose-gc bench/deno_bench.js --runs "$runs" "${only[@]}" >> "$tmp"
echo "== deno: KV Connect, webkv's remote client vs Deno's, one local denokv" >&2
# denokv runs outside the pinned core (started here, not by the pinned process),
# so the server does not compete with the client for it.
if command -v denokv >/dev/null; then
  kvenv="$snap/denokv.env"
  node tests/kvconnect/denokv.mjs serve --write-env "$kvenv" >/dev/null &
  kvharness=$!
  for _ in $(seq 1 200); do [[ -s "$kvenv" ]] && break; sleep 0.05; done
  if [[ -s "$kvenv" ]]; then
    remote_only=()
    [[ -n "${BENCH_ONLY:-}" ]] && remote_only=(--only "$BENCH_ONLY")
    (set -a; source "$kvenv"; set +a
      "${pin[@]}" "$deno" run -A --unstable-kv bench/remote_bench.js --runs "$runs" "${remote_only[@]}") >> "$tmp" \
      || exit 1
  else
    echo "denokv did not start: KV Connect benchmark skipped" >&2
    printf '## KV Connect\n\nskipped: denokv did not start\n\n' >> "$tmp"
  fi
  kill "$kvharness" 2>/dev/null || true
  wait "$kvharness" 2>/dev/null || true
  kvharness=""
else
  echo "denokv not installed (bash scripts/setup.sh): KV Connect benchmark skipped" >&2
  printf '## KV Connect\n\nskipped: denokv not installed (bash scripts/setup.sh)\n\n' >> "$tmp"
fi
echo "== memory" >&2
"${pin[@]}" node bench/memory.mjs >> "$tmp"
echo "== chromium: webkv's IndexedDB database vs raw IndexedDB, idb-keyval, Dexie (~10 min; BENCH_COLD_SIZES=100000: ~3)" >&2
# Not pinned: Chromium's IndexedDB work runs in other processes than the page.
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$chromium" && -f "$WEBKV_PKG/browser.js" && -d node_modules/dexie && -d node_modules/idb-keyval ]]; then
  CHROMIUM="$chromium" node bench/idb/run.mjs --runs "${BENCH_RUNS:-5}" "${only[@]}" "${cold[@]}" >> "$tmp"
else
  echo "Chromium, pkg/browser.js, dexie or idb-keyval missing: IndexedDB benchmark skipped" >&2
  printf '## In Chromium\n\nskipped: needs %s, pkg/browser.js and npm install (dexie, idb-keyval)\n\n' "$chromium" >> "$tmp"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$tmp"

cp "$tmp" "$out"
cat "$out"
echo "(written to $out)" >&2
