// Module Web Worker: runs the same scenario. Import maps do not apply inside
// workers, so this imports the path the page's import map gives for `webkv`
// (the package's "browser" export; chromium.test.mjs asserts they agree).
import * as webkv from "/pkg/browser.js";
import { runScenario } from "/smoke/scenario.js";

runScenario(webkv, "chromium module worker").then(
  (results) => postMessage(results),
  (error) => postMessage({ error: String(error?.stack ?? error) }),
);
