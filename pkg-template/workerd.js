// workerd (and wrangler) compile an imported .wasm into a WebAssembly.Module;
// instantiating it needs no fetch or file access.
import wasmModule from "./webkv_wasm_bg.wasm";
import { initSync } from "./webkv_wasm.js";
import { setWasmLoader } from "./kv.js";

setWasmLoader(() => initSync({ module: wasmModule }));

export * from "./api.js";
