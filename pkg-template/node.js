// Node and Bun have no fetch for file: URLs: read the .wasm from disk. The
// server build: SQLite, no IndexedDB (scripts/build.mjs).
import { readFile } from "node:fs/promises";
import init, * as glue from "./webkv_server.js";
import { setWasmLoader } from "./loader.js";
import { setSqliteSupport } from "./open.js";
import { sqliteSupport } from "./sqlite.js";

const isBun = typeof globalThis.Bun !== "undefined";

setWasmLoader(async () => {
  await init({ module_or_path: await serverWasm() });
  return glue;
});

/**
 * The .wasm beside this file, where the package installs it; else the copy
 * inlined in webkv_server_inline.js. The second is for server bundles
 * (esbuild --platform=node, `bun build --target=node|bun`, Next.js): they
 * move this code into the bundle's file and copy no .wasm beside it, or name
 * the one they copy by a URL of their web server, so the bundle has to carry
 * one. Imported only when there is no file to read, so that Node and Bun
 * running the package itself never load it (bench/README.md has what the
 * fallback costs).
 */
async function serverWasm() {
  // A CommonJS bundle has no import.meta.url: no file to look for.
  if (typeof import.meta.url === "string" && import.meta.url.startsWith("file:")) {
    try {
      // Bundlers that emit the .wasm as an asset may rewrite this URL into
      // one relative to their server (webpack's `parser.javascript.url:
      // "relative"`, which Next.js sets, and Turbopack's pages): no file.
      const file = new URL("./webkv_server_bg.wasm", import.meta.url);
      if (file.protocol === "file:") return await readFile(file);
    } catch (error) {
      if (error?.code !== "ENOENT") throw error;
    }
  }
  const { default: wasmGzipBase64 } = await import("./webkv_server_inline.js");
  // Not inline-wasm.js's Response and DecompressionStream: in Node, the
  // first Response loads its fetch implementation (~35 ms, ten times the
  // inflating). Bun's own gunzipSync spares it loading node:zlib (~8 ms).
  const gunzipSync = isBun ? globalThis.Bun.gunzipSync : (await import("node:zlib")).gunzipSync;
  return gunzipSync(Buffer.from(wasmGzipBase64, "base64"));
}

// Through a parameter, so that bundlers leave the specifier alone: bundling
// for Node (esbuild --platform=node) would otherwise fail to resolve
// "bun:sqlite", which only Bun has (and only Bun runs that branch). The
// comments keep webpack and Vite from warning that they cannot follow it.
const importBuiltin = (specifier) => import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);

// openKv(path): a file through bun:sqlite in Bun, node:sqlite in Node 22.5+.
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
