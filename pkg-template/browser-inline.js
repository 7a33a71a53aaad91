// Browsers, through any bundler: the wasm travels inside the JS
// (webkv_wasm_inline.js, gzipped and base64-encoded), so it works wherever
// the JS does, whether or not the bundler copies a `.wasm` file: esbuild,
// Rollup, `bun build`, Vite's dev servers, Parcel, CDNs. The browser inflates
// it with its own DecompressionStream and compiles it as it streams.
// (webpack gets browser.js, which fetches the .wasm webpack emits.)
import init, * as glue from "./webkv_wasm.js";
import wasmGzipBase64 from "./webkv_wasm_inline.js";
import { preloadWasm, setWasmLoader, setWasmSourceHandler } from "./loader.js";
import { warmUpWhenIdle } from "./open.js";

function inlineWasm() {
  if (typeof DecompressionStream !== "function") {
    throw new TypeError(
      "webkv: this browser has no DecompressionStream (Chrome 80, Firefox 113, Safari 16.4 have it); " +
        "serve webkv_wasm_bg.wasm and call setWasmSource(its URL) before openKv",
    );
  }
  const text = wasmGzipBase64;
  let bytes;
  if (typeof Uint8Array.fromBase64 === "function") {
    bytes = Uint8Array.fromBase64(text);
  } else {
    const binary = atob(text);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  }
  const wasm = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(wasm, { headers: { "content-type": "application/wasm" } });
}

// The browser build: IndexedDB, no SQLite (scripts/build.mjs).
const load = (source) => async () => {
  await init({ module_or_path: source() });
  return glue;
};
setWasmLoader(load(inlineWasm), { indexedDb: true });
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
