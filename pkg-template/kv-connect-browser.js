// `import "webkv/kv-connect"` with webpack (browser.js's twin): the KV
// Connect client's wasm, fetched from beside this file (webpack copies it)
// the first time a page opens an http(s):// URL. See kv-connect.js.
import init, * as glue from "./webkv_remote.js";
import { setRemoteLoader } from "./loader.js";

setRemoteLoader(async () => {
  await init({ module_or_path: new URL("./webkv_remote_bg.wasm", import.meta.url) });
  return glue;
});
