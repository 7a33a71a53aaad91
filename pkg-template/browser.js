// Browsers that load the .wasm as a file beside this one: webpack (which
// copies it into the build for `new URL(..., import.meta.url)`), import maps
// and plain <script type="module"> pages serving the package as it is. The
// browser fetches it, compiles it as it downloads and caches it on its own.
// Other bundlers get browser-inline.js.
import init, * as glue from "./webkv_wasm.js";
import { preloadWasm, setWasmLoader, setWasmSourceHandler } from "./loader.js";
import { warmUpWhenIdle } from "./open.js";

// The browser build: IndexedDB, no SQLite, no KV Connect (scripts/build.mjs).
const load = (source) => async () => {
  await init({ module_or_path: source });
  return glue;
};
// KV Connect: `import "webkv/kv-connect"` (kv-connect-browser.js).
setWasmLoader(load(new URL("./webkv_wasm_bg.wasm", import.meta.url)), { indexedDb: true });
// Fetching and compiling the wasm overlaps whatever the page does before its
// first openKv, instead of adding to it; so does compiling the code an
// open runs.
preloadWasm();
warmUpWhenIdle();

setWasmSourceHandler((source) => {
  setWasmLoader(load(source), { indexedDb: true });
  preloadWasm();
  warmUpWhenIdle();
});

export * from "./api.js";
