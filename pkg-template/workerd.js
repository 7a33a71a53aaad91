// workerd (and wrangler) compile an imported .wasm into a WebAssembly.Module;
// instantiating it needs no fetch or file access. The browser build: workerd
// has neither IndexedDB nor SQLite for it (openKv(path) says so), and
// the browser build is the smaller one.
import wasmModule from "./webkv_wasm_bg.wasm";
import * as glue from "./webkv_wasm.js";
import { setWasmLoader } from "./loader.js";

setWasmLoader(
  () => {
    glue.initSync({ module: wasmModule });
    return glue;
  },
  { indexedDb: true },
);

export * from "./api.js";
