// Browsers fetch the .wasm beside this file.
import init from "./webkv_wasm.js";
import { preloadWasm, setWasmLoader, setWasmSourceHandler } from "./kv.js";

setWasmLoader(() => init({ module_or_path: new URL("./webkv_wasm_bg.wasm", import.meta.url) }));
// Fetching and compiling the wasm overlaps whatever the page does before its
// first openKv, instead of adding to it.
preloadWasm();

setWasmSourceHandler((source) => {
  setWasmLoader(() => init({ module_or_path: source }));
  preloadWasm();
});

export * from "./api.js";
