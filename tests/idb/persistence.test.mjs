// Test 1: data written with openKv(name) survives a reload of the page, a new
// page in the same browser, and (since a commit resolves only after its
// IndexedDB transaction completed) a SIGKILL of the browser and a relaunch on
// the same profile; values of every kind and their versionstamps come back
// identical.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { closeAll, IDB_PREFIX, IMPL, launch, makeProfile, pageUrl, startServer, waitReady } from "./harness.mjs";

after(closeAll);

const NAME = "persist";

// Runs in the page: writes the values, returns what a read in the same page gives.
async function writeAll(name) {
  const { openKv, KvU64 } = window.lib;
  const { describe, readEntries } = window.helpers;
  const values = {
    object: { a: 1, nested: { b: [1, "two", null] }, s: "text" },
    map: new Map([["k", 1], [2, { v: true }]]),
    set: new Set([1, "x"]),
    date: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
    bytes: new Uint8Array([0, 1, 2, 254, 255]),
    bigint: 12345678901234567890n,
    u64: new KvU64(5n),
    string: "héllo \u{1F600}",
    number: -0.5,
    boolean: false,
    array: [1, [2, [3]], { x: 1 }],
    null: null,
  };
  const kv = await openKv(name);
  const keys = [];
  const versionstamps = [];
  for (const [k, v] of Object.entries(values)) {
    const r = await kv.set(["t", k], v);
    if (!r.ok) throw new Error(`set ${k}: ${JSON.stringify(r)}`);
    keys.push(["t", k]);
    versionstamps.push(r.versionstamp);
  }
  // One atomic commit with several sets: one versionstamp for all of them.
  const r = await kv.atomic()
    .set(["multi", 1], new KvU64(18446744073709551615n))
    .set(["multi", 2], new Map([[1n, new Date(0)]]))
    .set(["multi", 3], "three")
    .commit();
  if (!r.ok) throw new Error(`atomic: ${JSON.stringify(r)}`);
  keys.push(["multi", 1], ["multi", 2], ["multi", 3]);
  versionstamps.push(r.versionstamp, r.versionstamp, r.versionstamp);
  return {
    keys,
    versionstamps,
    expected: [...Object.values(values).map(describe), describe(new KvU64(18446744073709551615n)), describe(new Map([[1n, new Date(0)]])), describe("three")],
    readBack: await readEntries(kv, keys),
    // kv stays open: the page is reloaded or closed under it
  };
}

// Runs in the page: reads the keys back (and checks an unrelated name is empty).
async function readAll({ name, keys }) {
  const kv = await window.lib.openKv(name);
  const entries = await window.helpers.readEntries(kv, keys);
  const other = await window.lib.openKv(`${name}-other`);
  const otherEntry = await other.get(keys[0]);
  other.close();
  kv.close();
  return { entries, otherVersionstamp: otherEntry.versionstamp };
}

test(`persistence (${IMPL}): values and versionstamps survive reload, a new page, and SIGKILL + relaunch`, { timeout: 90_000 }, async (t) => {
  const server = await startServer();
  const profile = makeProfile("persist");
  let session = await launch(profile);
  const url = pageUrl(server.origin);
  const page = await session.openPage(url);
  const written = await page.evaluate(writeAll, NAME);

  // The harness's describe() must tell the kinds apart, or the comparisons below prove nothing.
  const kinds = written.expected.map((d) => d.t);
  assert.deepEqual(kinds, ["Object", "Map", "Set", "Date", "Uint8Array", "bigint", "KvU64", "string", "number", "boolean", "Array", "null", "KvU64", "Map", "string"]);
  assert.deepEqual(written.expected[6], { t: "KvU64", v: "5" });

  const expectedEntries = written.keys.map((key, i) => ({ key, value: written.expected[i], versionstamp: written.versionstamps[i] }));
  for (const vs of written.versionstamps) assert.match(vs, /^[0-9a-f]{20}$/);
  for (let i = 1; i < 12; i++) assert.ok(written.versionstamps[i] > written.versionstamps[i - 1], "each set got a later versionstamp");
  assert.deepEqual(written.readBack, expectedEntries, "read back in the same page");

  await t.test("after a reload", async () => {
    await page.reload();
    await waitReady(page);
    const got = await page.evaluate(readAll, { name: NAME, keys: written.keys });
    assert.deepEqual(got.entries, expectedEntries);
    assert.equal(got.otherVersionstamp, null, "another name is another database");
  });

  await t.test("in a new page after the old one closed", async () => {
    await page.close();
    const page2 = await session.openPage(url);
    const got = await page2.evaluate(readAll, { name: NAME, keys: written.keys });
    assert.deepEqual(got.entries, expectedEntries);
  });

  await t.test(`stored in the IndexedDB database "${IDB_PREFIX}${NAME}"`, async () => {
    const page3 = await session.openPage(url);
    const names = await page3.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    assert.ok(names.includes(`${IDB_PREFIX}${NAME}`), `IndexedDB databases: ${JSON.stringify(names)}`);
  });

  await t.test("after SIGKILL of the browser and a relaunch on the same profile", async () => {
    await session.kill();
    session = await launch(profile);
    const page4 = await session.openPage(url);
    const got = await page4.evaluate(readAll, { name: NAME, keys: written.keys });
    assert.deepEqual(got.entries, expectedEntries);
  });

  await session.kill();
  await server.close();
});
