// Module Web Worker: runs the same scenario. Import maps do not apply inside
// workers, so this imports the path the page's import map gives for `webkv`
// (browser.js, the package's file-fetching browser entry; chromium.test.mjs
// asserts it is one).
import * as webkv from "/pkg/browser.js";
import { runScenario } from "/smoke/scenario.js";

runScenario(webkv, "chromium module worker").then(
  (results) => postMessage(results),
  (error) => postMessage({ error: String(error?.stack ?? error) }),
);
