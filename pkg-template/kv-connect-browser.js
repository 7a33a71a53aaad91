// `import "webkv/kv-connect"` with webpack (browser.js's twin): the KV
// Connect client's wasm, fetched from beside this file (webpack copies it)
// the first time a page opens an http(s):// URL. See kv-connect.js.
import init, * as glue from "./webkv_remote.js";
import { setRemoteLoader } from "./loader.js";

const load = (source) => async () => {
  await init({ module_or_path: source });
  return glue;
};
setRemoteLoader(load(new URL("./webkv_remote_bg.wasm", import.meta.url)));

/** Where to fetch the KV Connect client's `.wasm` from instead of beside this file. */
export function setWasmSource(source) {
  setRemoteLoader(load(source));
}
