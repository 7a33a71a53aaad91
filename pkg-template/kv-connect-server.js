// `import "webkv/kv-connect"` in Node, Bun, Deno and workerd: their build
// has the KV Connect client already, so code that imports it for browsers
// runs unchanged here.

export function setWasmSource() {
  throw new TypeError("setWasmSource is for browsers: this runtime loads the wasm itself");
}
