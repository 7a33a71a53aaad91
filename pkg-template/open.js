// Opening a database: which backend serves a path in this runtime (memory,
// IndexedDB, a SQLite file, a KV Connect server), Deno's checks on the path,
// and deleting a browser database.

import { isIndexedDbBuild, loadRemoteWasm, loadWasm, wasm } from "./loader.js";
import { wrapDatabase } from "./kv.js";

/** The database `openKv()` opens when given no path. */
const DEFAULT_NAME = "default";

/** Whether databases can live in IndexedDB here: a browser build, in a runtime with IndexedDB. */
function hasIndexedDb() {
  return isIndexedDbBuild() && wasm.hasIndexedDb();
}

/** DENO_KV_ACCESS_TOKEN from the environment, where the runtime has one. */
function environmentToken() {
  try {
    const fromDeno = globalThis.Deno?.env?.get("DENO_KV_ACCESS_TOKEN");
    if (fromDeno) return fromDeno;
  } catch {
    // No --allow-env: fall through.
  }
  return globalThis.process?.env?.DENO_KV_ACCESS_TOKEN;
}

let sqliteSupport = null;

/**
 * Called by the Node/Bun and Deno entry files: how `openKv(path)` reaches
 * the runtime's SQLite (pkg-template/sqlite.js).
 */
export function setSqliteSupport(support) {
  sqliteSupport = support;
}

let durableObjectSupport = null;

/**
 * Called by the workerd entry: `support(storage)` returns `{ key,
 * connection }` for a Durable Object's storage (pkg-template/durable-object.js)
 * and throws a TypeError for anything else.
 */
export function setDurableObjectSupport(support) {
  durableObjectSupport = support;
}

/** What `openKv(path)` throws where the runtime has no SQLite at all. */
function noSqlite(path) {
  return new TypeError(
    `openKv(${JSON.stringify(path)}): this runtime has no SQLite to keep a database file in. ` +
      'Use openKv() or openKv(":memory:") for a database in memory, or openKv("http(s)://...") for a ' +
      "KV Connect server such as denokv (denokv --sqlite-path FILE serve); files need Node 22.5+, Bun or Deno",
  );
}

/** What `openKv(url)` throws in a browser that has not imported the KV Connect client. */
function noKvConnect(url) {
  return new TypeError(
    `openKv(${JSON.stringify(url)}): the KV Connect client is not loaded. In browsers it is a wasm of its own ` +
      '(~180 KB gzipped) that pages opt into: add `import "webkv/kv-connect";` once, before the first openKv of a URL',
  );
}

/**
 * Opens a database. `":memory:"` is in memory; no path or a name opens a
 * named database (held in memory where IndexedDB is not available); an
 * `http(s)://` URL is a KV Connect server such as `denokv`.
 */
export async function openKv(path = undefined, options = undefined) {
  if (durableObjectSupport !== null && typeof path === "object" && path !== null) {
    return openDurableObject(path);
  }
  if (path !== undefined && typeof path !== "string") {
    throw new TypeError("path must be a string");
  }
  // Deno's checks: a typo such as ":memory" must not open a database.
  if (path === "") throw new TypeError("Filename cannot be empty");
  if (path?.startsWith(":") && path !== ":memory:") {
    throw new TypeError("Filename cannot start with ':' unless prefixed with './'");
  }
  if (typeof path === "string" && /^https?:\/\//i.test(path)) {
    const accessToken = options?.accessToken ?? environmentToken();
    if (!accessToken) {
      throw new TypeError(
        "Missing DENO_KV_ACCESS_TOKEN environment variable. Please set it to your access token from https://dash.deno.com/account.",
      );
    }
    const glue = await loadRemoteWasm();
    if (glue === null) throw noKvConnect(path);
    const db = glue.openRemote(path, accessToken);
    try {
      await db.connect();
    } catch (err) {
      db.dispose();
      throw err;
    }
    return wrapDatabase(db);
  }
  await loadWasm();
  if (path === ":memory:" || (path === undefined && !hasIndexedDb())) {
    return wrapDatabase(wasm.openMemory());
  }
  if (!hasIndexedDb()) {
    // A file in Deno's SQLite format, shared with Deno, denokv and other
    // processes; never silently a database in memory.
    if (sqliteSupport === null) throw noSqlite(path);
    const { canonical, connect } = await sqliteSupport(path);
    return wrapDatabase(wasm.openSqlite(canonical, connect));
  }
  return wrapDatabase(await wasm.openIndexedDb(path ?? DEFAULT_NAME, cacheBytes(options)));
}

/** The `cacheBytes` option of a browser database, checked. */
function cacheBytes(options) {
  const bytes = options?.cacheBytes;
  if (bytes === undefined) return undefined;
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) {
    throw new TypeError("cacheBytes must be a non-negative number");
  }
  return bytes;
}

/** `openKv(ctx.storage)`: the database in a Durable Object's SQLite storage. */
async function openDurableObject(storage) {
  const { key, connection } = durableObjectSupport(storage);
  await loadWasm();
  return wrapDatabase(wasm.openDurableObject(key, connection), () => connection.alarmSettled());
}

/** Deletes a named browser database; a no-op where databases are in memory. */
export async function deleteKv(name = undefined) {
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError("name must be a string");
  }
  await loadWasm();
  if (name === ":memory:" || !hasIndexedDb()) return;
  await wasm.deleteIndexedDb(name ?? DEFAULT_NAME);
}

/**
 * Once the wasm is loaded and the page has a moment, runs the code a first
 * open runs (src/bindings/warm_up.rs, then a round trip on a database in
 * memory): the browser compiles wasm functions on first use, which would
 * otherwise slow the page's first openKv.
 */
export function warmUpWhenIdle() {
  loadWasm()
    .then(() => new Promise((resolve) => setTimeout(resolve, 0)))
    .then(async () => {
      if (isIndexedDbBuild()) wasm.warmUp();
      const kv = wrapDatabase(wasm.openMemory());
      await kv.set(["warm"], { warm: true });
      await kv.get(["warm"]);
      for await (const _ of kv.list({ prefix: [] }));
      kv.close();
    })
    .catch(() => {});
}
