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
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../chromium.mjs";
import { startServer } from "../../www/serve.mjs";

let server;
let browser;
let origin;

before(async () => {
  server = await startServer(0);
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function newPage(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${origin}/pkg/package.json`);
  page.errors = errors;
  return page;
}

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
  const context = await browser.newContext();
  const page = await newPage(context);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 3 * 1024 * 1024 });
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

  await cdp.send("Storage.overrideQuotaForOrigin", { origin });
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
  const context = await browser.newContext();
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
  const context = await browser.newContext();
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
  assert.deepEqual(result.version, [2, ["log", "meta", "pages", "queue"]]);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a database from a newer layout is refused with a clear error, not damaged", async () => {
  const context = await browser.newContext();
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
  const context = await browser.newContext();
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
      const open = indexedDB.open("webkv:upgraded", 3);
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
  const context = await browser.newContext();
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
