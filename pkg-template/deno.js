// Deno compiles the .wasm as a source-phase import, so loading webkv needs
// no --allow-read (fetching the file: URL would). The server build: SQLite,
// no IndexedDB (scripts/build.mjs).
import source wasmModule from "./webkv_server_bg.wasm";
import * as glue from "./webkv_server.js";
import { setWasmLoader } from "./loader.js";
import { setSqliteSupport } from "./open.js";
import { sqliteSupport } from "./sqlite.js";

setWasmLoader(() => {
  glue.initSync({ module: wasmModule });
  return glue;
});

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
