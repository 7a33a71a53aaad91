// Loading the wasm and its lifecycle. Each runtime's entry file says how to
// load its build (setWasmLoader): the browser build (webkv_wasm.js, with
// IndexedDB) or the server build (webkv_server.js, with SQLite). Nothing
// else imports a build, so an entry carries only the wasm it uses.

import { checkWireShapes } from "./wire.js";

/** The loaded wasm-bindgen glue, once its load completes. */
export let wasm = null;
// Whether the loaded build has the IndexedDB backend (openIndexedDb,
// hasIndexedDb, deleteIndexedDb, warmUp), as the entry file says.
let indexedDbBuild = false;
let pendingLoader = null;
let wasmReady = null;

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
    wasmReady = Promise.resolve()
      .then(() => load.loader())
      .then((glue) => {
        checkWireShapes(glue.wireShapes());
        // An entry's loaders (setWasmSource's too) all load the same glue.
        wasm = glue;
        indexedDbBuild = load.indexedDb;
      });
  }
  return wasmReady;
}

/** Whether the loaded build has the IndexedDB backend. */
export function isIndexedDbBuild() {
  return indexedDbBuild;
}

/** Bytes of WebAssembly memory in use (0 before the first `openKv`). */
export function wasmMemoryBytes() {
  return wasm === null ? 0 : wasm.wasmMemoryBytes();
}
