// The playground page in headless Chromium: it loads the package, adds and
// completes todos through the public API, and shows them on screen.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../chromium.mjs";
import { startServer } from "../../www/serve.mjs";

let server;
let browser;

before(async () => {
  server = await startServer(0);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("adds, completes and counts todos", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  await page.goto(`http://127.0.0.1:${server.address().port}/playground/`);
  await page.locator("#status", { hasText: "Ready" }).waitFor();

  for (const title of ["write the core", "ship the package"]) {
    await page.fill("#title", title);
    await page.click("button[type=submit]");
    await page.locator("#todos li", { hasText: title }).waitFor();
  }
  assert.deepEqual(await page.locator("#todos li span.title").allTextContents(), ["write the core", "ship the package"]);
  assert.match(await page.textContent("#status"), /^Added at versionstamp [0-9a-f]{20}$/);

  await page.locator("#todos li", { hasText: "write the core" }).locator("input").check();
  await page.locator("#todos li.done", { hasText: "write the core" }).waitFor();
  await page.locator("#done-count", { hasText: "1" }).waitFor();
  assert.match(await page.textContent("#status"), /^Saved at versionstamp [0-9a-f]{20}$/);

  const shot = await page.screenshot({ fullPage: true, path: process.env.WWW_SCREENSHOT });
  assert.ok(shot.length > 5000, "the page renders something");
  assert.ok(await page.locator("text=ship the package").isVisible(), "todos are visible on screen");
  assert.deepEqual(errors, []);
});
