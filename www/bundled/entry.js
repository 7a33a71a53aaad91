// The demo as an app that depends on webkv from npm would ship it: a bare
// `import ... from "webkv"`, bundled by esbuild (scripts/build-www.mjs) into
// dist/app.js. The bundler picks the package's "browser" export condition,
// whose entry carries the wasm inside the JS: the bundle is all there is.
import { openKv } from "webkv";
import { startDemo } from "../demo/app.js";

const kv = await openKv("demo");
startDemo(kv, document.querySelector("#app"));
