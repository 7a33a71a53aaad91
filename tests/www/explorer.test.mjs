// The KV explorer (www/explorer/) driven in headless Chromium: it lands on
// the default database (offering sample data while it is empty), opens
// databases, browses them by prefix a page at a time, creates, edits and
// deletes entries under versionstamp checks (and shows conflicts with another
// tab instead of overwriting), watches keys live, exports and imports NDJSON,
// keeps named databases across reloads, and stays fast on 100,000 entries.
// Every test looks at the screen, not only at the DOM: elements must be
// visible, inside the viewport and not covered, and screenshots are taken
// (into tests/www/.tmp/explorer/, or $EXPLORER_SCREENSHOTS).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FOREGROUND_TABS, launchChromium } from "../chromium.mjs";
import { startServer } from "../../www/serve.mjs";
import { startKvProxy } from "../../scripts/kv-proxy.mjs";
import { denokvBinary, startDenokv } from "../kvconnect/denokv.mjs";

const SHOTS = process.env.EXPLORER_SCREENSHOTS ?? fileURLToPath(new URL("./.tmp/explorer/", import.meta.url));
mkdirSync(SHOTS, { recursive: true });

let server;
let browser;
let base;

before(async () => {
  server = await startServer(0);
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium({ args: FOREGROUND_TABS });
});

after(async () => {
  await browser?.close();
  server?.close();
});

// ---------------------------------------------------------------- helpers

/** A fresh browser profile (its own IndexedDB); its pages are tabs of one origin. */
function newContext() {
  return browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
}

/** Opens the explorer in a new tab; `hash` picks the database (e.g. "db=name"). Fails the test on page errors. */
async function openExplorer(context, hash = "") {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  page.errors = errors;
  await page.goto(`${base}/explorer/${hash ? `#${hash}` : ""}`);
  await page.locator("body[data-ready=true]").waitFor();
  return page;
}

/** Seeds a named database from inside a page of the context, with the package itself. */
async function seed(page, name, fn, arg) {
  await page.evaluate(async ({ name, source, arg }) => {
    const webkv = await import("/pkg/browser.js");
    const kv = await webkv.openKv(name);
    try {
      await new Function("kv", "webkv", "arg", `return (${source})(kv, webkv, arg);`)(kv, webkv, arg);
    } finally {
      kv.close();
    }
  }, { name, source: fn.toString(), arg });
}

/** Reads one key of a named database from a page, described independently of the explorer's own code. */
function read(page, name, key) {
  return page.evaluate(async ({ name, key }) => {
    const webkv = await import("/pkg/browser.js");
    const kv = await webkv.openKv(name);
    try {
      const entry = await kv.get(key);
      const v = entry.value;
      let value = v;
      if (v instanceof webkv.KvU64) value = `KvU64 ${v.value}`;
      else if (typeof v === "bigint") value = `bigint ${v}`;
      else if (v instanceof Date) value = `Date ${v.toISOString()}`;
      else if (v instanceof Uint8Array) value = `bytes ${[...v].join(",")}`;
      else if (v instanceof Map) value = `Map ${JSON.stringify([...v])}`;
      else if (v instanceof Set) value = `Set ${JSON.stringify([...v])}`;
      return { value, versionstamp: entry.versionstamp };
    } finally {
      kv.close();
    }
  }, { name, key });
}

/**
 * Asserts the element is on screen: visible, inside the viewport and not
 * covered by anything else (for example a modal's backdrop).
 */
async function assertOnScreen(locator, what) {
  // The explorer re-renders its lists when a read or a watch answers, which
  // can replace the element between two of these steps: the locator then
  // finds the new one on the next attempt.
  for (let attempt = 1; ; attempt++) {
    try {
      return await assertOnScreenOnce(locator, what);
    } catch (error) {
      if (attempt === 3 || !/not attached to the DOM/.test(error.message)) throw error;
    }
  }
}

async function assertOnScreenOnce(locator, what) {
  await locator.waitFor({ state: "visible" });
  assert.ok(await locator.isVisible(), `${what} is visible`);
  await locator.scrollIntoViewIfNeeded();
  const onTop = await locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) return "outside the viewport";
    const x = Math.min(Math.max(r.left + Math.min(r.width / 2, 20), 0), innerWidth - 1);
    const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    return hit === el || el.contains(hit) || hit?.contains(el) ? "ok" : `covered by <${hit?.tagName.toLowerCase()} ${hit?.className ?? ""}>`;
  });
  assert.equal(onTop, "ok", `${what} is on screen and not covered`);
}

/** The text of the status line, once it matches `pattern`. */
async function waitStatus(page, pattern, timeout = 15_000) {
  await page.waitForFunction((source) => new RegExp(source).test(document.querySelector("#status").textContent), pattern.source, { timeout });
  const text = await page.textContent("#status");
  await assertOnScreen(page.locator("#status"), `the status "${text}"`);
  return text;
}

/** Takes a screenshot into SHOTS and checks it shows something. */
async function shot(page, name, options = {}) {
  const path = join(SHOTS, `${name}.png`);
  const png = await page.screenshot({ path, ...options });
  assert.ok(png.length > 15_000, `screenshot ${name} renders something (${png.length} bytes)`);
  return path;
}

function row(page, keyText) {
  return page.locator("#rows tr", { has: page.locator(".c-key", { hasText: keyText }) });
}

function rowKeys(page) {
  return page.locator("#rows tr .c-key").allTextContents();
}

async function openEditorFor(page, keyText) {
  await row(page, keyText).locator("button.edit").click();
  await assertOnScreen(page.locator("#editor"), "the editor");
}

async function setForm(page, { key, type, text }) {
  if (key !== undefined) await page.fill("#ed-key", key);
  if (type !== undefined) await page.selectOption("#ed-type", type);
  if (text !== undefined) await page.fill("#ed-value", text);
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function noErrors(...pages) {
  for (const page of pages) assert.deepEqual(page.errors, [], "no errors in the page");
}

// ------------------------------------------------------------------- tests

test("first run: the explorer lands on the default database; empty, it offers sample data that one click loads", async () => {
  const context = await newContext();
  // As from `npm run demo`: the landing page, then its link to the explorer.
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && page.errors.push(msg.text()));
  await page.goto(`${base}/`);
  await page.click("a[href='/explorer/']");
  await page.locator("body[data-ready=true]").waitFor();

  // Straight onto the default database, not a "choose a database" screen.
  await waitStatus(page, /^Opened the “default” \(IndexedDB\)\.$/);
  assert.match(page.url(), /\/explorer\/#db=default$/);
  await assertOnScreen(page.locator("#db-label", { hasText: "“default” (IndexedDB)" }), "the open database's name");
  assert.equal(await page.inputValue("#db-name"), "default");
  await assertOnScreen(page.locator("#new-entry"), "the New entry button");

  // It is empty: the offer, on screen, instead of a bare "No entries" line.
  await assertOnScreen(page.locator("#sample-offer h2", { hasText: "This database is empty" }), "the offer");
  await assertOnScreen(page.locator("#load-sample", { hasText: "Load sample data" }), "the Load sample data button");
  assert.ok(await page.locator("#empty").isHidden(), "no second empty message");
  assert.equal(await page.locator("#rows tr").count(), 0);
  await shot(page, "first-run-empty");
  await page.setViewportSize({ width: 400, height: 800 });
  await assertOnScreen(page.locator("#load-sample"), "the Load sample data button on a narrow screen");
  await shot(page, "first-run-narrow");
  await page.setViewportSize({ width: 1280, height: 900 });

  // One click, and the entries show.
  await page.click("#load-sample");
  await waitStatus(page, /^Loaded 16 sample entries into the “default” \(IndexedDB\)\. Open a prefix such as "users", or edit an entry\.$/);
  await page.locator("#rows tr").nth(15).waitFor();
  assert.equal(await page.locator("#rows tr").count(), 16);
  assert.ok(await page.locator("#sample-offer").isHidden(), "the offer is gone");
  assert.deepEqual(await page.locator("#children .chip").allTextContents(), [
    '"counters" ›', '"files" ›', '"leaderboard" ›', '"posts" ›', '"sessions" ›', '"settings"', '"stats" ›', '"users" ›', '"users_by_email" ›',
  ]);
  await assertOnScreen(row(page, '["counters", "visits"]').locator(".c-value", { hasText: "KvU64(1024)" }), "a sample counter");
  await assertOnScreen(row(page, '["users", "ada"]').locator(".c-value", { hasText: 'name: "Ada Lovelace"' }), "a sample user");
  assert.equal(await row(page, '["settings"]').locator(".c-type").textContent(), "Map");
  assert.equal(await row(page, '["files", "logo.png"]').locator(".c-type").textContent(), "Uint8Array");
  await shot(page, "first-run-sample", { fullPage: true });

  // They are in IndexedDB: another connection reads them, a reload shows them.
  assert.deepEqual(await read(page, "default", ["counters", "visits"]), { value: "KvU64 1024", versionstamp: await row(page, '["counters", "visits"]').locator(".c-stamp").textContent() });
  await page.reload();
  await page.locator("body[data-ready=true]").waitFor();
  await page.locator("#rows tr").nth(15).waitFor();
  assert.ok(await page.locator("#sample-offer").isHidden(), "a database with entries offers nothing");

  // Offered, but another tab wrote meanwhile: nothing is loaded, nothing overwritten.
  await page.goto(`${base}/explorer/#db=first-run-race`);
  await assertOnScreen(page.locator("#load-sample"), "the offer in another empty database");
  await seed(page, "first-run-race", async (kv) => {
    await kv.set(["notes", "mine"], "written by another tab");
  });
  await page.click("#load-sample");
  await waitStatus(page, /^The sample data was not loaded: the database is not empty any more \(another tab wrote to it\)\.$/);
  assert.equal((await read(page, "first-run-race", ["notes", "mine"])).value, "written by another tab");
  assert.equal((await read(page, "first-run-race", ["users", "ada"])).versionstamp, null);
  assert.equal((await read(page, "first-run-race", ["counters", "visits"])).versionstamp, null);
  await page.locator("#rows tr").first().waitFor();
  assert.equal(await page.locator("#rows tr").count(), 1);
  assert.ok(await page.locator("#sample-offer").isHidden());
  noErrors(page);
  await context.close();
});

test("shows every value type with its versionstamp, and data survives a reload", async () => {
  const context = await newContext();
  const page = await openExplorer(context);
  await seed(page, "types", async (kv, { KvU64 }) => {
    await kv.set(["t", "string"], "hello world");
    await kv.set(["t", "number"], -12.5);
    await kv.set(["t", "bigint"], 12345678901234567890n);
    await kv.set(["t", "boolean"], true);
    await kv.set(["t", "null"], null);
    await kv.set(["t", "object"], { name: "Ada", tags: ["a", "b"] });
    await kv.set(["t", "array"], [1, "two", 3n]);
    await kv.set(["t", "map"], new Map([["a", 1], ["b", 2]]));
    await kv.set(["t", "set"], new Set(["x", "y"]));
    await kv.set(["t", "date"], new Date("2024-05-01T12:00:00Z"));
    await kv.set(["t", "bytes"], new Uint8Array([0, 15, 255]));
    await kv.set(["t", "u64"], new KvU64(42n));
  });

  // Open it through the form, as a user would.
  await page.fill("#db-name", "types");
  await page.click("#open-button");
  await waitStatus(page, /Opened the “types”/);
  await page.locator("#children button", { hasText: '"t"' }).click();
  await page.locator("#rows tr").nth(11).waitFor();
  const expected = [
    ['"array"', "array", '[1, "two", 3n]'],
    ['"bigint"', "bigint", "12345678901234567890n"],
    ['"boolean"', "boolean", "true"],
    ['"bytes"', "Uint8Array", "Uint8Array(3) [00 0f ff]"],
    ['"date"', "Date", "Date(2024-05-01T12:00:00.000Z)"],
    ['"map"', "Map", 'Map(2) { "a" => 1, "b" => 2 }'],
    ['"null"', "null", "null"],
    ['"number"', "number", "-12.5"],
    ['"object"', "object", '{ name: "Ada", tags: ["a", "b"] }'],
    ['"set"', "Set", 'Set(2) { "x", "y" }'],
    ['"string"', "string", '"hello world"'],
    ['"u64"', "KvU64", "KvU64(42)"],
  ];
  for (const [key, type, value] of expected) {
    const r = row(page, key);
    assert.equal(await r.locator(".c-type").textContent(), type, `type of ${key}`);
    assert.equal(await r.locator(".c-value").textContent(), value, `value of ${key}`);
    assert.match(await r.locator(".c-stamp").textContent(), /^[0-9a-f]{20}$/, `versionstamp of ${key}`);
  }
  await assertOnScreen(row(page, '"u64"').locator(".c-value"), "the last row's value");
  await assertOnScreen(page.locator("text=Uint8Array(3) [00 0f ff]"), "the bytes as hex");
  await shot(page, "types", { fullPage: true });

  // A reload reopens the database from the URL, at the same prefix, with the same data.
  assert.match(page.url(), /#db=types&prefix=/);
  await page.reload();
  await page.locator("body[data-ready=true]").waitFor();
  await page.locator("#rows tr").nth(11).waitFor();
  assert.equal(await page.locator("#rows tr").count(), 12);
  await assertOnScreen(page.locator("#rows tr .c-value", { hasText: '"hello world"' }), "a value after the reload");
  assert.equal(await page.locator("#crumbs .current").textContent(), '"t"');

  // On a phone-sized screen each entry becomes a card, still readable.
  await page.setViewportSize({ width: 400, height: 800 });
  await assertOnScreen(row(page, '"bytes"').locator(".c-value", { hasText: "Uint8Array(3) [00 0f ff]" }), "a value on a narrow screen");
  await assertOnScreen(row(page, '"bytes"').locator(".c-stamp"), "a versionstamp on a narrow screen");
  await shot(page, "narrow");
  await page.setViewportSize({ width: 1280, height: 900 });

  // Deleting the database asks for a second click; opened again, it is empty.
  await page.click("#delete-db");
  await assertOnScreen(page.locator("#delete-db", { hasText: "Really delete it?" }), "the delete confirmation");
  await page.click("#delete-db");
  await waitStatus(page, /^Deleted the database “types” and all its entries\.$/);
  assert.ok(await page.locator("#main").isHidden());
  await page.click("#open-button");
  await waitStatus(page, /^Opened the “types”/);
  await assertOnScreen(page.locator("text=The database is empty."), "the empty database");
  noErrors(page);
  await context.close();
});

test("creates entries through the typed form, rejects bad input, never overwrites an existing key", async () => {
  const context = await newContext();
  const page = await openExplorer(context, "db=create");
  await waitStatus(page, /Opened/);
  await assertOnScreen(page.locator("text=The database is empty."), "the empty database message");

  const cases = [
    ['"c", "str"', "string", "some text", "some text"],
    ['"c", "num"', "number", "3.25", 3.25],
    ['"c", "big"', "bigint", "123n", "bigint 123"],
    ['"c", "bool"', "boolean", "false", false],
    ['"c", "nil"', "null", "", null],
    ['"c", "obj"', "json", '{"a": [1, 2], "b": {"c": true}}', { a: [1, 2], b: { c: true } }],
    ['"c", "map"', "Map", '[["k", 1]]', 'Map [["k",1]]'],
    ['"c", "set"', "Set", "[1, 2]", "Set [1,2]"],
    ['"c", "date"', "Date", "2024-01-02T03:04:05Z", "Date 2024-01-02T03:04:05.000Z"],
    ['"c", "bytes"', "Uint8Array", "01 02 ff", "bytes 1,2,255"],
    ['"c", "u64"', "KvU64", "18446744073709551615", "KvU64 18446744073709551615"],
    ['"c", 7n, true, x"beef"', "typed", '{"when": {"$date": "2020-01-01T00:00:00.000Z"}}', { when: "2020-01-01T00:00:00.000Z" }],
  ];
  for (const [key, type, text] of cases) {
    await page.click("#new-entry");
    await assertOnScreen(page.locator("#editor"), "the editor");
    assert.equal(await page.inputValue("#ed-key"), "", "a new entry at the root starts with an empty key");
    await setForm(page, { key, type, text: type === "null" ? undefined : text });
    await page.click("#ed-save");
    await waitStatus(page, new RegExp(`^Saved ${escapeRegExp(`[${key}]`)} at`));
    assert.ok(!(await page.locator("#editor").isVisible()), "the editor closed");
  }
  for (const [key, , , want] of cases.slice(0, -1)) {
    const got = await read(page, "create", JSON.parse(`[${key}]`));
    assert.deepEqual(got.value, want, `stored value of [${key}]`);
  }
  const typed = await page.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("create");
    const entry = await kv.get(["c", 7n, true, new Uint8Array([0xbe, 0xef])]);
    kv.close();
    return entry.value.when instanceof Date ? entry.value.when.toISOString() : "not a Date";
  });
  assert.equal(typed, "2020-01-01T00:00:00.000Z", "typed JSON keeps a nested Date");

  await page.locator("#children button", { hasText: '"c"' }).click();
  await page.locator("#rows tr").nth(cases.length - 1).waitFor();
  assert.equal(await page.locator("#rows tr").count(), cases.length);
  await assertOnScreen(row(page, '"u64"').locator(".c-value", { hasText: "KvU64(18446744073709551615)" }), "the new KvU64");

  // Bad input: an error in the editor, nothing written.
  await page.click("#new-entry");
  assert.equal(await page.inputValue("#ed-key"), '"c", ', "a new entry starts under the current prefix");
  await setForm(page, { key: '"c", "bad"', type: "number", text: "twelve" });
  await page.click("#ed-save");
  await assertOnScreen(page.locator("#ed-error", { hasText: 'number: "twelve" is not a number' }), "the input error");
  await setForm(page, { key: '"c", unquoted', type: "string", text: "x" });
  await page.click("#ed-save");
  await assertOnScreen(page.locator("#ed-error", { hasText: "key: expected a key part" }), "the key error");
  await shot(page, "create-error");
  await page.click("#ed-cancel");
  assert.equal((await read(page, "create", ["c", "bad"])).versionstamp, null);

  // Creating a key that exists (another tab made it meanwhile) is refused and shown.
  const before = await read(page, "create", ["c", "str"]);
  await page.click("#new-entry");
  await setForm(page, { key: '"c", "str"', type: "string", text: "would overwrite" });
  await page.click("#ed-save");
  await assertOnScreen(page.locator("#conflict-title", { hasText: "Not saved: an entry with this key exists already" }), "the create conflict");
  assert.equal(await page.locator("#conflict-current").textContent(), 'string\n"some text"');
  assert.deepEqual(await read(page, "create", ["c", "str"]), before, "the existing entry is untouched");
  await page.click("#ed-cancel");
  noErrors(page);
  await context.close();
});

test("edits an entry and deletes one, each under a versionstamp check", async () => {
  const context = await newContext();
  const page = await openExplorer(context);
  await seed(page, "edit", async (kv) => {
    await kv.set(["e", "a"], { n: 1 });
    await kv.set(["e", "b"], "bye");
  });
  await page.goto(`${base}/explorer/#db=edit`);
  await row(page, '"a"').waitFor();
  const stamp = await row(page, '"a"').locator(".c-stamp").textContent();

  await openEditorFor(page, '"a"');
  assert.equal(await page.inputValue("#ed-type"), "json");
  assert.equal(await page.inputValue("#ed-value"), '{"n": 1}');
  assert.ok(await page.locator("#ed-key").evaluate((input) => input.readOnly), "the key of an existing entry is read-only");
  await assertOnScreen(page.locator("#ed-stamp", { hasText: `loaded at versionstamp ${stamp}` }), "the loaded versionstamp");
  await page.fill("#ed-value", '{"n": 2, "note": "edited"}');
  await page.click("#ed-save");
  const saved = await waitStatus(page, /^Saved \["e", "a"\] at versionstamp [0-9a-f]{20}\.$/);
  const newStamp = saved.match(/([0-9a-f]{20})/)[1];
  assert.notEqual(newStamp, stamp);
  await assertOnScreen(row(page, '"a"').locator(".c-value", { hasText: '{ n: 2, note: "edited" }' }), "the edited value");
  assert.equal(await row(page, '"a"').locator(".c-stamp").textContent(), newStamp);
  assert.deepEqual((await read(page, "edit", ["e", "a"])).value, { n: 2, note: "edited" });

  // Delete asks for a second click, then removes the entry.
  const del = row(page, '"b"').locator("button.delete");
  await del.click();
  await assertOnScreen(row(page, '"b"').locator("button.delete", { hasText: "Confirm" }), "the delete confirmation");
  assert.notEqual((await read(page, "edit", ["e", "b"])).versionstamp, null, "one click deletes nothing");
  await shot(page, "delete-confirm");
  await row(page, '"b"').locator("button.delete").click();
  await waitStatus(page, /^Deleted \["e", "b"\]\.$/);
  await row(page, '"b"').waitFor({ state: "detached" });
  assert.equal((await read(page, "edit", ["e", "b"])).versionstamp, null);
  assert.deepEqual(await rowKeys(page), ['["e", "a"]']);
  noErrors(page);
  await context.close();
});

test("a save or delete after another tab changed the entry shows the conflict and does not overwrite", async () => {
  const context = await newContext();
  const pageA = await openExplorer(context);
  await seed(pageA, "shared", async (kv) => {
    await kv.set(["doc"], { title: "original" });
    await kv.set(["other"], "keep me");
  });
  await pageA.goto(`${base}/explorer/#db=shared`);
  await row(pageA, '"doc"').waitFor();
  const pageB = await openExplorer(context, "db=shared");
  await row(pageB, '"doc"').waitFor();

  // A loads the entry into its editor; then B edits and saves it. (A tab is
  // brought to the front before it is used, as a user would.)
  await pageA.bringToFront();
  await openEditorFor(pageA, '"doc"');
  await pageA.fill("#ed-value", '{"title": "from A"}');
  await pageB.bringToFront();
  await openEditorFor(pageB, '"doc"');
  await pageB.fill("#ed-value", '{"title": "from B"}');
  await pageB.click("#ed-save");
  await waitStatus(pageB, /^Saved \["doc"\]/);
  const afterB = await read(pageB, "shared", ["doc"]);
  assert.deepEqual(afterB.value, { title: "from B" });

  // A's save fails the check: the conflict shows both values; B's value stays.
  await pageA.bringToFront();
  await pageA.click("#ed-save");
  await assertOnScreen(pageA.locator("#conflict-title", { hasText: "Not saved: the entry changed since you loaded it" }), "the conflict");
  await assertOnScreen(pageA.locator("#conflict-current", { hasText: '"from B"' }), "the current value");
  await assertOnScreen(pageA.locator("#conflict-mine", { hasText: '"from A"' }), "A's value");
  assert.match(await pageA.textContent("#conflict-detail"), new RegExp(`the database now has ${afterB.versionstamp}\\. Nothing was written\\.`));
  assert.match(await pageA.textContent("#status"), /Conflict on \["doc"\]/);
  await shot(pageA, "conflict");
  assert.deepEqual(await read(pageA, "shared", ["doc"]), afterB, "B's commit is not overwritten");

  // Loading the current version lets A edit on top of B's change, deliberately.
  await pageA.click("#conflict-load");
  assert.equal(await pageA.inputValue("#ed-value"), '{"title": "from B"}');
  await pageA.fill("#ed-value", '{"title": "from B, then A"}');
  await pageA.click("#ed-save");
  await waitStatus(pageA, /^Saved \["doc"\]/);
  assert.deepEqual((await read(pageA, "shared", ["doc"])).value, { title: "from B, then A" });

  // A stale delete: B changes ["other"] after A listed it; A's delete is refused.
  await pageB.bringToFront();
  await pageB.click("#refresh");
  await openEditorFor(pageB, '"other"');
  await pageB.fill("#ed-value", "changed by B");
  await pageB.click("#ed-save");
  await waitStatus(pageB, /^Saved \["other"\]/);
  await pageA.bringToFront();
  await row(pageA, '"other"').locator("button.delete").click();
  await row(pageA, '"other"').locator("button.delete", { hasText: "Confirm" }).click();
  await assertOnScreen(pageA.locator("#conflict-title", { hasText: "Not deleted: the entry changed since you loaded it" }), "the delete conflict");
  await assertOnScreen(pageA.locator("#conflict-current", { hasText: '"changed by B"' }), "the current value");
  assert.equal((await read(pageA, "shared", ["other"])).value, "changed by B", "the entry was not deleted");
  await shot(pageA, "delete-conflict");
  noErrors(pageA, pageB);
  await context.close();
});

test("pages through 250 entries with cursors, forward, back and reversed", async () => {
  const context = await newContext();
  const page = await openExplorer(context);
  await seed(page, "paging", async (kv) => {
    const op = kv.atomic();
    for (let i = 0; i < 250; i++) op.set(["p", i], `value ${i}`);
    await op.commit();
  });
  await page.goto(`${base}/explorer/#db=paging&prefix=${encodeURIComponent('["p"]')}`);
  const firstKey = () => page.locator("#rows tr .c-key").first().textContent();
  const lastKey = () => page.locator("#rows tr .c-key").last().textContent();
  const waitPage = async (info) => {
    await page.locator("#page-info", { hasText: info }).waitFor();
    await assertOnScreen(page.locator("#page-info"), `"${info}"`);
  };
  await waitPage("Page 1 · entries 1–50");
  assert.equal(await page.locator("#rows tr").count(), 50);
  assert.equal(await firstKey(), '["p", 0]');
  assert.ok(await page.locator("#prev").isDisabled());

  for (let p = 2; p <= 5; p++) {
    await page.click("#next");
    await waitPage(`Page ${p} · entries ${(p - 1) * 50 + 1}–${p * 50}`);
    assert.equal(await firstKey(), `["p", ${(p - 1) * 50}]`);
  }
  assert.equal(await lastKey(), '["p", 249]');
  assert.ok(await page.locator("#next").isDisabled(), "no page after the last");
  await assertOnScreen(page.locator("#rows tr .c-value", { hasText: '"value 249"' }), "the last entry");
  await shot(page, "paging-last");

  await page.click("#prev");
  await waitPage("Page 4 · entries 151–200");
  assert.equal(await firstKey(), '["p", 150]');
  for (let p = 3; p >= 1; p--) {
    await page.click("#prev");
    await waitPage(`Page ${p} · entries ${(p - 1) * 50 + 1}–`);
  }
  assert.equal(await firstKey(), '["p", 0]');

  await page.check("#reverse");
  await waitPage("Page 1 · entries 1–50 · last key first");
  assert.equal(await firstKey(), '["p", 249]');
  await page.click("#next");
  await waitPage("Page 2 · entries 51–100 · last key first");
  assert.equal(await firstKey(), '["p", 199]');
  await shot(page, "paging-reverse");
  await page.click("#prev");
  await waitPage("Page 1 · entries 1–50 · last key first");
  assert.equal(await firstKey(), '["p", 249]');
  await page.uncheck("#reverse");
  await page.selectOption("#page-size", "100");
  await waitPage("Page 1 · entries 1–100");
  await page.click("#next");
  await waitPage("Page 2 · entries 101–200");
  await page.click("#next");
  await waitPage("Page 3 · entries 201–250");
  noErrors(page);
  await context.close();
});

test("browses keys as a tree: next key parts, key parts, breadcrumb and Back", async () => {
  const context = await newContext();
  const page = await openExplorer(context);
  await seed(page, "tree", async (kv) => {
    await kv.set(["users", "ada", "profile"], { name: "Ada" });
    await kv.set(["users", "ada", "posts", 1], "first post");
    await kv.set(["users", "bob"], { name: "Bob" });
    await kv.set(["users"], "users is a key too");
    await kv.set(["config", true], "a key under a true part");
    await kv.set(["config", true, true], "deeper");
    await kv.set(["config", "z"], "last");
    const op = kv.atomic();
    for (let i = 0; i < 45; i++) op.set(["wide", i], i);
    await op.commit();
  });
  await page.goto(`${base}/explorer/#db=tree`);
  // Waits for the list that starts with `first`: right after a navigation
  // the previous list (or the empty default database's "none") is still
  // shown until the new one is read.
  const chips = async (first) => {
    await page.locator("#children > :first-child", { hasText: first }).waitFor();
    return page.locator("#children .chip").allTextContents();
  };
  assert.deepEqual(await chips('"config"'), ['"config" ›', '"users" ›', '"wide" ›']);
  await assertOnScreen(page.locator("#children .chip", { hasText: '"users"' }), "the users prefix");

  await page.locator("#children .chip", { hasText: '"users"' }).click();
  await page.locator("#crumbs .current", { hasText: '"users"' }).waitFor();
  assert.deepEqual(await chips('"ada"'), ['"ada" ›', '"bob"']);
  await assertOnScreen(page.locator("#self-row .self-label", { hasText: "the prefix itself is a key" }), "the prefix's own entry");
  assert.deepEqual(await rowKeys(page), ['["users", "ada", "posts", 1]', '["users", "ada", "profile"]', '["users", "bob"]']);
  await shot(page, "tree-users");

  // A key part in a row opens that prefix.
  await row(page, '"posts"').locator("button.part", { hasText: '"ada"' }).click();
  await page.locator("#crumbs .current", { hasText: '"ada"' }).waitFor();
  assert.deepEqual(await chips('"posts"'), ['"posts" ›', '"profile"']);
  assert.deepEqual(await rowKeys(page), ['["users", "ada", "posts", 1]', '["users", "ada", "profile"]']);
  assert.equal(await page.locator("#crumbs").textContent(), 'All keys›"users"›"ada"');

  // The breadcrumb goes up; the browser's Back button too.
  await page.locator("#crumbs button", { hasText: '"users"' }).click();
  await page.locator("#crumbs .current", { hasText: '"users"' }).waitFor();
  await page.goBack();
  await page.locator("#crumbs .current", { hasText: '"ada"' }).waitFor();
  await page.locator("#crumbs button", { hasText: "All keys" }).click();
  await page.locator("#crumbs .current", { hasText: "All keys" }).waitFor();

  // Parts equal to true (the greatest part) are skipped over correctly.
  await page.locator("#children .chip", { hasText: '"config"' }).click();
  await page.locator("#crumbs .current", { hasText: '"config"' }).waitFor();
  assert.deepEqual(await chips('"z"'), ['"z"', "true ›"]);

  // Many children: the first 40, then more on demand.
  await page.locator("#crumbs button", { hasText: "All keys" }).click();
  await page.locator("#children .chip", { hasText: '"wide"' }).click();
  await page.locator("#crumbs .current", { hasText: '"wide"' }).waitFor();
  assert.equal((await chips("0")).length, 40);
  await assertOnScreen(page.locator("#more-children"), "More…");
  await page.click("#more-children");
  await page.locator("#children .chip").nth(44).waitFor();
  assert.equal(await page.locator("#children .chip").count(), 45);
  assert.ok(!(await page.locator("#more-children").isVisible()));
  noErrors(page);
  await context.close();
});

test("a watched entry updates live when another tab changes or deletes it", async () => {
  const context = await newContext();
  const pageA = await openExplorer(context);
  await seed(pageA, "watch", async (kv) => {
    await kv.set(["w", "score"], 1);
    await kv.set(["w", "quiet"], "unchanged");
  });
  await pageA.goto(`${base}/explorer/#db=watch&prefix=${encodeURIComponent('["w"]')}`);
  await row(pageA, '"score"').waitFor();
  await row(pageA, '"score"').locator("button.watch").click();
  await assertOnScreen(row(pageA, '"score"').locator("button.watch[aria-pressed=true]", { hasText: "Watching" }), "the watch toggle");
  await assertOnScreen(pageA.locator("#watched-panel"), "the watched keys panel");

  // A has the entry open in its editor while another tab changes it through
  // its own explorer (A stays in the background).
  await openEditorFor(pageA, '"score"');
  const pageB = await openExplorer(context, `db=watch&prefix=${encodeURIComponent('["w"]')}`);
  await openEditorFor(pageB, '"score"');
  await pageB.fill("#ed-value", "2");
  await pageB.click("#ed-save");
  const saved = await waitStatus(pageB, /^Saved \["w", "score"\]/);
  const stamp = saved.match(/([0-9a-f]{20})/)[1];
  await row(pageA, '"score"').locator(".c-stamp", { hasText: stamp }).waitFor({ timeout: 5000 });
  await pageA.bringToFront();
  await assertOnScreen(pageA.locator("#ed-stale", { hasText: `This entry changed since you opened it (now versionstamp ${stamp})` }), "the editor's warning");
  await shot(pageA, "watch-editor-warning");
  await pageA.click("#ed-cancel");
  await assertOnScreen(row(pageA, '"score"').locator(".c-value", { hasText: /^2$/ }), "the new value in A's row");
  await assertOnScreen(pageA.locator("#watched li .stamp", { hasText: stamp }), "the new versionstamp in the watched panel");
  await shot(pageA, "watch-updated");

  // And from plain Deno KV code in B (a tab's app, with its database open), then a delete.
  const raw = (code) => pageB.evaluate(async (code) => {
    const { openKv } = await import("/pkg/browser.js");
    globalThis.app ??= await openKv("watch");
    await new Function("kv", `return ${code}`)(globalThis.app);
  }, code);
  await raw(`kv.set(["w", "score"], 3)`);
  await row(pageA, '"score"').locator(".c-value", { hasText: /^3$/ }).waitFor({ timeout: 5000 });
  await raw(`kv.delete(["w", "score"])`);
  await assertOnScreen(row(pageA, '"score"').locator(".c-value", { hasText: "(deleted)" }), "the deletion");
  assert.equal(await row(pageA, '"quiet"').locator(".c-value").textContent(), '"unchanged"');

  // Unwatching stops the updates.
  await row(pageA, '"score"').locator("button.watch").click();
  assert.ok(!(await pageA.locator("#watched-panel").isVisible()));
  await raw(`kv.set(["w", "score"], 4)`);
  await pageA.waitForTimeout(300);
  assert.equal(await row(pageA, '"score"').locator(".c-value").textContent(), "(deleted)");

  // More keys than one kv.watch call takes (10): all of them follow.
  await raw(`(async () => { for (let i = 0; i < 12; i++) await kv.set(["many", i], "v0"); })()`);
  await pageA.goto(`${base}/explorer/#db=watch&prefix=${encodeURIComponent('["many"]')}`);
  await pageA.locator("#rows tr").nth(11).waitFor();
  for (let i = 0; i < 12; i++) {
    await pageA.locator("#rows tr").nth(i).locator("button.watch").click();
    await pageA.locator("#rows tr").nth(i).locator("button.watch[aria-pressed=true]").waitFor();
  }
  assert.equal(await pageA.locator("#watched li").count(), 12);
  await raw(`Promise.all([kv.set(["many", 0], "v1"), kv.set(["many", 11], "v1")])`);
  await row(pageA, '["many", 0]').locator(".c-value", { hasText: '"v1"' }).waitFor({ timeout: 5000 });
  await row(pageA, '["many", 11]').locator(".c-value", { hasText: '"v1"' }).waitFor({ timeout: 5000 });
  await assertOnScreen(pageA.locator("#watched li", { hasText: '["many", 11]' }).locator(".value", { hasText: '"v1"' }), "the 11th watched key's update");
  await shot(pageA, "watch-many", { fullPage: true });
  noErrors(pageA, pageB);
  await context.close();
});

/** Every entry of a named database, each value described by an independent checker. */
function dump(page, open) {
  return page.evaluate(async (open) => {
    const webkv = await import("/pkg/browser.js");
    const kv = await webkv.openKv(open);
    const describe = (v) => {
      if (v === undefined) return ["undefined"];
      if (typeof v === "number") return ["number", Object.is(v, -0) ? "-0" : String(v)];
      if (typeof v === "bigint") return ["bigint", String(v)];
      if (v === null || typeof v !== "object") return [typeof v, v];
      if (v instanceof webkv.KvU64) return ["KvU64", String(v.value)];
      if (v instanceof Date) return ["Date", String(v.getTime())];
      if (v instanceof RegExp) return ["RegExp", String(v)];
      if (v instanceof Error) return ["Error", v.name, v.message];
      if (v instanceof Map) return ["Map", [...v].map(([a, b]) => [describe(a), describe(b)])];
      if (v instanceof Set) return ["Set", [...v].map((a) => describe(a))];
      if (v instanceof ArrayBuffer) return ["ArrayBuffer", [...new Uint8Array(v)]];
      if (ArrayBuffer.isView(v)) return [v.constructor.name, [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)]];
      if (Array.isArray(v)) return ["Array", v.length, Object.keys(v).map((k) => [k, describe(v[k])])];
      return ["Object", Object.keys(v).map((k) => [k, describe(v[k])])];
    };
    const out = [];
    for await (const entry of kv.list({ prefix: [] })) {
      out.push([describe(entry.key), describe(entry.value)]);
    }
    kv.close();
    return out;
  }, open);
}

test("exports to NDJSON and imports it back into a fresh database with every type intact", async () => {
  const context = await newContext();
  const page = await openExplorer(context);
  await seed(page, "source", async (kv, { KvU64 }) => {
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    await kv.set(["v", "string"], "line\nbreak \"quoted\" ünïcødé");
    await kv.set(["v", "numbers"], [0, -0, NaN, Infinity, -Infinity, 1.5e300]);
    await kv.set(["v", "bigint"], -98765432109876543210n);
    await kv.set(["v", "booleans"], [true, false]);
    await kv.set(["v", "null"], null);
    await kv.set(["v", "undefined"], undefined);
    await kv.set(["v", "object"], { a: { b: [1, { c: "d" }] }, $dollar: "escaped", empty: {} });
    await kv.set(["v", "map"], new Map([[1, new Set(["nested"])], ["k", new Date(5)]]));
    await kv.set(["v", "set"], new Set([1, "two", 3n]));
    await kv.set(["v", "date"], new Date("1999-12-31T23:59:59.999Z"));
    await kv.set(["v", "bytes"], new Uint8Array([0, 1, 254, 255]));
    await kv.set(["v", "u64"], new KvU64(18446744073709551615n));
    await kv.set(["v", "others"], [/a+b/gi, new RangeError("boom"), new Int16Array([-1, 2]), new Uint8Array([9]).buffer, sparse]);
    await kv.set([new Uint8Array([1, 2]), -0, NaN, 5n, false, ""], "key parts of every type");
    await kv.set(["tail"], "outside the prefix");
  });
  await page.goto(`${base}/explorer/#db=source`);
  await page.locator("#rows tr").first().waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  const status = await waitStatus(page, /^Exported 15 entries in the database to source\.ndjson/);
  assert.match(status, /\(\d+(\.\d)? (B|KiB), \d+\.\d s\)\.$/);
  assert.equal(download.suggestedFilename(), "source.ndjson");
  const file = join(SHOTS, "source.ndjson");
  await download.saveAs(file);
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 15);
  for (const line of lines) {
    const record = JSON.parse(line);
    assert.deepEqual(Object.keys(record), ["key", "value", "versionstamp"]);
    assert.match(record.versionstamp, /^[0-9a-f]{20}$/);
  }
  assert.ok(lines.some((line) => line.includes('"value":{"$u64":"18446744073709551615"}')));

  // Into a fresh named database through the file picker.
  await page.goto(`${base}/explorer/#db=copy`);
  await page.locator("text=The database is empty.").waitFor();
  await page.setInputFiles("#import-file", file);
  await waitStatus(page, /^Imported 15 entries from source\.ndjson/);
  await page.locator("#rows tr").nth(14).waitFor();
  await assertOnScreen(page.locator("#rows tr .c-value", { hasText: "key parts of every type" }), "an imported entry");
  await shot(page, "imported", { fullPage: true });
  const [source, copy] = [await dump(page, "source"), await dump(page, "copy")];
  assert.equal(copy.length, 15);
  assert.deepEqual(copy, source, "every key and value round-trips");

  // A prefix exports only what is under it.
  await page.goto(`${base}/explorer/#db=source&prefix=${encodeURIComponent('["v"]')}`);
  await page.locator("#rows tr").first().waitFor();
  const [partial] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  await waitStatus(page, /^Exported 13 entries under \["v"\] to source-v\.ndjson/);
  assert.equal(partial.suggestedFilename(), "source-v.ndjson");

  // A malformed file names the line and keeps nothing of a failed batch.
  const bad = join(SHOTS, "bad.ndjson");
  writeFileSync(bad, `${lines[0]}\n{"key": ["x"], "value": {"$bigint": "nope"}}\n`);
  await page.setInputFiles("#import-file", bad);
  await waitStatus(page, /^Import failed: line 2: value: \$bigint must be a string of digits\. Nothing was imported\.$/);
  noErrors(page);
  await context.close();
});

test("a database of 100,000 entries opens, pages and exports fast, reading only what it shows", async () => {
  const context = await newContext();
  const page = await openExplorer(context);
  await seed(page, "big", async (kv) => {
    for (let b = 0; b < 100; b++) {
      const op = kv.atomic();
      for (let i = 0; i < 1000; i++) {
        const n = b * 1000 + i;
        op.set(["items", n], { n, name: `item ${n}`, tags: ["a", "b"], at: new Date(n) });
      }
      await op.commit();
    }
  });

  // A fresh tab opens the database: the first page must be on screen within 2 s.
  const tab = await context.newPage();
  tab.errors = [];
  tab.on("pageerror", (err) => tab.errors.push(err.message));
  const started = Date.now();
  await tab.goto(`${base}/explorer/#db=big`);
  await tab.locator("#rows tr").nth(49).waitFor().catch(async (err) => {
    const status = await tab.textContent("#status").catch(() => "?");
    throw new Error(`${err.message}\nstatus: ${status}\npage errors: ${tab.errors.join("; ")}`);
  });
  const openMs = Date.now() - started;
  await assertOnScreen(tab.locator("#rows tr .c-value", { hasText: '"item 0"' }).first(), "the first entry");
  assert.ok(openMs < 2000, `first page rendered in ${openMs} ms (bound 2000 ms)`);
  console.log(`# 100,000 entries: first page on screen ${openMs} ms after navigation`);
  await tab.locator("#children .chip", { hasText: '"items"' }).waitFor();

  await tab.locator("#children .chip", { hasText: '"items"' }).click();
  await tab.locator("#crumbs .current", { hasText: '"items"' }).waitFor();
  for (let p = 2; p <= 6; p++) {
    const t = Date.now();
    await tab.click("#next");
    await tab.locator("#page-info", { hasText: `Page ${p} ·` }).waitFor();
    const ms = Date.now() - t;
    assert.ok(ms < 1000, `page ${p} in ${ms} ms (bound 1000 ms)`);
    console.log(`# 100,000 entries: page ${p} in ${ms} ms`);
  }
  assert.equal(await tab.locator("#rows tr .c-key").first().textContent(), '["items", 250]');
  const t = Date.now();
  await tab.check("#reverse");
  await tab.locator("#rows tr .c-key", { hasText: '["items", 99999]' }).waitFor();
  assert.ok(Date.now() - t < 1000, "the reversed first page in under 1 s");
  await shot(tab, "big-reverse");
  const stats = await tab.evaluate(() => globalThis.explorer.stats);
  assert.ok(stats.entriesRead < 2000, `read ${stats.entriesRead} entries in all, not the whole database`);

  // Export streams 100,000 entries with progress shown on screen.
  await tab.uncheck("#reverse");
  await tab.locator("#crumbs button", { hasText: "All keys" }).click();
  await tab.locator("#crumbs .current", { hasText: "All keys" }).waitFor();
  // (The CPU is slowed down 4x, like a slow phone, while the test looks at the progress.)
  const cdp = await context.newCDPSession(tab);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  let downloads = 0;
  tab.on("download", () => downloads++);
  await tab.click("#export");
  await tab.locator("#transfer-label", { hasText: /Exporting: [\d,]+ entries/ }).waitFor();
  await tab.click("#transfer-cancel");
  await waitStatus(tab, /^Export cancelled\.$/);
  assert.ok(await tab.locator("#transfer").isHidden());
  assert.equal(downloads, 0, "a cancelled export downloads nothing");
  const downloadPromise = tab.waitForEvent("download", { timeout: 60_000 });
  await tab.click("#export");
  await assertOnScreen(tab.locator("#transfer-progress"), "the export progress bar");
  await tab.locator("#transfer-label", { hasText: /Exporting: [\d,]+ entries/ }).waitFor();
  await shot(tab, "big-export-progress");
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
  const download = await downloadPromise;
  console.log(`# ${await waitStatus(tab, /^Exported 100,000 entries/, 60_000)}`);
  const file = join(SHOTS, "big.ndjson");
  await download.saveAs(file);
  const size = statSync(file).size;
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 100_000);
  const last = JSON.parse(lines.at(-1));
  assert.deepEqual([last.key, last.value], [["items", 99999], { n: 99999, name: "item 99999", tags: ["a", "b"], at: { $date: "1970-01-01T00:01:39.999Z" } }]);

  // Import into an in-memory database with a determinate progress bar (the
  // CPU slowed down 4x, like a slow phone, so there is time to look at it).
  await tab.goto(`${base}/explorer/#memory`);
  await tab.locator("text=The database is empty.").waitFor();
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await tab.setInputFiles("#import-file", file);
  await assertOnScreen(tab.locator("#transfer-progress"), "the import progress bar");
  await tab.locator("#transfer-label", { hasText: /Importing big\.ndjson: [\d,]+ entries, \d+%/ }).waitFor();
  const progress = await tab.locator("#transfer-progress").evaluate((bar) => ({ max: bar.max, value: bar.value }));
  assert.equal(progress.max, size);
  await shot(tab, "big-import-progress");
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
  const imported = await waitStatus(tab, /^Imported 100,000 entries from big\.ndjson/, 60_000);
  console.log(`# ${imported}`);
  await tab.locator("#children .chip", { hasText: '"items"' }).click();
  await tab.check("#reverse");
  await tab.locator("#rows tr .c-key", { hasText: '["items", 99999]' }).waitFor();
  await assertOnScreen(tab.locator("#rows tr .c-value", { hasText: '"item 99999"' }), "the last imported entry");
  assert.deepEqual(tab.errors, []);
  noErrors(page);
  await context.close();
});

function haveDenokv() {
  try {
    return Boolean(denokvBinary());
  } catch {
    return false;
  }
}

test("opens a denokv server through the CORS proxy; the token stays out of the URL, storage and console", { skip: !haveDenokv() && "denokv is not installed (bash scripts/setup.sh)" }, async () => {
  const denokv = await startDenokv();
  const proxy = await startKvProxy({ target: denokv.url, token: denokv.token, port: 0, allowOrigins: [base] });
  const context = await newContext();
  try {
    const page = await openExplorer(context);
    const consoleText = [];
    page.on("console", (msg) => consoleText.push(msg.text()));
    const placeholder = "placeholder-token-typed-by-the-user";

    // Straight to denokv, a browser is stopped by CORS: the page says what to do.
    await page.check("input[name=kind][value=remote]");
    await page.fill("#remote-url", denokv.url);
    await page.fill("#remote-token", denokv.token);
    await page.click("#open-button");
    const refused = await waitStatus(page, /CORS proxy/, 30_000);
    assert.match(refused, /^Could not reach http:\/\/127\.0\.0\.1:\d+: .*npm run kv-proxy/);
    await shot(page, "remote-cors-error");
    page.errors.length = 0; // the browser logs the refused CORS requests

    // Through the proxy, with a placeholder token.
    await page.fill("#remote-url", proxy.url);
    await page.fill("#remote-token", placeholder);
    await page.click("#open-button");
    await waitStatus(page, /^Opened the http:\/\/127\.0\.0\.1:\d+ \(KV Connect\)\.$/, 30_000);
    assert.equal(await page.inputValue("#remote-token"), "", "the token field is cleared once connected");
    await page.click("#new-entry");
    await setForm(page, { key: '"remote", "greeting"', type: "json", text: '{"hello": "denokv"}' });
    await page.click("#ed-save");
    await waitStatus(page, /^Saved \["remote", "greeting"\]/);
    await page.locator("#children .chip", { hasText: '"remote"' }).click();
    await assertOnScreen(row(page, '"greeting"').locator(".c-value", { hasText: '{ hello: "denokv" }' }), "the entry stored in denokv");

    // Watch sees a write made by another client of the server.
    await row(page, '"greeting"').locator("button.watch").click();
    await page.evaluate(async ({ url }) => {
      const { openKv } = await import("/pkg/browser.js");
      const kv = await openKv(url, { accessToken: "another-placeholder" });
      await kv.set(["remote", "greeting"], { hello: "again" });
      kv.close();
    }, { url: proxy.url });
    await assertOnScreen(row(page, '"greeting"').locator(".c-value", { hasText: '{ hello: "again" }' }), "the watched update from denokv");
    await shot(page, "remote");

    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, url: location.href }));
    for (const secret of [placeholder, denokv.token]) {
      assert.ok(!stored.includes(secret), "no token in the URL or web storage");
      assert.ok(!consoleText.some((text) => text.includes(secret)), "no token in the console");
    }
    assert.match(page.url(), /#url=http%3A%2F%2F127\.0\.0\.1%3A\d+&prefix=/);

    // After a reload the URL is remembered, the token is asked for again.
    await page.reload();
    await page.locator("body[data-ready=true]").waitFor();
    await waitStatus(page, /^Type the access token for http:\/\/127\.0\.0\.1:\d+ and press Open/);
    assert.equal(await page.inputValue("#remote-url"), proxy.url);
    assert.ok(await page.locator("#main").isHidden());
    noErrors(page);
  } finally {
    await context.close();
    await proxy.stop();
    await denokv.stop();
  }
});
