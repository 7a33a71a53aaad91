// Pages fetched on touch (docs/storage.md), in Chromium's real IndexedDB:
// a page that holds a database reads only what it touches, with a cache of
// nothing at all, while another page keeps rewriting the same pages under
// new ids (checkpoints), so the reader's index goes stale under it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage as openPage, useBrowser } from "./browser.mjs";

const session = useBrowser();

async function newPage(context) {
  const page = await openPage(session, context);
  await page.evaluate(async () => {
    window.lib = await import("/pkg/browser.js");
    // What the store holds, read with raw IndexedDB.
    window.stored = (name) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open(`webkv:${name}`);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(["meta", "pages"], "readonly");
          const out = {};
          tx.objectStore("meta").get("snapshot").onsuccess = (e) => (out.snapshot = e.target.result);
          tx.objectStore("pages").getAllKeys().onsuccess = (e) => (out.pages = e.target.result);
          tx.oncomplete = () => {
            db.close();
            resolve(out);
          };
        };
      });
  });
  return page;
}

const N = 6000;

/** Sets every key `["k", i]` to `{ round, i, pad }` (~1 KB), 200 to a commit. */
async function writeRound(page, name, round) {
  await page.evaluate(async ({ name, round, n }) => {
    const kv = (window.kvs ??= {})[name] ?? (window.kvs[name] = await window.lib.openKv(name));
    const pad = "p".repeat(1000);
    for (let from = 0; from < n; from += 200) {
      const op = kv.atomic();
      for (let i = from; i < Math.min(n, from + 200); i++) op.set(["k", i], { round, i, pad });
      const result = await op.commit();
      if (!result.ok) throw new Error("commit failed");
    }
  }, { name, round, n: N });
}

test("a reader with a cache of nothing reads every entry right while another page checkpoints new pages under it", async () => {
  const context = await session.browser.newContext();
  const writer = await newPage(context);
  const name = "paged";
  await writeRound(writer, name, 1);
  const first = await writer.evaluate((name) => window.stored(name), name);
  assert.ok(first.snapshot > 0 && first.pages.length >= 8, `checkpointed into pages: ${JSON.stringify(first)}`);

  const reader = await newPage(context);
  await reader.evaluate(async (name) => {
    window.kv = await window.lib.openKv(name, { cacheBytes: 0 });
  }, name);
  const readAll = () =>
    reader.evaluate(async () => {
      const rounds = new Map();
      let count = 0;
      let inOrder = true;
      let last = -1;
      for await (const entry of window.kv.list({ prefix: ["k"] }, { batchSize: 300 })) {
        count++;
        const i = entry.key[1];
        inOrder &&= i > last && entry.value.i === i;
        last = i;
        rounds.set(entry.value.round, (rounds.get(entry.value.round) ?? 0) + 1);
      }
      const some = await window.kv.getMany([["k", 0], ["k", 2999], ["k", 5999]]);
      return { count, inOrder, rounds: Object.fromEntries(rounds), some: some.map((e) => e.value.round) };
    });
  assert.deepEqual(await readAll(), { count: N, inOrder: true, rounds: { 1: N }, some: [1, 1, 1] });

  // Every page replaced by new ids, twice, while the reader holds the old index.
  for (const round of [2, 3]) {
    await writeRound(writer, name, round);
    const now = await writer.evaluate((name) => window.stored(name), name);
    assert.ok(!now.pages.some((id) => first.pages.includes(id)), "the first pages are gone");
    assert.deepEqual(await readAll(), { count: N, inOrder: true, rounds: { [round]: N }, some: [round, round, round] });
  }

  // The reader writes too: a guarded change to a key whose page it does not
  // hold, then a sum, each reading the stored entry first.
  const written = await reader.evaluate(async () => {
    const kv = window.kv;
    const current = await kv.get(["k", 4321]);
    const guarded = await kv.atomic().check(current).set(["k", 4321], { ...current.value, round: 9 }).commit();
    const stale = await kv.atomic().check(current).set(["k", 4321], { round: -1 }).commit();
    await kv.set(["n"], new window.lib.KvU64(5n));
    await kv.atomic().sum(["n"], 7n).commit();
    return { guarded: guarded.ok, stale: stale.ok, n: String((await kv.get(["n"])).value.value) };
  });
  assert.deepEqual(written, { guarded: true, stale: false, n: "12" });
  const fromWriter = await writer.evaluate(async () => {
    const kv = Object.values(window.kvs)[0];
    return (await kv.get(["k", 4321])).value.round;
  });
  assert.equal(fromWriter, 9);
  assert.deepEqual(reader.errors, []);
  assert.deepEqual(writer.errors, []);
  await context.close();
});

test("cacheBytes must be a non-negative number", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const errors = await page.evaluate(async () => {
    const out = [];
    for (const cacheBytes of [-1, "1", Number.NaN, Infinity]) {
      try {
        (await window.lib.openKv("bad-cache", { cacheBytes })).close();
        out.push("opened");
      } catch (error) {
        out.push(`${error.name}: ${error.message}`);
      }
    }
    return out;
  });
  assert.deepEqual(errors, Array(4).fill("TypeError: cacheBytes must be a non-negative number"));
  await context.close();
});
