// Deno compiles the .wasm as a source-phase import, so loading webkv needs
// no --allow-read (fetching the file: URL would).
import source wasmModule from "./webkv_wasm_bg.wasm";
import { initSync } from "./webkv_wasm.js";
import { setWasmLoader } from "./kv.js";

setWasmLoader(() => initSync({ module: wasmModule }));

export * from "./api.js";
