// The package's public API, re-exported by every runtime's entry file after
// it has told kv.js how to load the wasm.
export {
  AtomicOperation,
  deleteKv,
  Kv,
  KvListIterator,
  KvU64,
  openKv,
  setWasmSource,
  wasmMemoryBytes,
} from "./kv.js";
