// The demo as an app that depends on webkv from npm would ship it: a bare
// `import ... from "webkv"`, bundled by esbuild (scripts/build-www.mjs) into
// dist/app.js. The bundler picks the package's "browser" export condition;
// the package loads its .wasm from beside the bundle (dist/webkv_wasm_bg.wasm),
// which the build script copies there.
import { openKv } from "webkv";
import { startDemo } from "../demo/app.js";

const kv = await openKv("demo");
startDemo(kv, document.querySelector("#app"));
