// webkv's V8 codec in headless Chromium (Debian's /usr/bin/chromium): every
// sample round-trips there too, including what Node lacks (Float16Array).
// Files are served to the page by Playwright's request routing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { launchChromium } from "../chromium.mjs";

const ORIGIN = "http://webkv.test";
const FILES = {
  "/v8.js": new URL("../../pkg/v8.js", import.meta.url),
  "/samples.js": new URL("./samples.js", import.meta.url),
};

let browser;
let page;

before(async () => {
  browser = await launchChromium();
  page = await browser.newPage();
  await page.route(`${ORIGIN}/**`, async (route) => {
    const file = FILES[new URL(route.request().url()).pathname];
    if (!file) return route.fulfill({ status: 404, body: "not found" });
    await route.fulfill({ contentType: "text/javascript", body: await readFile(file) });
  });
  await page.route(`${ORIGIN}/`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>codec</title>" }));
  await page.goto(`${ORIGIN}/`);
});

after(async () => {
  await browser?.close();
});

test("every sample round-trips in Chromium", async () => {
  const result = await page.evaluate(async () => {
    const { serialize, deserialize } = await import("/v8.js");
    const { samples, deepEqual, unclonables } = await import("/samples.js");
    const failures = [];
    const names = [];
    for (const [name, value, expected = value] of samples()) {
      names.push(name);
      try {
        if (!deepEqual(expected, deserialize(serialize(value)))) failures.push(`${name}: differs`);
      } catch (err) {
        failures.push(`${name}: ${err.name}: ${err.message}`);
      }
    }
    for (const [name, value, errorClass, message] of unclonables()) {
      try {
        serialize(value);
        failures.push(`${name}: no error`);
      } catch (err) {
        if (err.constructor !== errorClass || err.message !== message) failures.push(`${name}: ${err.name}: ${err.message}`);
      }
    }
    return { failures, names };
  });
  assert.deepEqual(result.failures, []);
  assert.ok(result.names.includes("float16"), "Chromium has Float16Array, so the sample must run");
});
