// workerd (and wrangler) compile an imported .wasm into a WebAssembly.Module;
// instantiating it needs no fetch or file access. The server build: it has
// the SQLite backend, which openKv(ctx.storage) runs on a Durable Object's
// SQLite storage (durable-object.js); workerd has no IndexedDB.
import wasmModule from "./webkv_server_bg.wasm";
import * as glue from "./webkv_server.js";
import { setWasmLoader } from "./loader.js";
import { setDurableObjectSupport, setSqliteSupport } from "./open.js";
import { durableObjectSupport } from "./durable-object.js";

setWasmLoader(() => {
  glue.initSync({ module: wasmModule });
  return glue;
});

setDurableObjectSupport(durableObjectSupport);

// A path: workerd has no file system to keep a database file in.
setSqliteSupport(async (path) => {
  throw new TypeError(
    `openKv(${JSON.stringify(path)}): workerd has no SQLite file to keep a database in. Inside a Durable ` +
      "Object use openKv(ctx.storage) (a SQLite-backed class: new_sqlite_classes in wrangler, enableSql in " +
      'workerd); openKv() or openKv(":memory:") for a database in memory; or openKv("http(s)://...") for a ' +
      "KV Connect server such as denokv",
  );
});

export * from "./api.js";
