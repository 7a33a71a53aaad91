import { TARGET, openKv, withKv } from "./target.js";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.js";

async function keys(iter) {
  const out = [];
  for await (const e of iter) out.push(e.key);
  return out;
}

async function seed(kv, ks) {
  for (const k of ks) await kv.set(k, k.join("/"));
}

const BASE = [["a"], ["a", 1], ["a", 2], ["a", 3], ["b"], ["b", 1], ["c", "x"]];

Deno.test(`[${TARGET}] list: prefix lists children in order, not the prefix key itself`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    assertEquals(await keys(kv.list({ prefix: ["a"] })), [["a", 1], ["a", 2], ["a", 3]]);
    assertEquals(await keys(kv.list({ prefix: ["a"] }, { reverse: true })), [["a", 3], ["a", 2], ["a", 1]]);
    assertEquals(await keys(kv.list({ prefix: ["b", 1] })), []);
    assertEquals(await keys(kv.list({ prefix: ["zzz"] })), []);
    const entries = [];
    for await (const e of kv.list({ prefix: ["b"] })) entries.push(e);
    assertEquals(entries, [{ key: ["b", 1], value: "b/1", versionstamp: (await kv.get(["b", 1])).versionstamp }]);
  }));

Deno.test(`[${TARGET}] list: empty prefix lists everything`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    assertEquals(await keys(kv.list({ prefix: [] })), BASE);
    assertEquals(await keys(kv.list({ prefix: [] }, { reverse: true })), BASE.toReversed());
  }));

Deno.test(`[${TARGET}] list: start/end range is [start, end)`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    assertEquals(await keys(kv.list({ start: ["a", 2], end: ["b", 1] })), [["a", 2], ["a", 3], ["b"]]);
    assertEquals(await keys(kv.list({ start: ["a", 2], end: ["b", 1] }, { reverse: true })), [["b"], ["a", 3], ["a", 2]]);
    assertEquals(await keys(kv.list({ start: ["a"], end: ["b"] })), [["a"], ["a", 1], ["a", 2], ["a", 3]]);
    assertEquals(await keys(kv.list({ start: ["b"], end: ["b"] })), []);
    assertEquals(await keys(kv.list({ start: [], end: ["a", 1] })), [["a"]]);
    assertEquals(await keys(kv.list({ start: [], end: [] })), []);
    // prefix: undefined is the same as no prefix
    assertEquals(await keys(kv.list({ prefix: undefined, start: ["c"], end: ["d"] })), [["c", "x"]]);
    await assertRejects(() => kv.list({ start: ["b"], end: ["a"] }).next(), TypeError, "Start key is greater than end key");
  }));

Deno.test(`[${TARGET}] list: prefix + start and prefix + end`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    assertEquals(await keys(kv.list({ prefix: ["a"], start: ["a", 2] })), [["a", 2], ["a", 3]]);
    assertEquals(await keys(kv.list({ prefix: ["a"], start: ["a", 2] }, { reverse: true })), [["a", 3], ["a", 2]]);
    assertEquals(await keys(kv.list({ prefix: ["a"], end: ["a", 3] })), [["a", 1], ["a", 2]]);
    assertEquals(await keys(kv.list({ prefix: ["a"], end: ["a", 3] }, { reverse: true })), [["a", 2], ["a", 1]]);
    assertEquals(await keys(kv.list({ prefix: ["a"], start: ["a", 2.5] })), [["a", 3]]);
    assertEquals(await keys(kv.list({ prefix: [], start: ["b"] })), [["b"], ["b", 1], ["c", "x"]]);
  }));

Deno.test(`[${TARGET}] list: start/end outside the prefix are rejected`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    const START = "Start key is not in the keyspace defined by prefix";
    const END = "End key is not in the keyspace defined by prefix";
    await assertRejects(() => kv.list({ prefix: ["a"], start: ["a"] }).next(), TypeError, START);
    await assertRejects(() => kv.list({ prefix: ["a"], start: ["0"] }).next(), TypeError, START);
    await assertRejects(() => kv.list({ prefix: ["a"], start: ["b"] }).next(), TypeError, START);
    await assertRejects(() => kv.list({ prefix: ["a"], end: ["a"] }).next(), TypeError, END);
    await assertRejects(() => kv.list({ prefix: ["a"], end: ["b"] }).next(), TypeError, END);
    await assertRejects(() => kv.list({ prefix: ["a"], end: ["0"] }).next(), TypeError, END);
  }));

Deno.test(`[${TARGET}] list: invalid selectors throw synchronously`, () =>
  withKv((kv) => {
    assertThrows(
      () => kv.list({ prefix: ["a"], start: ["a", 1], end: ["a", 2] }),
      TypeError,
      "Selector can not specify both 'start' and 'end' key when specifying 'prefix'",
    );
    const NEED = "Selector must specify either 'prefix' or both 'start' and 'end' key";
    assertThrows(() => kv.list({ start: ["a"] }), TypeError, NEED);
    assertThrows(() => kv.list({ end: ["a"] }), TypeError, NEED);
    assertThrows(() => kv.list({}), TypeError, NEED);
    assertThrows(() => kv.list({ prefix: undefined }), TypeError, NEED);
  }));

Deno.test(`[${TARGET}] list: limit`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    assertEquals(await keys(kv.list({ prefix: [] }, { limit: 2 })), [["a"], ["a", 1]]);
    assertEquals(await keys(kv.list({ prefix: [] }, { limit: 2, reverse: true })), [["c", "x"], ["b", 1]]);
    assertEquals(await keys(kv.list({ prefix: [] }, { limit: 1, batchSize: 5 })), [["a"]]);
    assertEquals(await keys(kv.list({ prefix: [] }, { limit: 3, batchSize: 1 })), [["a"], ["a", 1], ["a", 2]]);
    assertEquals((await keys(kv.list({ prefix: [] }, { limit: 5000 }))).length, BASE.length, "limit above 1000 is fine");
    const it = kv.list({ prefix: [] }, { limit: 1 });
    assertEquals((await it.next()).value.key, ["a"]);
    assertEquals(await it.next(), { done: true, value: undefined });
  }));

Deno.test(`[${TARGET}] list: limit and batchSize validation`, () =>
  withKv(async (kv) => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, "2", null]) {
      assertThrows(() => kv.list({ prefix: [] }, { limit: bad }), Error, `Limit must be a positive integer: received ${bad}`);
    }
    for (const bad of [0, -1, 1.5, NaN, "5"]) {
      assertThrows(() => kv.list({ prefix: [] }, { batchSize: bad }), Error, `batchSize must be a positive integer: received ${bad}`);
    }
    // limit is validated first
    assertThrows(() => kv.list({ prefix: [] }, { limit: 0, batchSize: 0 }), Error, "Limit must be a positive integer: received 0");
    assertThrows(() => kv.list({ prefix: [] }, { limit: 5, batchSize: 0 }), Error, "batchSize must be a positive integer: received 0");
    // batchSize null falls back to the default
    await kv.set(["a"], 1);
    assertEquals(await keys(kv.list({ prefix: [] }, { batchSize: null })), [["a"]]);
    assertEquals(await keys(kv.list({ prefix: [] }, { batchSize: 1000 })), [["a"]]);
    // More than 1000 is only rejected by the read itself.
    const it = kv.list({ prefix: [] }, { batchSize: 1001 });
    await assertRejects(() => it.next(), TypeError, "Too many entries (max 1000)");
  }));

// Each batch is read as its own snapshot: a write between next() calls is seen by later
// batches only. That makes the batch size observable.
async function batchBoundary(kv, options, n, boundary) {
  const at = (i) => ["k", String(i).padStart(5, "0")];
  for (let i = 0; i < n; i += 500) {
    const op = kv.atomic();
    for (let j = i; j < Math.min(n, i + 500); j++) op.set(at(j), "old");
    await op.commit();
  }
  const it = kv.list({ prefix: ["k"] }, options);
  const first = await it.next();
  assertEquals(first.value.key, at(0));
  await kv.set(at(boundary - 1), "new");
  await kv.set(at(boundary), "new");
  const seen = new Map();
  for await (const e of it) seen.set(e.key[1], e.value);
  assertStrictEquals(seen.get(at(boundary - 1)[1]), "old", `entry ${boundary - 1} came from the first batch`);
  assertStrictEquals(seen.get(at(boundary)[1]), "new", `entry ${boundary} came from the second batch`);
}

Deno.test(`[${TARGET}] list: default batchSize is 100`, () => withKv((kv) => batchBoundary(kv, {}, 150, 100)));
Deno.test(`[${TARGET}] list: default batchSize with a limit is min(limit, 500)`, async () => {
  await withKv((kv) => batchBoundary(kv, { limit: 700 }, 700, 500));
  await withKv(async (kv) => {
    // limit 120: one batch of 120 (not 100), so a change to entry 119 is not seen.
    const at = (i) => ["k", String(i).padStart(5, "0")];
    const op = kv.atomic();
    for (let j = 0; j < 150; j++) op.set(at(j), "old");
    await op.commit();
    const it = kv.list({ prefix: ["k"] }, { limit: 120 });
    await it.next();
    await kv.set(at(119), "new");
    const rest = [];
    for await (const e of it) rest.push(e.value);
    assertStrictEquals(rest.length, 119);
    assertStrictEquals(rest.at(-1), "old");
  });
});
Deno.test(`[${TARGET}] list: explicit batchSize`, () => withKv((kv) => batchBoundary(kv, { batchSize: 7 }, 20, 7)));

Deno.test(`[${TARGET}] list: large lists cross batch boundaries in order`, () =>
  withKv(async (kv) => {
    const N = 1500;
    for (let i = 0; i < N; i += 750) {
      const op = kv.atomic();
      for (let j = i; j < i + 750; j++) op.set(["big", j], j);
      await op.commit();
    }
    await kv.set(["big"], "prefix itself");
    await kv.set(["bigger"], "outside");
    const fwd = [];
    for await (const e of kv.list({ prefix: ["big"] }, { batchSize: 100 })) fwd.push(e.value);
    assertEquals(fwd, Array.from({ length: N }, (_, i) => i));
    const rev = [];
    for await (const e of kv.list({ prefix: ["big"] }, { reverse: true, batchSize: 99 })) rev.push(e.value);
    assertEquals(rev, Array.from({ length: N }, (_, i) => N - 1 - i));
    const dflt = [];
    for await (const e of kv.list({ prefix: ["big"] })) dflt.push(e.value);
    assertEquals(dflt.length, N);
    const limited = [];
    for await (const e of kv.list({ prefix: ["big"] }, { limit: 1234, batchSize: 1000 })) limited.push(e.value);
    assertEquals(limited, Array.from({ length: 1234 }, (_, i) => i));
    const range = [];
    for await (const e of kv.list({ start: ["big", 250], end: ["big", 1250] }, { batchSize: 300 })) range.push(e.value);
    assertEquals(range, Array.from({ length: 1000 }, (_, i) => 250 + i));
  }));

Deno.test(`[${TARGET}] list: cursor values and lifecycle`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    const it = kv.list({ prefix: ["a"] });
    assertThrows(() => it.cursor, Error, "Cannot get cursor before first iteration");
    const seen = [];
    for (let r = await it.next(); !r.done; r = await it.next()) seen.push([r.value.key, it.cursor]);
    // base64url (with padding) of the last key's encoding after the selector's common prefix
    assertEquals(seen, [
      [["a", 1], "Ib_wAAAAAAAA"],
      [["a", 2], "IcAAAAAAAAAA"],
      [["a", 3], "IcAIAAAAAAAA"],
    ]);
    assertStrictEquals(it.cursor, "", "exhausted iterator has an empty cursor");
    const rev = kv.list({ prefix: ["a"] }, { reverse: true });
    await rev.next();
    assertStrictEquals(rev.cursor, "IcAIAAAAAAAA");
    const se = kv.list({ start: ["a", 1], end: ["a", 3] });
    await se.next();
    assertStrictEquals(se.cursor, "v_AAAAAAAAA=");
    const all = kv.list({ prefix: [] });
    await all.next();
    assertStrictEquals(all.cursor, "AmEA");
    const empty = kv.list({ prefix: ["nothing"] });
    assertEquals(await empty.next(), { done: true, value: undefined });
    assertStrictEquals(empty.cursor, "");
    // A cursor passed in is reported back before iterating.
    assertStrictEquals(kv.list({ prefix: ["a"] }, { cursor: "Ib_wAAAAAAAA" }).cursor, "Ib_wAAAAAAAA");
  }));

Deno.test(`[${TARGET}] list: the cursor is the last entry's key as it is when asked for, and the next batch starts after it`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    const it = kv.list({ prefix: ["a"] }, { batchSize: 1 });
    const first = (await it.next()).value;
    assertEquals(first.key, ["a", 1]);
    // Deno encodes the cursor from the entry handed out, when it is needed.
    first.key = ["a", 2];
    assertStrictEquals(it.cursor, "IcAAAAAAAAAA");
    assertEquals(await keys(it), [["a", 3]]);
  }));

Deno.test(`[${TARGET}] list: resuming from a cursor, forward and reverse`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    const first = kv.list({ prefix: ["a"] }, { limit: 1 });
    assertEquals(await keys(first), [["a", 1]]);
    assertEquals(await keys(kv.list({ prefix: ["a"] }, { cursor: first.cursor })), [["a", 2], ["a", 3]]);
    const rfirst = kv.list({ prefix: ["a"] }, { limit: 1, reverse: true });
    assertEquals(await keys(rfirst), [["a", 3]]);
    assertEquals(await keys(kv.list({ prefix: ["a"] }, { cursor: rfirst.cursor, reverse: true })), [["a", 2], ["a", 1]]);
    // A forward cursor used in reverse lists what comes before it.
    const two = kv.list({ prefix: ["a"] }, { limit: 2 });
    await keys(two);
    assertEquals(await keys(kv.list({ prefix: ["a"] }, { cursor: two.cursor, reverse: true })), [["a", 1]]);
    // Page through everything with an empty prefix and small pages.
    const pages = [];
    let cursor;
    do {
      const page = kv.list({ prefix: [] }, { limit: 3, cursor });
      pages.push(await keys(page));
      cursor = page.cursor;
    } while (cursor !== "" && pages.length < 10);
    assertEquals(pages.flat(), BASE);
    // start/end selectors resume too
    const se = kv.list({ start: ["a", 1], end: ["b", 1] }, { limit: 2 });
    assertEquals(await keys(se), [["a", 1], ["a", 2]]);
    assertEquals(await keys(kv.list({ start: ["a", 1], end: ["b", 1] }, { cursor: se.cursor })), [["a", 3], ["b"]]);
    // An empty-string cursor means "from the beginning".
    assertEquals(await keys(kv.list({ prefix: ["a"] }, { cursor: "" })), [["a", 1], ["a", 2], ["a", 3]]);
  }));

Deno.test(`[${TARGET}] list: invalid cursors`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    for (const bad of ["!!!", "Ag", "IT_wAAAAAAAA=", "IT/wAAAAAAAA"]) {
      await assertRejects(() => kv.list({ prefix: ["a"] }, { cursor: bad }).next(), TypeError, "invalid cursor", bad);
    }
    const OOB = "cursor out of bounds";
    await assertRejects(() => kv.list({ start: ["a", 1], end: ["a", 3] }, { cursor: "AA==" }).next(), TypeError, OOB);
    await assertRejects(() => kv.list({ start: ["a", 1], end: ["a", 3] }, { cursor: "_w==", reverse: true }).next(), TypeError, OOB);
    await assertRejects(() => kv.list({ prefix: ["a"], start: ["a", 2] }, { cursor: "Ib_wAAAAAAAA" }).next(), TypeError, OOB);
    await assertRejects(() => kv.list({ prefix: ["a"], end: ["a", 2] }, { cursor: "IcAIAAAAAAAA", reverse: true }).next(), TypeError, OOB);
    await assertRejects(
      () => kv.list({ prefix: ["a"] }, { cursor: 5 }).next(),
      TypeError,
      "serde_v8 error: invalid type; expected: string, got: Number",
    );
  }));

Deno.test(`[${TARGET}] list: consistency option`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    assertEquals(await keys(kv.list({ prefix: ["b"] }, { consistency: "strong" })), [["b", 1]]);
    assertEquals(await keys(kv.list({ prefix: ["b"] }, { consistency: "eventual" })), [["b", 1]]);
    assertEquals((await kv.get(["b"], { consistency: "eventual" })).value, "b");
    assertEquals((await kv.getMany([["b"]], { consistency: "strong" }))[0].value, "b");
    const BAD = "unknown variant `bogus`, expected `strong` or `eventual`";
    await assertRejects(() => kv.list({ prefix: ["b"] }, { consistency: "bogus" }).next(), TypeError, BAD);
    await assertRejects(() => kv.get(["b"], { consistency: "bogus" }), TypeError, BAD);
  }));

Deno.test(`[${TARGET}] list: the iterator is its own async iterator and can be abandoned`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    const it = kv.list({ prefix: [] }, { batchSize: 2 });
    assertStrictEquals(it[Symbol.asyncIterator](), it);
    let n = 0;
    for await (const _ of it) {
      if (++n === 3) break;
    }
    assertStrictEquals(n, 3);
  }));

Deno.test(`[${TARGET}] getMany: order, missing keys, duplicates and the 10-key limit`, () =>
  withKv(async (kv) => {
    await seed(kv, BASE);
    const got = await kv.getMany([["b"], ["missing"], ["a", 1], ["b"]]);
    assertEquals(got.map((e) => [e.key, e.value]), [[["b"], "b"], [["missing"], null], [["a", 1], "a/1"], [["b"], "b"]]);
    assertStrictEquals(got[1].versionstamp, null);
    assertEquals(await kv.getMany([]), []);
    const ten = Array.from({ length: 10 }, (_, i) => ["n", i]);
    assertEquals((await kv.getMany(ten)).length, 10);
    await assertRejects(() => kv.getMany([...ten, ["n", 10]]), TypeError, "Too many ranges (max 10)");
    await assertRejects(
      () => kv.getMany("abc"),
      TypeError,
      "serde_v8 error: invalid type; expected: array, got: string",
    );
  }));
