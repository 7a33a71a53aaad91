// `webkv/webkv_remote_bg.wasm` is the raw WebAssembly file of the KV Connect
// client for browsers, for the rare setup that serves it itself and passes
// its URL to `setWasmSource` from `webkv/kv-connect` (browsers without
// DecompressionStream, which cannot inflate the copy inlined in the JS).
// What importing it gives depends on the tool, so it is typed as unknown:
// narrow it where you use it.
declare const wasm: unknown;
export default wasm;
