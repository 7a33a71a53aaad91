/**
 * `import "webkv/kv-connect";` lets `openKv("http(s)://…")` reach a KV
 * Connect server (such as `denokv`, through a proxy) from a browser. The
 * client is a wasm of its own (~180 KB gzipped), left out of the default
 * browser build; without this import, opening a URL in a browser throws a
 * TypeError saying so. In Node, Bun, Deno and workerd it does nothing: their
 * build has the client already.
 */
export {};
