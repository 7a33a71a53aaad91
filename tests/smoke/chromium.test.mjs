// Chromium (Debian's /usr/bin/chromium via playwright-core): a page imports
// `webkv` through an import map and runs the scenario, then runs it again in
// a module Web Worker. pkg/ and the page come from a static server on
// 127.0.0.1 started here.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../chromium.mjs";
import { startStaticServer } from "../static-server.mjs";
import { assertChecks } from "./checks.mjs";

const smokeDir = fileURLToPath(new URL("./", import.meta.url));
const pkgDir = fileURLToPath(new URL("../../pkg/", import.meta.url));

// URL prefix -> directory; "/" serves the test page.
const ROUTES = [["/pkg/", pkgDir], ["/smoke/", smokeDir], ["/", join(smokeDir, "chromium")]];
let web;
let served; // [status, path, content-type]
let base;
let browser;

before(async () => {
  web = await startStaticServer({ routes: ROUTES });
  served = web.requests;
  base = web.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await web?.close();
});

// browser.js fetches the .wasm beside it: the entry for import maps (and
// webpack). Other bundlers get browser-inline.js, tested in tests/packaging/.
test("chromium: the import map names the package's file-fetching browser entry", () => {
  const pkgJson = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  assert.equal(pkgJson.exports["."].browser.webpack, "./browser.js");
  const html = readFileSync(join(smokeDir, "chromium/index.html"), "utf8");
  assert.match(html, /"webkv":\s*"\/pkg\/browser\.js"/);
});

test("chromium: page and module worker", async (t) => {
  const page = await browser.newPage();
  const console = [];
  page.on("console", (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.push(`pageerror: ${e.stack ?? e}`));
  page.on("requestfailed", (r) => console.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("worker", (w) => w.on("console", (m) => console.push(`worker ${m.type()}: ${m.text()}`)));
  try {
    await page.goto(`${base}/`);
    try {
      await page.waitForFunction(() => window.__smoke?.done === true, null, { timeout: 120_000 });
    } catch (error) {
      assert.fail(`the page did not finish: ${error.message}\nconsole:\n${console.join("\n")}`);
    }
    const state = await page.evaluate(() => window.__smoke);
    assert.deepEqual(state.errors, [], `page errors:\n${state.errors.join("\n")}\nconsole:\n${console.join("\n")}`);

    await t.test("page (import map, <script type=module>)", async (t) => {
      await assertChecks(t, state.page, "chromium page");
    });
    await t.test("module Web Worker", async (t) => {
      assert.equal(state.worker?.error, undefined, `worker: ${state.worker?.error}\nconsole:\n${console.join("\n")}`);
      await assertChecks(t, state.worker, "chromium worker");
    });
    await t.test("no console errors or warnings", () => {
      const bad = console.filter((l) => /^(worker )?(error|warning|pageerror|requestfailed)/.test(l));
      assert.deepEqual(bad, []);
    });
    await t.test("the .wasm was served as application/wasm, nothing missing", () => {
      const wasm = served.filter(([, path]) => path.endsWith(".wasm"));
      assert.ok(wasm.length >= 1, `no .wasm requested: ${JSON.stringify(served)}`);
      for (const [status, , type] of wasm) assert.deepEqual([status, type], [200, "application/wasm"]);
      assert.deepEqual(served.filter(([status, path]) => status !== 200), []);
    });
  } finally {
    await page.close();
  }
});
