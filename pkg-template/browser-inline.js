// Browsers, through any bundler: the wasm travels inside the JS
// (webkv_wasm_inline.js, gzipped and base64-encoded), so it works wherever
// the JS does, whether or not the bundler copies a `.wasm` file: esbuild,
// Rollup, `bun build`, Vite's dev servers, Parcel, CDNs. The browser inflates
// it with its own DecompressionStream and compiles it as it streams.
// (webpack gets browser.js, which fetches the .wasm webpack emits.)
// The KV Connect client is not in this build: `import "webkv/kv-connect"`
// adds it (kv-connect.js).
import init, * as glue from "./webkv_wasm.js";
import wasmGzipBase64 from "./webkv_wasm_inline.js";
import { inlineWasm } from "./inline-wasm.js";
import { preloadWasm, setWasmLoader, setWasmSourceHandler } from "./loader.js";
import { warmUpWhenIdle } from "./open.js";

// The browser build: IndexedDB, no SQLite, no KV Connect (scripts/build.mjs).
const load = (source) => async () => {
  await init({ module_or_path: source() });
  return glue;
};
const FALLBACK = 'serve webkv_wasm_bg.wasm and call setWasmSource(its URL) from "webkv" before openKv';
setWasmLoader(load(() => inlineWasm(wasmGzipBase64, FALLBACK)), { indexedDb: true });
// Inflating and compiling the wasm overlaps whatever the page does before
// its first openKv, instead of adding to it; so does compiling the code an
// open runs.
preloadWasm();
warmUpWhenIdle();

setWasmSourceHandler((source) => {
  setWasmLoader(load(() => source), { indexedDb: true });
  preloadWasm();
  warmUpWhenIdle();
});

export * from "./api.js";
