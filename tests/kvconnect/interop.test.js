// Interop over KV Connect: real Deno (Deno.openKv(url)) and webkv (openKv(url, { accessToken }))
// on one denokv server read what the other wrote, with the same values, versionstamps and
// list order.
//
//   deno test --unstable-kv -A tests/kvconnect/interop.test.js
// uses KV_CONNECT_URL / KV_CONNECT_TOKEN if set (tests/kvconnect/run.sh), else starts its
// own denokv.

import { assert, assertEquals, assertStrictEquals } from "../conformance/assert.js";
import { getServer, openDenoRemote, openWebkvRemote, webkv, wipe, withTimeout } from "./common.js";

const server = await getServer();
const W = await webkv();

function test(name, fn) {
  Deno.test({
    name: `[kvconnect interop] ${name}`,
    fn,
  });
}

/** Opens both clients on a wiped database. */
async function both(fn) {
  const deno = await openDenoRemote(server.url, server.token);
  const web = await openWebkvRemote(server.url, server.token);
  try {
    await wipe(deno);
    await fn(deno, web);
  } finally {
    deno.close();
    web?.close();
  }
}

// Values every client must carry unchanged (none of them a top-level KvU64: see below).
const SAMPLES = [
  ["string", "héllo wörld ✓ \u{1F600}"],
  ["empty string", ""],
  ["long string", "x".repeat(5000)],
  ["number", 3.25],
  ["-0", -0],
  ["NaN", NaN],
  ["null", null],
  ["undefined", undefined],
  ["true", true],
  ["object", { a: 1, nested: { b: [1, "two", null, true] }, s: "x", d: new Date(5) }],
  ["array", [1, [2, [3]], "s", { k: "v" }]],
  ["Date", new Date(1700000000123)],
  ["invalid Date", new Date(NaN)],
  ["Map", new Map([["k", 1], [2, { v: "two" }], [{ o: 1 }, [3]]])],
  ["Set", new Set([1, "a", 2n])],
  ["bigint", 12345678901234567890123n],
  ["negative bigint", -5n],
  ["Uint8Array", new Uint8Array([0, 1, 2, 254, 255])],
  ["empty Uint8Array", new Uint8Array(0)],
  ["nested typed arrays", { u8: new Uint8Array([1, 2]), f64: new Float64Array([1.5, -0]), i32: new Int32Array([-1]) }],
  ["RegExp", /a+b/gi],
  ["Error", new RangeError("boom")],
];

async function writeAll(kv, who) {
  const stamps = {};
  for (const [name, value] of SAMPLES) {
    const r = await kv.set(["interop", who, name], value);
    assertStrictEquals(r.ok, true);
    stamps[name] = r.versionstamp;
  }
  return stamps;
}

async function checkAll(kv, who, stamps, reader) {
  for (const [name, value] of SAMPLES) {
    const e = await kv.get(["interop", who, name]);
    assertEquals(e.key, ["interop", who, name], `${reader} reads ${who}'s ${name}: key`);
    assertEquals(e.value, value, `${reader} reads ${who}'s ${name}`);
    assertStrictEquals(e.versionstamp, stamps[name], `${reader} sees ${who}'s versionstamp of ${name}`);
  }
}

test("two real Deno clients share data and versionstamps (sanity check of the fixture)", () =>
  both(async (deno) => {
    const other = await openDenoRemote(server.url, server.token);
    try {
      const stamps = await writeAll(deno, "deno");
      await checkAll(other, "deno", stamps, "second Deno client");
    } finally {
      other.close();
    }
  }));

test("Deno writes, webkv reads: values and versionstamps", () =>
  both(async (deno, web) => {
    const stamps = await writeAll(deno, "deno");
    await checkAll(web, "deno", stamps, "webkv");
    await checkAll(deno, "deno", stamps, "Deno");
  }));

test("webkv writes, Deno reads: values and versionstamps", () =>
  both(async (deno, web) => {
    const stamps = await writeAll(web, "webkv");
    await checkAll(deno, "webkv", stamps, "Deno");
    await checkAll(web, "webkv", stamps, "webkv");
  }));

test("KvU64: top-level is each side's own KvU64, nested is a plain { value }, sums cross over", () =>
  both(async (deno, web) => {
    await deno.set(["u64", "deno"], new Deno.KvU64(42n));
    await deno.set(["u64", "deno-nested"], { n: new Deno.KvU64(7n) });
    await web.set(["u64", "webkv"], new W.KvU64(43n));
    await web.set(["u64", "webkv-nested"], { n: new W.KvU64(8n) });

    const a = (await web.get(["u64", "deno"])).value;
    assert(a instanceof W.KvU64, "webkv reads Deno's KvU64 as webkv's KvU64");
    assertStrictEquals(a.value, 42n);
    const b = (await deno.get(["u64", "webkv"])).value;
    assert(b instanceof Deno.KvU64, "Deno reads webkv's KvU64 as Deno.KvU64");
    assertStrictEquals(b.value, 43n);
    assertEquals((await web.get(["u64", "deno-nested"])).value, { n: { value: 7n } });
    assertEquals((await deno.get(["u64", "webkv-nested"])).value, { n: { value: 8n } });

    // sums by either client apply to the same counter (server-side, exactly once each)
    await deno.atomic().sum(["u64", "counter"], 5n).commit();
    await web.atomic().sum(["u64", "counter"], 6n).commit();
    await deno.atomic().max(["u64", "counter"], 10n).commit();
    await web.atomic().min(["u64", "counter"], 100n).commit();
    const fromDeno = (await deno.get(["u64", "counter"])).value;
    const fromWeb = (await web.get(["u64", "counter"])).value;
    assert(fromDeno instanceof Deno.KvU64 && fromWeb instanceof W.KvU64);
    assertStrictEquals(fromDeno.value, 11n);
    assertStrictEquals(fromWeb.value, 11n);
  }));

test("versionstamps: one commit order across both clients; checks accept the other's versionstamps", () =>
  both(async (deno, web) => {
    const v1 = (await deno.set(["vs", 1], "a")).versionstamp;
    const v2 = (await web.set(["vs", 2], "b")).versionstamp;
    const v3 = (await deno.set(["vs", 3], "c")).versionstamp;
    assert(v1 < v2 && v2 < v3, `strictly increasing across clients: ${v1} ${v2} ${v3}`);
    assertEquals((await web.getMany([["vs", 1], ["vs", 2], ["vs", 3]])).map((e) => e.versionstamp), [v1, v2, v3]);
    assertEquals((await deno.getMany([["vs", 1], ["vs", 2], ["vs", 3]])).map((e) => e.versionstamp), [v1, v2, v3]);

    // webkv's check passes with Deno's versionstamp, and then Deno's stale one fails
    const entry = await deno.get(["vs", 1]);
    const r = await web.atomic().check(entry).set(["vs", 1], "a2").commit();
    assertStrictEquals(r.ok, true);
    assertEquals(await deno.atomic().check(entry).set(["vs", 1], "lost").commit(), { ok: false });
    assertStrictEquals((await deno.get(["vs", 1])).value, "a2");

    // commitVersionstamp keys written by one are found by the other
    const w = await web.atomic().set(["vsk", web.commitVersionstamp()], "stamped").commit();
    assertStrictEquals((await deno.get(["vsk", w.versionstamp])).value, "stamped");
    const d = await deno.atomic().set(["vsk2", deno.commitVersionstamp()], "stamped2").commit();
    assertStrictEquals((await web.get(["vsk2", d.versionstamp])).value, "stamped2");
  }));

// Keys of every part type, inserted in a scrambled order.
const ORDER_KEYS = [
  ["order", true],
  ["order", "b"],
  ["order", -Infinity],
  ["order", new Uint8Array([2])],
  ["order", 10n],
  ["order", false],
  ["order", "a", "child"],
  ["order", 1.5],
  ["order", -1n],
  ["order", ""],
  ["order", new Uint8Array([])],
  ["order", "a"],
  ["order", -0],
  ["order", 0],
  ["order", Infinity],
  ["order", NaN],
  ["order", "\u0000"],
  ["order", new Uint8Array([1, 0])],
  ["order", 2 ** 60],
  ["order", -(2n ** 70n)],
];

async function listAll(kv, selector, options) {
  const out = [];
  for await (const e of kv.list(selector, options)) out.push([e.key, e.value, e.versionstamp]);
  return out;
}

async function checkListsAgree(deno, web) {
  for (const [selector, options] of [
    [{ prefix: ["order"] }, {}],
    [{ prefix: ["order"] }, { reverse: true }],
    [{ prefix: ["order"] }, { limit: 7, batchSize: 3 }],
    [{ start: ["order", "a"], end: ["order", 0] }, {}],
    [{ prefix: [] }, { batchSize: 4 }],
  ]) {
    const fromDeno = await listAll(deno, selector, options);
    const fromWeb = await listAll(web, selector, options);
    assertEquals(fromWeb, fromDeno, `list ${Deno.inspect(selector)} ${Deno.inspect(options)}`);
  }
  // cursors are interchangeable
  const it = deno.list({ prefix: ["order"] }, { limit: 5 });
  for await (const _ of it) { /* consume */ }
  const rest = await listAll(web, { prefix: ["order"] }, { cursor: it.cursor });
  assertEquals(rest, (await listAll(deno, { prefix: ["order"] })).slice(5), "webkv resumes from Deno's cursor");
}

test("list order agrees (Deno wrote the keys)", () =>
  both(async (deno, web) => {
    for (const [i, k] of ORDER_KEYS.entries()) await deno.set(k, i);
    await checkListsAgree(deno, web);
  }));

test("list order agrees (webkv wrote the keys)", () =>
  both(async (deno, web) => {
    for (const [i, k] of ORDER_KEYS.entries()) await web.set(k, i);
    await checkListsAgree(deno, web);
  }));

test("deletes and expiry by one are seen by the other", () =>
  both(async (deno, web) => {
    await deno.set(["del"], 1);
    await web.delete(["del"]);
    assertStrictEquals((await deno.get(["del"])).versionstamp, null);
    await web.set(["del2"], 2);
    await deno.delete(["del2"]);
    assertStrictEquals((await web.get(["del2"])).versionstamp, null);
    // expireIn travels as an absolute expiry time; both see the entry before it expires
    await web.set(["exp"], "soon", { expireIn: 60_000 });
    assertStrictEquals((await deno.get(["exp"])).value, "soon");
  }));

test("watch sees the other client's commits, both ways", () =>
  both(async (deno, web) => {
    const next = async (reader, what) => (await withTimeout(reader.read(), 5000, what)).value;
    const webReader = web.watch([["w"]]).getReader();
    const denoReader = deno.watch([["w"]]).getReader();
    try {
      assertStrictEquals((await next(webReader, "webkv initial"))[0].versionstamp, null);
      assertStrictEquals((await next(denoReader, "deno initial"))[0].versionstamp, null);
      const fromDeno = await deno.set(["w"], "from deno");
      const seenByWebkv = (await next(webReader, "webkv sees deno's write"))[0];
      assertStrictEquals(seenByWebkv.value, "from deno");
      assertStrictEquals(seenByWebkv.versionstamp, fromDeno.versionstamp);
      assertStrictEquals((await next(denoReader, "deno sees its own write"))[0].value, "from deno");
      const fromWebkv = await web.set(["w"], { by: "webkv" });
      const seenByDeno = (await next(denoReader, "deno sees webkv's write"))[0];
      assertEquals(seenByDeno.value, { by: "webkv" });
      assertStrictEquals(seenByDeno.versionstamp, fromWebkv.versionstamp);
      assertEquals((await next(webReader, "webkv sees its own write"))[0].value, { by: "webkv" });
    } finally {
      await webReader.cancel();
      await denoReader.cancel();
    }
  }));

// Stop our own server (if we started one) once every test has run.
Deno.test({
  name: "[kvconnect interop] (stop the server this file started)",
  ignore: !server.own,
  fn: () => server.stop(),
});
