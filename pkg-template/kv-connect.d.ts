/**
 * `import "webkv/kv-connect";` lets `openKv("http(s)://…")` reach a KV
 * Connect server (such as `denokv`, through a proxy) from a browser. The
 * client is a wasm of its own (~180 KB gzipped), left out of the default
 * browser build; without this import, opening a URL in a browser throws a
 * TypeError saying so. In Node, Bun, Deno and workerd it does nothing: their
 * build has the client already.
 */

/**
 * In a browser, where to load the KV Connect client's `.wasm` from instead
 * of the default (the copy inlined in the package's JS, or with webpack the
 * `webkv_remote_bg.wasm` file beside `kv-connect-browser.js`): for browsers
 * without `DecompressionStream`, which cannot inflate the inlined copy, and
 * pages that serve the file themselves. Call it before the first
 * `openKv` of a URL. Other runtimes load the wasm themselves and throw a
 * `TypeError`.
 */
export function setWasmSource(source: string | URL | Response | WebAssembly.Module): void;
