// Node and Bun have no fetch for file: URLs: read the .wasm from disk. The
// server build: SQLite, no IndexedDB (scripts/build.mjs).
import { readFile } from "node:fs/promises";
import init, * as glue from "./webkv_server.js";
import { setWasmLoader } from "./loader.js";
import { setSqliteSupport } from "./open.js";
import { sqliteSupport } from "./sqlite.js";

setWasmLoader(async () => {
  const bytes = await readFile(new URL("./webkv_server_bg.wasm", import.meta.url));
  await init({ module_or_path: bytes });
  return glue;
});

// Through a parameter, so that bundlers leave the specifier alone: bundling
// for Node (esbuild --platform=node) would otherwise fail to resolve
// "bun:sqlite", which only Bun has (and only Bun runs that branch). The
// comments keep webpack and Vite from warning that they cannot follow it.
const importBuiltin = (specifier) => import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);

// openKv(path): a file through bun:sqlite in Bun, node:sqlite in Node 22.5+.
const isBun = typeof globalThis.Bun !== "undefined";
setSqliteSupport(
  sqliteSupport(
    async () =>
      isBun
        ? { kind: "bun", Database: (await importBuiltin("bun:sqlite")).Database }
        : { kind: "node", Database: (await import("node:sqlite")).DatabaseSync },
    (path, cause) =>
      new TypeError(
        `openKv(${JSON.stringify(path)}) keeps the database in a SQLite file, which needs node:sqlite: ` +
          `Node ${process.version} has none (${cause?.message ?? cause}). Use Node 22.13+ (22.5-22.12 with ` +
          '--experimental-sqlite), Bun or Deno for a file; openKv() or openKv(":memory:") for a database in ' +
          'memory; or openKv("http(s)://...") for a KV Connect server such as denokv',
      ),
  ),
);

export * from "./api.js";
