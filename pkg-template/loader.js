// Loading the wasm and its lifecycle. Each runtime's entry file says how to
// load its build (setWasmLoader): the browser build (webkv_wasm.js, with
// IndexedDB) or the server build (webkv_server.js, with SQLite and KV
// Connect). In browsers KV Connect is a build of its own (webkv_remote.js),
// which `import "webkv/kv-connect"` registers (setRemoteLoader) and the
// first open of an http(s):// URL loads. Nothing else imports a build, so
// an entry carries only the wasm it uses.

import { checkWireShapes } from "./wire.js";

/** The loaded wasm-bindgen glue, once its load completes. */
export let wasm = null;
// Whether the loaded build has the IndexedDB backend (openIndexedDb,
// hasIndexedDb, deleteIndexedDb, warmUp), as the entry file says.
let indexedDbBuild = false;
let pendingLoader = null;
let wasmReady = null;
let remoteReady = null;
/** The glue of the KV Connect build, where it is not `wasm` (browsers). */
let remoteGlue = null;

/**
 * Called by each runtime's entry file with how to load the .wasm: `loader`
 * resolves to the initialized glue module, and `backends.indexedDb` says
 * whether that build has the IndexedDB backend. A later call (before the
 * first database opens) replaces the loader, and a load already started
 * with the old one is forgotten.
 */
export function setWasmLoader(loader, backends = {}) {
  pendingLoader = { loader, indexedDb: backends.indexedDb === true };
  wasmReady = null;
}

let remoteLoader = null;

/**
 * Called by `webkv/kv-connect` in browsers: how to load the KV Connect
 * build, for the builds that lack the client.
 */
export function setRemoteLoader(loader) {
  remoteLoader = loader;
  remoteReady = null;
}

let wasmSourceHandler = null;

/** Called by the browser entry: how `setWasmSource` takes effect there. */
export function setWasmSourceHandler(handler) {
  wasmSourceHandler = handler;
}

/**
 * Where a browser fetches the .wasm from, for bundles that move or rename
 * it (by default: the file beside the package's browser.js). Call it before
 * the first `openKv`; `source` is a URL, a Response or a WebAssembly.Module.
 */
export function setWasmSource(source) {
  if (wasmSourceHandler === null) {
    throw new TypeError("setWasmSource is for browsers: this runtime loads the wasm itself");
  }
  wasmSourceHandler(source);
}

/**
 * Starts loading the wasm now, so that the first `openKv` does not wait for
 * the download and compilation; a failure surfaces there.
 */
export function preloadWasm() {
  loadWasm().catch(() => {});
}

/** Resolves once `wasm` is loaded. */
export function loadWasm() {
  if (wasmReady === null) {
    const load = pendingLoader;
    const ready = Promise.resolve()
      .then(() => load.loader())
      .then((glue) => {
        checkWireShapes(glue.wireShapes());
        // An entry's loaders (setWasmSource's too) all load the same glue.
        wasm = glue;
        indexedDbBuild = load.indexedDb;
      });
    wasmReady = ready;
    // A failed load (a .wasm the network dropped, a file a bundler moved)
    // is tried again by the next open, not kept as every open's answer.
    ready.catch(() => {
      if (wasmReady === ready) wasmReady = null;
    });
  }
  return wasmReady;
}

/**
 * Resolves to the glue of a build with the KV Connect client: the loaded
 * build itself, or (browsers, with `webkv/kv-connect` imported) the KV
 * Connect build, loaded on first use; `null` where there is none. A failed
 * load (a .wasm the network dropped) is tried again by the next open.
 */
export async function loadRemoteWasm() {
  await loadWasm();
  if (typeof wasm.openRemote === "function") return wasm;
  const remote = remoteLoader;
  if (remote === null) return null;
  if (remoteReady === null) {
    const ready = Promise.resolve()
      .then(() => remote())
      .then((glue) => {
        checkWireShapes(glue.wireShapes());
        remoteGlue = glue;
        return glue;
      });
    remoteReady = ready;
    ready.catch(() => {
      // Unless a new loader has replaced this load meanwhile.
      if (remoteReady === ready) remoteReady = null;
    });
  }
  return remoteReady;
}

/** Whether the loaded build has the IndexedDB backend. */
export function isIndexedDbBuild() {
  return indexedDbBuild;
}

/** Bytes of WebAssembly memory in use, of every build loaded (0 before the first `openKv`). */
export function wasmMemoryBytes() {
  return (wasm?.wasmMemoryBytes() ?? 0) + (remoteGlue?.wasmMemoryBytes() ?? 0);
}
