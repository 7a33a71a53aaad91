// IndexedDB failures in the middle of a commit leave memory and disk exactly
// as they were, a database written by an older layout opens, and an open
// database gives way to another page's upgrade or deletion. Runs in
// Debian's Chromium through playwright-core.
//
// - Quota: Chromium can really run out of quota; CDP's
//   Storage.overrideQuotaForOrigin gives the origin a small one.
// - Abort: nothing on the page can make IndexedDB abort a healthy
//   transaction, so the test wraps IDBObjectStore.prototype.add to abort
//   the transaction it belongs to, which is what a browser-side failure
//   looks like to webkv.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { newPage as openPage, useBrowser } from "./browser.mjs";

const session = useBrowser();
const newPage = (context) => openPage(session, context);

/** What a fresh page reads from the database on disk. */
async function readFromDisk(context, name, keys) {
  const page = await newPage(context);
  const values = await page.evaluate(async ({ name, keys }) => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv(name);
    const entries = await kv.getMany(keys);
    kv.close();
    return entries.map((e) => [e.value === null ? null : String(e.value), e.versionstamp]);
  }, { name, keys });
  await page.close();
  return values;
}

test("a commit that exceeds the quota fails with QuotaExceededError and changes nothing", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: session.origin, quotaSize: 3 * 1024 * 1024 });
  const result = await page.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("quota");
    await kv.set(["before"], "kept");
    // Random bytes, so that nothing compresses them below the quota.
    const chunk = () => crypto.getRandomValues(new Uint8Array(60_000));
    let committed = 0;
    let failure = null;
    for (let i = 0; i < 200 && failure === null; i++) {
      const op = kv.atomic();
      for (let j = 0; j < 10; j++) op.set(["big", i, j], chunk());
      op.set(["count"], i + 1);
      try {
        await op.commit();
        committed = i + 1;
      } catch (err) {
        failure = { name: err.name, message: err.message, i };
      }
    }
    const count = (await kv.get(["count"])).value;
    const failedEntries = await kv.getMany(Array.from({ length: 10 }, (_, j) => ["big", failure?.i, j]));
    globalThis.quotaKv = kv;
    return { committed, failure, count, failedVisible: failedEntries.filter((e) => e.value !== null).length };
  });
  assert.ok(result.failure, "the quota was reached");
  assert.match(result.failure.message, /QuotaExceededError/);
  assert.ok(result.committed > 0, "commits before the quota succeeded");
  assert.equal(result.count, result.committed, "memory holds exactly the acknowledged commits");
  assert.equal(result.failedVisible, 0, "no entry of the failed commit is visible");

  await cdp.send("Storage.overrideQuotaForOrigin", { origin: session.origin });
  const after = await page.evaluate(async () => {
    const committed = await globalThis.quotaKv.set(["after"], "works");
    globalThis.quotaKv.close();
    return committed.ok;
  });
  assert.ok(after, "with room again, the same database commits");
  const [count, firstFailed, before] = await readFromDisk(context, "quota", [["count"], ["big", result.failure.i, 0], ["before"]]);
  assert.equal(count[0], String(result.committed), "disk holds exactly the acknowledged commits");
  assert.equal(firstFailed[0], null, "the failed commit is not on disk");
  assert.equal(before[0], "kept");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("an aborted transaction rejects the commit and leaves memory and disk as they were", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const result = await page.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("abort");
    const first = await kv.atomic().set(["a"], 1).set(["b"], 1).commit();
    const add = IDBObjectStore.prototype.add;
    IDBObjectStore.prototype.add = function (...args) {
      const request = add.apply(this, args);
      this.transaction.abort();
      return request;
    };
    let error = null;
    try {
      await kv.atomic().set(["a"], 2).set(["b"], 2).sum(["n"], 1n).commit();
    } catch (err) {
      error = err.message;
    }
    IDBObjectStore.prototype.add = add;
    const seen = (await kv.getMany([["a"], ["b"], ["n"]])).map((e) => [e.value === null ? null : String(e.value), e.versionstamp]);
    const next = await kv.atomic().set(["a"], 3).commit();
    kv.close();
    return { first: first.versionstamp, error, seen, next: next.versionstamp };
  });
  assert.match(result.error, /AbortError/);
  assert.deepEqual(result.seen, [["1", result.first], ["1", result.first], [null, null]]);
  assert.ok(result.next > result.first, "the next commit succeeds with a newer versionstamp");
  const disk = await readFromDisk(context, "abort", [["a"], ["b"], ["n"]]);
  assert.deepEqual(disk, [["3", result.next], ["1", result.first], [null, null]]);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a database written with layout 1 (log only) opens, upgrades and keeps working", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const result = await page.evaluate(async () => {
    // Layout 1: IndexedDB version 1, stores "meta" ({ version } at "head")
    // and "log" (commit records by version). A record: format 1, varint
    // version, varint change count, then per change: varint key length,
    // key, value tag (2 = bytes, 3 = u64 LE), value, varint expiry (0 = none).
    const record = (version, key, tag, value) => new Uint8Array([1, version, 1, key.length, ...key, tag, ...(tag === 2 ? [value.length] : []), ...value, 0]);
    const keyA = [0x02, 0x61, 0x00]; // ["a"]
    const keyN = [0x02, 0x6e, 0x00]; // ["n"]
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open("webkv:old", 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore("meta");
        open.result.createObjectStore("log");
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise((resolve) => {
      const tx = db.transaction(["meta", "log"], "readwrite");
      tx.objectStore("log").put(record(1, keyA, 2, [7, 8, 9]), 1);
      tx.objectStore("log").put(record(2, keyN, 3, [5, 0, 0, 0, 0, 0, 0, 0]), 2);
      tx.objectStore("meta").put({ version: 2 }, "head");
      tx.oncomplete = resolve;
    });
    db.close();

    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("old");
    const a = await kv.get(["a"]);
    const n = await kv.get(["n"]);
    const next = await kv.atomic().sum(["n"], 1n).commit();
    const after = await kv.get(["n"]);
    kv.close();
    const version = await new Promise((resolve) => {
      const open = indexedDB.open("webkv:old");
      open.onsuccess = () => {
        resolve([open.result.version, [...open.result.objectStoreNames]]);
        open.result.close();
      };
    });
    return {
      a: [Array.from(a.value), a.versionstamp],
      n: [String(n.value), n.versionstamp],
      next: next.versionstamp,
      after: String(after.value),
      version,
    };
  });
  assert.deepEqual(result.a, [[7, 8, 9], "00000000000000010000"]);
  assert.deepEqual(result.n, ["5", "00000000000000020000"]);
  assert.equal(result.next, "00000000000000030000");
  assert.equal(result.after, "6");
  assert.deepEqual(result.version, [3, ["log", "meta", "pages", "queue"]]);
  assert.deepEqual(page.errors, []);
  await context.close();
});

// A layout-2 database as the last layout-2 webkv wrote it (two snapshot
// pages, a log after them, a queued message; fixtures/layout2.mjs), and
// the page-side code that writes it back into IndexedDB.
const layout2 = JSON.parse(gunzipSync(readFileSync(new URL("fixtures/layout2.json.gz", import.meta.url))).toString());
const dumpModule = readFileSync(new URL("fixtures/dump.js", import.meta.url), "utf8");

async function restore(page, name, dump) {
  await page.evaluate(async ({ name, dump, dumpModule }) => {
    const url = URL.createObjectURL(new Blob([dumpModule], { type: "text/javascript" }));
    const { restoreDatabase } = await import(url);
    await restoreDatabase(name, dump);
  }, { name, dump, dumpModule });
}

/** The raw IndexedDB database `name`: its version, stores, and row counts. */
async function rawShape(page, name) {
  return page.evaluate(async (name) => {
    const db = await new Promise((resolve) => {
      const open = indexedDB.open(name);
      open.onsuccess = () => resolve(open.result);
    });
    const stores = [...db.objectStoreNames];
    const shape = { version: db.version, stores, rows: {}, pageIds: [], index: null, snapshot: null };
    await new Promise((resolve) => {
      const tx = db.transaction(stores, "readonly");
      for (const store of stores) tx.objectStore(store).count().onsuccess = (e) => (shape.rows[store] = e.target.result);
      if (stores.includes("pages")) tx.objectStore("pages").getAllKeys().onsuccess = (e) => (shape.pageIds = e.target.result);
      tx.objectStore("meta").get("index").onsuccess = (e) => (shape.index = e.target.result instanceof Uint8Array ? e.target.result.byteLength : String(e.target.result));
      tx.objectStore("meta").get("snapshot").onsuccess = (e) => (shape.snapshot = e.target.result);
      tx.oncomplete = resolve;
    });
    db.close();
    return shape;
  }, name);
}

test("a layout-2 database written by the last layout-2 webkv is upgraded in place to layout 3 and keeps working", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  await restore(page, "webkv:layout2", layout2);
  const before = await rawShape(page, "webkv:layout2");
  assert.equal(before.version, 2);
  assert.deepEqual(before.pageIds, [0, 1], "the fixture has a snapshot of two pages");
  assert.ok(before.rows.log > 0, "and a log after it");

  const read = () => page.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("layout2");
    const items = [];
    for await (const entry of kv.list({ prefix: ["item"] })) items.push(entry);
    const [count, bytes, seven, last] = await kv.getMany([["count"], ["bytes"], ["item", 7], ["item", 4999]]);
    kv.close();
    return {
      items: items.length,
      ordered: items.every((entry, i) => i === 0 || entry.key[1] > items[i - 1].key[1]),
      wellFormed: items.every((entry) => entry.value.i === entry.key[1] && entry.value.s === "x".repeat(100)),
      count: String(count.value?.value),
      bytes: Array.from(bytes.value ?? []),
      seven: seven.value,
      last: [last.value?.i, last.versionstamp],
    };
  });
  const first = await read();
  assert.deepEqual(
    { ...first, last: first.last[0] },
    { items: 4999, ordered: true, wellFormed: true, count: "42", bytes: [1, 2, 3], seven: null, last: 4999 },
  );
  const upgraded = await rawShape(page, "webkv:layout2");
  assert.equal(upgraded.version, 3);
  assert.deepEqual(upgraded.pageIds, [0, 1], "the pages keep their keys as their ids");
  assert.equal(typeof upgraded.index, "number", "meta holds the page index");
  assert.equal(upgraded.snapshot, before.snapshot);
  assert.equal(upgraded.rows.queue, 1, "the queued message is still queued");
  assert.equal(upgraded.rows.log, before.rows.log);

  // Enough commits for checkpoints: they rewrite pages under new ids and
  // remove the ones they replace.
  const written = await page.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("layout2");
    for (let i = 0; i < 3000; i += 100) {
      const op = kv.atomic();
      for (let j = i; j < i + 100; j++) op.set(["more", j], { i: j, s: "y".repeat(100) });
      await op.commit();
    }
    const { versionstamp } = await kv.set(["after"], "upgrade");
    kv.close();
    return versionstamp;
  });
  assert.ok(written > first.last[1], "commits continue the stored history");
  const checkpointed = await rawShape(page, "webkv:layout2");
  assert.ok(checkpointed.snapshot > before.snapshot, "a checkpoint ran");
  assert.ok(checkpointed.pageIds.some((id) => id >= 2), `new pages get new ids: ${checkpointed.pageIds}`);
  const again = await read();
  assert.deepEqual({ ...again, last: again.last[0] }, { ...first, last: 4999 });
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a layout-2 database whose snapshot is corrupt is not upgraded: the open fails and the database stays as it was", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const broken = structuredClone(layout2);
  const pages = broken.stores.pages;
  pages[1][1] = { $bytes: Buffer.from([1, 5, 200]).toString("base64") };
  await restore(page, "webkv:broken2", broken);
  const message = await page.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    return openKv("broken2").then(() => "opened", (err) => err.message);
  });
  assert.match(message, /The stored database is corrupt: a snapshot page: /);
  const shape = await rawShape(page, "webkv:broken2");
  assert.equal(shape.version, 2, "still layout 2");
  assert.equal(shape.index, "undefined");
  assert.deepEqual(shape.pageIds, [0, 1]);
  await context.close();
});

test("a layout-2 database whose snapshot version is null (as absent) upgrades as the empty snapshot", async () => {
  // The layout-2 webkv read `meta.snapshot ?? 0`: null, like absent, is the
  // snapshot of nothing. The upgrade keeps that reading.
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const result = await page.evaluate(async () => {
    await new Promise((resolve, reject) => {
      const open = indexedDB.open("webkv:null2", 2);
      open.onupgradeneeded = () => {
        for (const store of ["meta", "log", "pages", "queue"]) open.result.createObjectStore(store);
        open.transaction.objectStore("meta").put(null, "snapshot");
      };
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
      open.onerror = () => reject(open.error);
    });
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("null2");
    const empty = (await kv.get(["a"])).value;
    await kv.set(["a"], "after");
    const after = (await kv.get(["a"])).value;
    kv.close();
    return { empty, after };
  });
  assert.deepEqual(result, { empty: null, after: "after" });
  const shape = await rawShape(page, "webkv:null2");
  assert.equal(shape.version, 3);
  assert.equal(typeof shape.index, "number", "meta holds the (empty) page index");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a checkpoint whose transaction aborts leaves the index, the pages and the log as they were, and later ones still keep every commit", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const fillBatches = (from, to, tag) => page.evaluate(async ({ from, to, tag }) => {
    globalThis.ckpt ??= await (await import("/pkg/browser.js")).openKv("checkpoint");
    for (let i = from; i < to; i += 100) {
      const op = ckpt.atomic();
      for (let j = i; j < i + 100; j++) op.set(["e", j], { tag, s: "x".repeat(200) });
      await op.commit();
    }
  }, { from, to, tag });
  await fillBatches(0, 3000, "first");
  const before = await rawShape(page, "webkv:checkpoint");
  assert.ok(before.snapshot > 0 && before.pageIds.length > 0, "checkpoints ran");

  // Abort every transaction that adds a page: a checkpoint's, and only it.
  const attempts = await page.evaluate(async () => {
    const add = IDBObjectStore.prototype.add;
    let attempts = 0;
    IDBObjectStore.prototype.add = function (...args) {
      const request = add.apply(this, args);
      if (this.name === "pages") {
        attempts++;
        this.transaction.abort();
      }
      return request;
    };
    for (let i = 0; i < 3000; i += 100) {
      const op = ckpt.atomic();
      for (let j = i; j < i + 100; j++) op.set(["e", j], { tag: "second", s: "y".repeat(200) });
      await op.commit();
    }
    // The last commit's checkpoint starts after the commit answered.
    await new Promise((resolve) => setTimeout(resolve, 500));
    globalThis.restoreAdd = () => (IDBObjectStore.prototype.add = add);
    return attempts;
  });
  assert.ok(attempts > 0, "a checkpoint was attempted");
  const aborted = await rawShape(page, "webkv:checkpoint");
  await page.evaluate(() => restoreAdd());
  assert.equal(aborted.snapshot, before.snapshot, "the snapshot's version is as it was");
  assert.deepEqual(aborted.pageIds, before.pageIds, "no page was added or removed");
  assert.ok(aborted.rows.log > before.rows.log, "every commit is still in the log");
  const tags = async () => {
    const other = await newPage(context);
    const seen = await other.evaluate(async () => {
      const kv = await (await import("/pkg/browser.js")).openKv("checkpoint");
      const tags = {};
      for await (const { value } of kv.list({ prefix: ["e"] })) tags[value.tag] = (tags[value.tag] ?? 0) + 1;
      kv.close();
      return tags;
    });
    await other.close();
    return seen;
  };
  await page.evaluate(() => {
    ckpt.close();
    globalThis.ckpt = undefined;
  });
  assert.deepEqual(await tags(), { second: 3000 }, "a new page reads the whole database");

  await fillBatches(3000, 6000, "third");
  const after = await rawShape(page, "webkv:checkpoint");
  assert.ok(after.snapshot > before.snapshot, "a later checkpoint ran");
  await page.evaluate(() => ckpt.close());
  // (That the pages alone then hold the aborted checkpoint's keys is
  // checked natively, in src/backend/durable/tests.rs.)
  assert.deepEqual(await tags(), { second: 3000, third: 3000 });
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a database from a newer layout is refused with a clear error, not damaged", async () => {
  const context = await session.browser.newContext();
  const page = await newPage(context);
  const message = await page.evaluate(async () => {
    await new Promise((resolve) => {
      const open = indexedDB.open("webkv:future", 99);
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
    });
    const { openKv } = await import("/pkg/browser.js");
    try {
      await openKv("future");
      return "opened";
    } catch (err) {
      return err.message;
    }
  });
  assert.match(message, /written by a newer webkv/);
  await context.close();
});

test("an open database gives way to a newer page's upgrade and to deleteKv; its commits then fail clearly and write nothing", async () => {
  const context = await session.browser.newContext();
  const holder = await newPage(context);
  const other = await newPage(context);
  await holder.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    globalThis.upgraded = await openKv("upgraded");
    globalThis.deleted = await openKv("deleted");
    await upgraded.set(["a"], 1);
    await deleted.set(["a"], 1);
  });
  const outcomes = await other.evaluate(async () => {
    const { deleteKv } = await import("/pkg/browser.js");
    const upgrade = await new Promise((resolve) => {
      const open = indexedDB.open("webkv:upgraded", 4);
      open.onblocked = () => resolve("blocked");
      open.onsuccess = () => {
        open.result.close();
        resolve("upgraded");
      };
      open.onerror = () => resolve(`failed: ${open.error}`);
    });
    const removal = await Promise.race([
      deleteKv("deleted").then(() => "deleted"),
      new Promise((resolve) => setTimeout(() => resolve("still pending after 5 s"), 5000)),
    ]);
    return [upgrade, removal];
  });
  assert.deepEqual(outcomes, ["upgraded", "deleted"]);
  const failures = await holder.evaluate(async () => {
    const attempt = (op) => op().then(() => "succeeded", (err) => err.message);
    return [
      await attempt(() => upgraded.set(["a"], 2)),
      await attempt(() => upgraded.atomic().set(["b"], 2).commit()),
      await attempt(() => deleted.set(["a"], 2)),
      await attempt(() => deleted.set(["c"], 3)),
    ];
  });
  for (const failure of failures) assert.match(failure, /closed by IndexedDB: it was deleted, upgraded or cleared by another page/);
  const disk = await other.evaluate(async () => {
    const raw = await new Promise((resolve) => {
      const open = indexedDB.open("webkv:upgraded");
      open.onsuccess = () => resolve(open.result);
    });
    const log = await new Promise((resolve) => {
      const request = raw.transaction("log").objectStore("log").count();
      request.onsuccess = () => resolve(request.result);
    });
    raw.close();
    return log;
  });
  assert.equal(disk, 1, "the upgraded database's log holds the first commit only");
  assert.deepEqual(await readFromDisk(context, "deleted", [["a"], ["c"]]), [[null, null], [null, null]]);
  assert.deepEqual(holder.errors, []);
  await context.close();
});

test("a commit made just before close still reaches other tabs' watchers", async () => {
  const context = await session.browser.newContext();
  const watcher = await newPage(context);
  const writer = await newPage(context);
  await watcher.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("closing");
    const reader = kv.watch([["k"]]).getReader();
    await reader.read();
    globalThis.seen = (async () => {
      for (;;) {
        const { value } = await reader.read();
        if (value[0].value === "last words") return value[0].versionstamp;
      }
    })();
  });
  const stamp = await writer.evaluate(async () => {
    const { openKv } = await import("/pkg/browser.js");
    const kv = await openKv("closing");
    const { versionstamp } = await kv.set(["k"], "last words");
    kv.close();
    return versionstamp;
  });
  const seen = await watcher.evaluate(() => Promise.race([globalThis.seen, new Promise((r) => setTimeout(() => r("not seen"), 3000))]));
  assert.equal(seen, stamp);
  await context.close();
});
