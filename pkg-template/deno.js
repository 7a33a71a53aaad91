// Deno compiles the .wasm as a source-phase import, so loading webkv needs
// no --allow-read (fetching the file: URL would).
import source wasmModule from "./webkv_wasm_bg.wasm";
import { initSync } from "./webkv_wasm.js";
import { setSqliteSupport, setWasmLoader } from "./kv.js";
import { sqliteSupport } from "./sqlite.js";

setWasmLoader(() => initSync({ module: wasmModule }));

// openKv(path): a file through Deno's node:sqlite (--allow-read and
// --allow-write on it suffice).
setSqliteSupport(
  sqliteSupport(
    async () => ({ kind: "node", Database: (await import("node:sqlite")).DatabaseSync }),
    (path, cause) =>
      new TypeError(`openKv(${JSON.stringify(path)}) needs node:sqlite, which failed to load: ${cause?.message ?? cause}`),
  ),
);

export * from "./api.js";
