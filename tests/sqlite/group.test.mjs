// Group commit: commits issued together share one SQLite transaction (one
// fsync), yet each keeps its own checks, versionstamp, result and atomicity.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { openKv } from "webkv";
import { tempDir } from "./helpers.mjs";

/**
 * How many transactions the WAL holds: frames whose header carries the
 * database size, which SQLite writes only on a transaction's last frame.
 */
function walCommits(file) {
  const wal = readFileSync(file + "-wal");
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

async function freshKv(t, name) {
  const file = join(tempDir(t), name);
  const kv = await openKv(file);
  t.after(() => {
    try {
      kv.close();
    } catch {}
  });
  return { file, kv };
}

test("100 sets issued in one tick are one transaction, each with its own versionstamp", async (t) => {
  const { file, kv } = await freshKv(t, "group.db");
  await kv.set(["warm"], 0);
  const before = walCommits(file);
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => kv.set(["k", i], i)));
  assert.equal(walCommits(file) - before, 1, "one transaction for the 100 commits");
  const stamps = results.map((r) => r.versionstamp);
  assert.deepEqual([...stamps].sort(), stamps, "versionstamps increase in issue order");
  assert.equal(new Set(stamps).size, 100);
  const entries = await Array.fromAsync(kv.list({ prefix: ["k"] }));
  assert.equal(entries.length, 100);
  for (const e of entries) assert.equal(e.versionstamp, stamps[e.key[1]]);
  // Sequential commits are still one transaction each.
  for (let i = 0; i < 5; i++) await kv.set(["s", i], i);
  assert.equal(walCommits(file) - before, 6);
});

test("in one group, a failed check and a failing commit change nothing of their own and nothing of the others", async (t) => {
  const { file, kv } = await freshKv(t, "mixed.db");
  const { versionstamp: old } = await kv.set(["guarded"], "old");
  await kv.set(["text"], "not a number");
  const before = walCommits(file);
  const issued = [
    kv.set(["a"], 1),
    kv.atomic().check({ key: ["guarded"], versionstamp: "00000000000000000000" }).set(["guarded"], "lost").commit(),
    // Writes ["partial"] and then fails on the sum: all of it is undone.
    kv.atomic().set(["partial"], 1).sum(["text"], 1n).commit(),
    kv.atomic().check({ key: ["guarded"], versionstamp: old }).set(["guarded"], "new").commit(),
    kv.set(["b"], 2),
  ];
  const settled = await Promise.allSettled(issued);
  assert.equal(walCommits(file) - before, 1, "one transaction");
  assert.equal(settled[0].value.ok, true);
  assert.deepEqual(settled[1].value, { ok: false });
  assert.equal(settled[2].status, "rejected");
  assert.equal(settled[2].reason.name, "TypeError");
  assert.equal(settled[2].reason.message, "Failed to perform 'sum' mutation on a non-U64 value in the database");
  assert.equal(settled[3].value.ok, true);
  assert.equal(settled[4].value.ok, true);
  const stamps = [0, 3, 4].map((i) => settled[i].value.versionstamp);
  assert.deepEqual([...stamps].sort(), stamps);
  assert.equal(new Set(stamps).size, 3);

  const [a, guarded, partial, text, b] = await kv.getMany([["a"], ["guarded"], ["partial"], ["text"], ["b"]]);
  assert.equal(a.value, 1);
  assert.equal(guarded.value, "new");
  assert.equal(guarded.versionstamp, settled[3].value.versionstamp);
  assert.equal(partial.value, null, "the failed commit's own set is rolled back");
  assert.equal(text.value, "not a number");
  assert.equal(b.value, 2);
  // The file's version is the last successful commit's.
  kv.close();
  const db = new DatabaseSync(file, { readOnly: true });
  const { version } = db.prepare("select version from data_version where k = 0").get();
  db.close();
  assert.equal(version.toString(16).padStart(16, "0") + "0000", stamps[2]);
});

test("a read issued after an unawaited commit sees it; close writes the commits issued before it", async (t) => {
  const { file, kv } = await freshKv(t, "order.db");
  const pending = kv.set(["k"], "v");
  assert.equal((await kv.get(["k"])).value, "v");
  await pending;
  const last = kv.set(["last"], 1);
  kv.close();
  assert.equal((await last).ok, true);
  const again = await openKv(file);
  t.after(() => again.close());
  assert.equal((await again.get(["last"])).value, 1);
});

test("an atomic of 1,000 sets, with repeated keys and sums and deletes between them, applies in order", async (t) => {
  const { kv } = await freshKv(t, "bulk.db");
  await kv.set(["n"], new (await import("webkv")).KvU64(5n));
  const op = kv.atomic();
  for (let i = 0; i < 996; i++) op.set(["k", i % 300], i);
  op.sum(["n"], 1n).set(["n2"], "x").delete(["k", 0]).set(["k", 1], "last");
  const { ok, versionstamp } = await op.commit();
  assert.equal(ok, true);
  const entries = await Array.fromAsync(kv.list({ prefix: ["k"] }));
  assert.equal(entries.length, 299);
  for (const e of entries) {
    const i = e.key[1];
    // The last of the sets to each key wins.
    assert.equal(e.value, i === 1 ? "last" : i + 300 * Math.floor((995 - i) / 300), `["k", ${i}]`);
    assert.equal(e.versionstamp, versionstamp);
  }
  assert.equal((await kv.get(["n"])).value.value, 6n);
});
