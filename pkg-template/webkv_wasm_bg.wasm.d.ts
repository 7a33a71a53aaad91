// `webkv/webkv_wasm_bg.wasm` is the raw WebAssembly file, for the rare setup
// that serves it itself and passes its URL to `setWasmSource`. What importing
// it gives depends on the tool (a URL string with Vite's `?url`, a
// `WebAssembly.Module` in workerd or with Deno's `import source`), so it is
// typed as unknown: narrow it where you use it.
declare const wasm: unknown;
export default wasm;
