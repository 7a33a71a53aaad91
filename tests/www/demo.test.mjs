// The www/demo app (shared todos on webkv) in headless Chromium, as a user
// sees it: two tabs of one on-disk profile (IndexedDB persists; Playwright's
// default contexts keep it in memory), checked on screen (visible, inside the
// viewport, screenshots) and not only in the DOM. Then the same demo bundled
// by esbuild from `import { openKv } from "webkv"` (www/bundled/).
//
// Screenshots go to $DEMO_SCREENSHOTS (default: <tmpdir>/webkv-demo-screenshots).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FOREGROUND_TABS, launchPersistentChromium } from "../chromium.mjs";
import { startServer } from "../../www/serve.mjs";
import { buildWww } from "../../scripts/build-www.mjs";

const SHOTS = process.env.DEMO_SCREENSHOTS ?? join(tmpdir(), "webkv-demo-screenshots");
const VIEWPORT = { width: 1000, height: 800 };

let server;
let origin;
const profiles = [];
const contexts = new Set();
const problems = []; // page errors and console errors, from every page

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer(0);
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  server?.close();
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
});

/** A browser on a fresh on-disk profile, or on `dir` again (a restart). */
async function launch(dir = mkdtempSync(join(tmpdir(), "webkv-demo-profile-"))) {
  if (!profiles.includes(dir)) profiles.push(dir);
  const context = await launchPersistentChromium(dir, { args: FOREGROUND_TABS, viewport: VIEWPORT });
  contexts.add(context);
  context.on("close", () => contexts.delete(context));
  return { context, dir };
}

/** Opens `path` in a new tab and waits until the demo is ready. */
async function open(context, path) {
  const page = await context.newPage();
  page.requested = [];
  page.on("request", (request) => page.requested.push(new URL(request.url()).pathname));
  page.on("pageerror", (error) => problems.push(`${path}: ${error.message}`));
  page.on("console", (message) => message.type() === "error" && problems.push(`${path}: ${message.text()}`));
  await page.goto(origin + path);
  await page.locator(".status", { hasText: "Ready" }).waitFor();
  return page;
}

const item = (page, title) => page.locator("ul.todos li", { has: page.locator(".title", { hasText: new RegExp(`^${title}$`) }) });
const note = (page, text) => page.locator("ul.notifications li", { hasText: text });

async function add(page, title, expire = "") {
  await page.fill("input[name=title]", title);
  await page.selectOption("select[name=expire]", expire);
  await page.click("form.add button[type=submit]");
  await item(page, title).waitFor();
}

/** Visible, and inside the viewport: really on screen, not just in the DOM. */
async function assertOnScreen(page, locator, what) {
  assert.ok(await locator.isVisible(), `${what} is visible`);
  const box = await locator.boundingBox();
  assert.ok(box && box.width > 0 && box.height > 0, `${what} has a size`);
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= VIEWPORT.width && box.y + box.height <= VIEWPORT.height,
    `${what} is inside the viewport (${JSON.stringify(box)})`);
}

/** A viewport screenshot saved as <name>.png; it must show something. */
async function shot(page, name) {
  const png = await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  assert.ok(png.length > 10_000, `screenshot ${name} shows a rendered page (${png.length} bytes)`);
  return png;
}

function assertNoProblems() {
  assert.deepEqual(problems.splice(0), [], "no page errors or console errors");
}

describe("www/demo (imports /pkg/browser.js)", () => {
  let browser;
  let a;
  let b;

  before(async () => {
    browser = await launch();
  });

  test("adds, completes and deletes todos, on screen", async () => {
    a = await open(browser.context, "/demo/");
    assert.ok(a.requested.includes("/pkg/browser.js") && a.requested.includes("/pkg/webkv_wasm_bg.wasm"),
      `the page loads the package and its wasm from /pkg/: ${a.requested.join(" ")}`);
    const empty = await shot(a, "demo-1-empty");

    await add(a, "buy milk");
    await add(a, "write docs");
    await assertOnScreen(a, item(a, "buy milk"), "the first todo");
    await assertOnScreen(a, item(a, "write docs"), "the second todo");
    assert.deepEqual(await a.locator("ul.todos .title").allTextContents(), ["buy milk", "write docs"]);

    await item(a, "buy milk").locator("input[type=checkbox]").check();
    await a.locator("ul.todos li.done", { hasText: "buy milk" }).waitFor();
    const decoration = await item(a, "buy milk").locator(".title").evaluate((el) => getComputedStyle(el).textDecorationLine);
    assert.equal(decoration, "line-through", "a done todo is struck through on screen");
    await a.locator(".summary", { hasText: "2 todos, 1 done" }).waitFor();

    await item(a, "write docs").locator("button.delete").click();
    await item(a, "write docs").waitFor({ state: "detached" });
    await a.locator(".summary", { hasText: "1 todo, 1 done" }).waitFor();
    await assertOnScreen(a, a.locator(".summary"), "the summary");
    const filled = await shot(a, "demo-2-added-completed-deleted");
    assert.notDeepEqual(filled, empty, "the screen changed");
    assertNoProblems();
  });

  test("two tabs see each other's changes live", async () => {
    b = await open(browser.context, "/demo/");
    await b.locator("ul.todos li.done", { hasText: "buy milk" }).waitFor(); // the shared database

    let started = Date.now();
    await add(a, "call mom");
    await item(b, "call mom").waitFor({ timeout: 5000 });
    const addSeen = Date.now() - started;

    started = Date.now();
    await item(b, "buy milk").locator("input[type=checkbox]").uncheck();
    await a.locator("ul.todos li:not(.done)", { hasText: "buy milk" }).waitFor({ timeout: 5000 });
    const toggleSeen = Date.now() - started;
    console.log(`# other tab showed an add after ${addSeen} ms, a toggle after ${toggleSeen} ms`);

    await assertOnScreen(b, item(b, "call mom"), "the other tab's todo");
    await shot(a, "demo-3-tab-a");
    await shot(b, "demo-3-tab-b");
    assertNoProblems();
  });

  test("concurrent upvotes from two tabs lose no update", async () => {
    await add(a, "popular");
    await item(b, "popular").waitFor();
    const PER_TAB = 25;
    // Each tab fires all its clicks at once: 50 read-check-write loops race
    // on one entry, in two tabs.
    await Promise.all([a, b].map((page) => item(page, "popular").locator("button.vote")
      .evaluate((button, n) => { for (let i = 0; i < n; i++) button.click(); }, PER_TAB)));
    for (const page of [a, b]) {
      await item(page, "popular").locator("button.vote", { hasText: new RegExp(`^\\+1 · ${2 * PER_TAB}$`) }).waitFor({ timeout: 20_000 });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const page of [a, b]) {
      assert.equal(await item(page, "popular").locator("button.vote").textContent(), `+1 · ${2 * PER_TAB}`, "no more and no fewer");
      assert.doesNotMatch(await page.textContent(".status"), /Failed/);
    }
    // The race was real: the last writers had to retry after failed checks.
    const statuses = [await a.textContent(".status"), await b.textContent(".status")];
    console.log(`# status after the race: ${statuses.map((s) => JSON.stringify(s)).join(" / ")}`);
    assert.ok(statuses.some((s) => /after \d+ conflicts? with other writers/.test(s)), "some commits' checks failed and were retried");

    // Control: the same race with blind read-modify-writes (no check) loses
    // updates, so the test above would notice a missing or broken check.
    const blind = (page) => page.evaluate(async (n) => {
      const { openKv } = await import("/pkg/browser.js");
      const kv = await openKv("demo");
      await Promise.all(Array.from({ length: n }, async () => {
        const { value } = await kv.get(["control", "votes"]);
        await kv.set(["control", "votes"], (value ?? 0) + 1);
      }));
      const { value } = await kv.get(["control", "votes"]);
      kv.close();
      return value;
    }, PER_TAB);
    await Promise.all([blind(a), blind(b)]);
    const blindTotal = await a.evaluate(async () => {
      const kv = await (await import("/pkg/browser.js")).openKv("demo");
      const { value } = await kv.get(["control", "votes"]);
      await kv.delete(["control", "votes"]);
      kv.close();
      return value;
    });
    console.log(`# control without check: ${blindTotal} of ${2 * PER_TAB} increments kept`);
    assert.ok(blindTotal < 2 * PER_TAB, "blind writes lose updates (the race is real)");
    await assertOnScreen(b, item(b, "popular"), "the upvoted todo");
    await shot(b, "demo-4-upvotes");
    assertNoProblems();
  });

  test("data survives a reload and a browser restart", async () => {
    const titles = await a.locator("ul.todos .title").allTextContents();
    assert.deepEqual(titles, ["buy milk", "call mom", "popular"]);

    await a.reload();
    await a.locator(".status", { hasText: "Ready" }).waitFor();
    await item(a, "popular").waitFor();
    assert.deepEqual(await a.locator("ul.todos .title").allTextContents(), titles);

    await browser.context.close();
    browser = await launch(browser.dir);
    a = await open(browser.context, "/demo/");
    await item(a, "popular").waitFor();
    assert.deepEqual(await a.locator("ul.todos .title").allTextContents(), titles);
    assert.equal(await item(a, "popular").locator("button.vote").textContent(), "+1 · 50");
    await assertOnScreen(a, item(a, "call mom"), "a todo after the restart");
    await shot(a, "demo-5-after-restart");
    b = await open(browser.context, "/demo/");
    assertNoProblems();
  });

  test("a temporary todo expires in every tab", async () => {
    const started = Date.now();
    await add(a, "flash sale", "5000");
    await item(b, "flash sale").waitFor();
    await assertOnScreen(b, item(b, "flash sale").locator(".badge.expires"), "the countdown");
    await shot(b, "demo-6-expiring");
    await Promise.all([a, b].map((page) => item(page, "flash sale").waitFor({ state: "detached", timeout: 9000 })));
    const gone = Date.now() - started;
    console.log(`# the 5 s todo disappeared after ${gone} ms`);
    assert.ok(gone >= 4500, `not before its time (${gone} ms)`);
    assert.equal(await item(a, "popular").count(), 1, "the other todos stay");
    await shot(a, "demo-7-expired");
    assertNoProblems();
  });

  test("a queued reminder arrives after its delay, once, in every tab", async () => {
    const started = Date.now();
    await item(a, "buy milk").locator("button.remind").click();
    await item(b, "buy milk").locator(".badge.reminder").waitFor({ timeout: 5000 });
    await assertOnScreen(b, item(b, "buy milk").locator(".badge.reminder"), "the pending reminder in the other tab");
    await Promise.all([a, b].map((page) => note(page, "Reminder: buy milk").waitFor({ timeout: 10_000 })));
    const arrived = Date.now() - started;
    console.log(`# the 3 s reminder arrived after ${arrived} ms`);
    assert.ok(arrived >= 2900, `not before its delay (${arrived} ms)`);
    await item(a, "buy milk").locator(".badge.reminder").waitFor({ state: "detached" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const page of [a, b]) assert.equal(await note(page, "Reminder: buy milk").count(), 1, "handled once");
    await assertOnScreen(a, note(a, "Reminder: buy milk"), "the notification");
    await shot(a, "demo-8-reminder");

    await note(b, "Reminder: buy milk").locator("button.dismiss").click();
    await note(a, "Reminder: buy milk").waitFor({ state: "detached" });
    assertNoProblems();
  });

  test("a reminder queued before a reload is still delivered", async () => {
    await b.close();
    await item(a, "call mom").locator("button.remind").click();
    await item(a, "call mom").locator(".badge.reminder").waitFor();
    await a.reload(); // the only tab goes away while the message waits in IndexedDB
    await a.locator(".status", { hasText: "Ready" }).waitFor();
    await note(a, "Reminder: call mom").waitFor({ timeout: 12_000 });
    await assertOnScreen(a, note(a, "Reminder: call mom"), "the notification after the reload");
    await shot(a, "demo-9-reminder-after-reload");
    assertNoProblems();
  });
});

describe("www/bundled (esbuild bundle of import { openKv } from \"webkv\")", () => {
  let browser;

  before(async () => {
    const { inputs, warnings } = await buildWww({ quiet: true });
    assert.ok(inputs.some((p) => p.endsWith("browser-inline.js")), "bundled webkv's browser entry");
    assert.deepEqual(warnings.map((w) => w.text), [], "no esbuild warnings");
    browser = await launch();
  });

  test("works like the demo: add, complete, live in a second tab, reminder, reload", async () => {
    const page = await open(browser.context, "/bundled/");
    assert.ok(page.requested.includes("/bundled/dist/app.js"), `the bundle is loaded: ${page.requested.join(" ")}`);
    assert.deepEqual(page.requested.filter((p) => p.endsWith(".wasm")), [], "the wasm comes inside the bundle");
    assert.deepEqual(page.requested.filter((p) => p.startsWith("/pkg/") || p.startsWith("/demo/") && !p.endsWith(".css")), [],
      "nothing but the stylesheet comes from outside the bundle");

    await add(page, "bundled item");
    await item(page, "bundled item").locator("input[type=checkbox]").check();
    await page.locator("ul.todos li.done", { hasText: "bundled item" }).waitFor();
    const other = await open(browser.context, "/bundled/");
    await add(other, "from tab two");
    await item(page, "from tab two").waitFor({ timeout: 5000 });
    await item(page, "from tab two").locator("button.remind").click();
    await note(other, "Reminder: from tab two").waitFor({ timeout: 10_000 });
    await other.close();

    await page.reload();
    await page.locator(".status", { hasText: "Ready" }).waitFor();
    await page.locator("ul.todos li.done", { hasText: "bundled item" }).waitFor();
    await assertOnScreen(page, item(page, "bundled item"), "the bundled page's todo after a reload");
    await assertOnScreen(page, note(page, "Reminder: from tab two"), "the bundled page's notification");
    await shot(page, "bundled-1-after-reload");

    // The unbundled demo, a separate copy of webkv, opens the same database.
    const plain = await open(browser.context, "/demo/");
    await item(plain, "bundled item").waitFor();
    assert.deepEqual(await plain.locator("ul.todos .title").allTextContents(), ["bundled item", "from tab two"]);
    assertNoProblems();
  });
});
