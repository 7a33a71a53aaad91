// Browsers fetch the .wasm beside this file.
import init from "./webkv_wasm.js";
import { preloadWasm, setWasmLoader, setWasmSourceHandler, warmUpWhenIdle } from "./kv.js";

setWasmLoader(() => init({ module_or_path: new URL("./webkv_wasm_bg.wasm", import.meta.url) }));
// Fetching and compiling the wasm overlaps whatever the page does before its
// first openKv, instead of adding to it; so does compiling the code an
// open runs.
preloadWasm();
warmUpWhenIdle();

setWasmSourceHandler((source) => {
  setWasmLoader(() => init({ module_or_path: source }));
  preloadWasm();
  warmUpWhenIdle();
});

export * from "./api.js";
