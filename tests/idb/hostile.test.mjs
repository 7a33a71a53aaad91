// Tests 10-12: what other tabs and stored bytes can send a durable
// openKv(name) database (docs/security.md), in a real Chromium.
//
// 10. Malformed messages on the database's BroadcastChannel (any script of
//     the origin can post there, and so can an older or newer webkv): every
//     one is ignored with a rate-limited console warning, and afterwards both
//     tabs still commit and see each other's commits through a watch.
// 11. Corrupt rows in the queue store, written with raw IndexedDB (wrong
//     types, missing fields, truncated payloads, impossible keys, a lease
//     that never ends): they are reported and moved aside, and every good
//     message is still delivered, exactly once. A row of an unknown (newer)
//     message format is left where it is.
// 12. Corrupt meta, log and page records: opening fails with a clear
//     "corrupt" error, and the page's webkv still works afterwards.
// (A group of 300,000 announced commit records, and announcements too large
// to copy into wasm, are tests/wasm_browser.rs's `peers` tests: the peers
// are Rust, src/bindings/idb_peers.rs.)
//
// WEBKV_IDB_IMPL=raw skips these (rawkv.js has no watch, queues or
// BroadcastChannel); WEBKV_IDB_IMPL=memory fails them.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { closeAll, IDB_PREFIX, IMPL, launch, makeProfile, pageUrl, startServer } from "./harness.mjs";

after(closeAll);

const SKIP = IMPL === "raw" ? "pages/rawkv.js has no watch, queues or BroadcastChannel" : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(predicate, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

async function withLogs(pages, body) {
  try {
    return await body();
  } catch (error) {
    const logs = pages.map((p) => `--- ${p.label}:\n${(p.log ?? []).slice(-30).join("\n")}`).join("\n");
    error.message += `\n${logs}`;
    throw error;
  }
}

async function openTab(session, url, label) {
  const page = await session.openPage(url);
  page.label = label;
  await page.evaluate(async () => {
    window.raw = await import("/tests/idb/pages/raw-idb.js");
  });
  return page;
}

const warnings = (page) => page.log.filter((line) => line.startsWith("warning:") && line.includes("webkv"));

test(`malformed BroadcastChannel messages (${IMPL}): ignored with a few warnings, and both tabs still commit and follow each other`, { skip: SKIP, timeout: 60_000 }, async (t) => {
  const server = await startServer();
  const session = await launch(makeProfile("messages"));
  const url = pageUrl(server.origin);
  const name = "messages";
  const a = await openTab(session, url, "A");
  const b = await openTab(session, url, "B");
  const c = await openTab(session, url, "C");
  await withLogs([a, b, c], async () => {
    for (const page of [a, b]) {
      await page.evaluate(async (name) => {
        window.kv = await window.lib.openKv(name);
        window.seen = [];
        const reader = window.kv.watch([["from", "A"], ["from", "B"]]).getReader();
        (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            window.seen.push(value.map((entry) => entry.value));
          }
        })();
      }, name);
    }
    const commit = (page, value) =>
      page.evaluate(({ who, value }) => window.kv.set(["from", who], value).then((r) => r.ok), { who: page.label, value });
    const sees = (page, values) =>
      waitFor(() => page.evaluate((want) => window.seen.some((row) => JSON.stringify(row) === want), JSON.stringify(values)), 5_000,
        `${page.label} sees ${JSON.stringify(values)}`);
    // Before: they follow each other.
    assert.equal(await commit(a, 1), true);
    await sees(b, [1, null]);
    assert.equal(await commit(b, 1), true);
    await sees(a, [1, 1]);

    const posted = await c.evaluate((name) => window.raw.postMalformed(`webkv:${name}`), name);
    // A flood of the message that used to stop every tab's follower.
    await c.evaluate((name) => {
      const channel = new BroadcastChannel(`webkv:${name}`);
      for (let i = 0; i < 2_000; i++) channel.postMessage({ type: "commit", records: null });
      channel.close();
    }, name);
    await sleep(500);

    // After: both still commit (in turn, so each one's lock is taken from
    // the other) and see the other's commits as they are announced.
    for (let round = 2; round <= 4; round++) {
      assert.equal(await Promise.race([commit(a, round), sleep(10_000).then(() => "A's commit hangs")]), true);
      await sees(b, [round, round - 1]);
      assert.equal(await Promise.race([commit(b, round), sleep(10_000).then(() => "B's commit hangs")]), true);
      await sees(a, [round, round]);
    }
    for (const page of [a, b]) {
      for (const line of warnings(page)) t.diagnostic(`${page.label}: ${line}`);
      const count = warnings(page).length;
      assert.ok(count >= 1, `${page.label}: the malformed messages are reported`);
      assert.ok(count <= 3, `${page.label}: ${posted + 2_000} malformed messages gave ${count} warnings:\n${warnings(page).join("\n")}`);
      assert.deepEqual(page.log.filter((line) => line.startsWith("pageerror")), [], `${page.label}: no uncaught error`);
    }
  });
  await session.kill();
  await server.close();
});

test(`corrupt queue rows (${IMPL}): reported, moved aside, and every good message still delivered once`, { skip: SKIP, timeout: 60_000 }, async (t) => {
  const server = await startServer();
  const session = await launch(makeProfile("queue-rows"));
  const url = pageUrl(server.origin);
  const name = "queue-rows";
  const a = await openTab(session, url, "A");
  await withLogs([a], async () => {
    // Two good messages, then corrupt rows next to them (raw IndexedDB).
    await a.evaluate(async (name) => {
      const kv = await window.lib.openKv(name);
      await kv.enqueue({ id: "good-0" });
      await kv.enqueue({ id: "good-1" });
      kv.close();
      await window.raw.corruptQueue(`webkv:${name}`);
    }, name);
    const before = await a.evaluate((name) => window.raw.rows(`webkv:${name}`, "queue"), name);
    assert.ok(before.length >= 12, JSON.stringify(before));
  });

  const b = await openTab(session, url, "B");
  await withLogs([a, b], async () => {
    await b.evaluate(async (name) => {
      window.delivered = [];
      window.kv = await window.lib.openKv(name);
      window.listening = window.kv.listenQueue((message) => {
        window.delivered.push(message?.id ?? JSON.stringify(message));
      });
      await window.kv.enqueue({ id: "good-2" });
    }, name);
    const delivered = () => b.evaluate(() => window.delivered.slice().sort());
    await waitFor(async () => (await delivered()).length >= 3, 10_000, "the three good messages are delivered");
    await sleep(1_000);
    assert.deepEqual(await delivered(), ["good-0", "good-1", "good-2"]);
    const left = await b.evaluate((name) => window.raw.rows(`webkv:${name}`, "queue"), name);
    assert.deepEqual(left.map((row) => row.key), [[0, 1, 8]], `only the row of an unknown format is left: ${JSON.stringify(left)}`);
    const aside = await b.evaluate((name) => window.raw.rows(`webkv:${name}`, "meta"), name);
    const quarantined = aside.filter((row) => Array.isArray(row.key) && row.key[0] === "quarantine");
    assert.equal(quarantined.length, 12, `moved aside: ${JSON.stringify(aside)}`);
    const reports = b.log.filter((line) => /corrupt queue/i.test(line));
    for (const line of b.log.filter((line) => line.includes("webkv:"))) t.diagnostic(line);
    assert.ok(reports.length >= 1 && reports.length <= 4, `reported, without a flood:\n${b.log.join("\n")}`);
    assert.deepEqual(b.log.filter((line) => line.startsWith("pageerror")), []);
    await b.evaluate(async () => {
      window.kv.close();
      await window.listening;
    });
  });
  await session.kill();
  await server.close();
});

test(`corrupt meta, log and page records (${IMPL}): opening, or reading the page, fails with a clear error, and webkv still works`, { skip: SKIP, timeout: 60_000 }, async (t) => {
  const server = await startServer();
  const session = await launch(makeProfile("records"));
  const url = pageUrl(server.origin);
  const a = await openTab(session, url, "A");
  await withLogs([a], async () => {
    const results = await a.evaluate(async () => {
      const out = {};
      for (const [name, corrupt] of Object.entries(window.raw.CORRUPT_RECORDS)) {
        const kv = await window.lib.openKv(name);
        await kv.set(["k"], 1);
        kv.close();
        await window.raw.write(`webkv:${name}`, corrupt);
        try {
          const reopened = await window.lib.openKv(name);
          try {
            // Pages are read when touched: a list of everything touches each.
            const k = (await reopened.get(["k"])).value;
            const all = [];
            for await (const entry of reopened.list({ prefix: [] })) all.push(entry.key);
            out[name] = `opened, k = ${JSON.stringify(k)}, ${all.length} entries`;
          } finally {
            reopened.close();
          }
        } catch (error) {
          out[name] = `${error?.name}: ${error?.message}`;
        }
      }
      const kv = await window.lib.openKv("healthy");
      await kv.set(["still"], "works");
      out.healthy = (await kv.get(["still"])).value;
      kv.close();
      return out;
    });
    const { healthy, ...corrupt } = results;
    for (const [name, outcome] of Object.entries(corrupt)) {
      t.diagnostic(`${name}: ${outcome}`);
      assert.match(outcome, /^Error: The stored database is corrupt: /, `${name}: ${outcome}`);
      if (name.endsWith("-null")) assert.match(outcome, / is null\b/, `${name}: ${outcome}`);
    }
    assert.equal(healthy, "works");
    assert.deepEqual(a.log.filter((line) => line.startsWith("pageerror")), []);
  });
  await session.kill();
  await server.close();
});
