// `import "webkv/kv-connect"` in browsers (every bundler but webpack; Parcel,
// which reads no exports map, finds this file by its name): the
// KV Connect client, a wasm of its own (scripts/build.mjs, feature `remote`)
// inlined in the JS, which `openKv("http(s)://…")` compiles on first use.
// The default browser build leaves it out, so that pages that only keep
// local databases do not download it (bench/README.md). A static import
// rather than a lazy `import()`: Vite 6 and 7 build module Workers as IIFE
// bundles, which cannot hold a dynamically imported chunk.
import init, * as glue from "./webkv_remote.js";
import wasmGzipBase64 from "./webkv_remote_inline.js";
import { inlineWasm } from "./inline-wasm.js";
import { setRemoteLoader } from "./loader.js";

const load = (source) => async () => {
  await init({ module_or_path: source() });
  return glue;
};
const FALLBACK =
  'serve webkv_remote_bg.wasm and call setWasmSource(its URL) from "webkv/kv-connect" before the first openKv of a URL';
setRemoteLoader(load(() => inlineWasm(wasmGzipBase64, FALLBACK)));

/**
 * Where to load the KV Connect client's `.wasm` from instead of the copy
 * inlined here (browsers without DecompressionStream, pages that serve the
 * file themselves). Call it before the first openKv of a URL.
 */
export function setWasmSource(source) {
  setRemoteLoader(load(() => source));
}
