// The package's public API, re-exported by every runtime's entry file after
// it has told loader.js how to load the wasm.
export { AtomicOperation, Kv, KvListIterator } from "./kv.js";
export { deleteKv, openKv } from "./open.js";
export { KvU64 } from "./u64.js";
export { setWasmSource, wasmMemoryBytes } from "./loader.js";
