import { KvU64, TARGET, openKv, withKv } from "./target.js";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.js";

const VS = /^[0-9a-f]{20}$/;
const INVALID_PART = "expected string, number, bigint, ArrayBufferView, boolean";

Deno.test(`[${TARGET}] versionstamps: set returns { ok: true, versionstamp } with 20 lowercase hex chars`, () =>
  withKv(async (kv) => {
    const r = await kv.set(["a"], 1);
    assertEquals(Object.keys(r), ["ok", "versionstamp"]);
    assertStrictEquals(r.ok, true);
    assertMatch(r.versionstamp, VS);
    assertStrictEquals((await kv.get(["a"])).versionstamp, r.versionstamp);
    const c = await kv.atomic().set(["b"], 1).commit();
    assertEquals(Object.keys(c), ["ok", "versionstamp"]);
    assertMatch(c.versionstamp, VS);
  }));

Deno.test(`[${TARGET}] versionstamps: strictly increasing across commits of every kind`, () =>
  withKv(async (kv) => {
    const stamps = [];
    stamps.push((await kv.set(["a"], 1)).versionstamp);
    stamps.push((await kv.set(["a"], 1)).versionstamp); // same value still gets a new stamp
    stamps.push((await kv.atomic().sum(["n"], 1n).commit()).versionstamp);
    await kv.delete(["a"]);
    stamps.push((await kv.atomic().delete(["zz"]).commit()).versionstamp);
    stamps.push((await kv.atomic().commit()).versionstamp); // empty commit
    stamps.push((await kv.atomic().check({ key: ["x"], versionstamp: null }).commit()).versionstamp);
    stamps.push((await kv.set(["b"], 2)).versionstamp);
    for (const s of stamps) assertMatch(s, VS);
    for (let i = 1; i < stamps.length; i++) {
      assert(stamps[i - 1] < stamps[i], `${stamps[i - 1]} < ${stamps[i]}`);
    }
    assertStrictEquals((await kv.get(["b"])).versionstamp, stamps.at(-1));
  }));

Deno.test(`[${TARGET}] versionstamps: a failed check does not disturb ordering`, () =>
  withKv(async (kv) => {
    const a = (await kv.set(["a"], 1)).versionstamp;
    const failed = await kv.atomic().check({ key: ["a"], versionstamp: null }).set(["a"], 2).commit();
    assertEquals(failed, { ok: false });
    assertStrictEquals((await kv.get(["a"])).versionstamp, a);
    const b = (await kv.set(["a"], 3)).versionstamp;
    assert(a < b);
  }));

Deno.test(`[${TARGET}] versionstamps: shared by every mutation of one commit`, () =>
  withKv(async (kv) => {
    const r = await kv.atomic()
      .set(["a"], 1)
      .set(["b"], new Uint8Array([1]))
      .sum(["c"], 1n)
      .min(["d"], 2n)
      .max(["e"], 3n)
      .mutate({ type: "set", key: ["f"], value: "x" })
      .commit();
    const entries = await kv.getMany([["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]);
    for (const e of entries) assertStrictEquals(e.versionstamp, r.versionstamp, String(e.key));
    const listed = [];
    for await (const e of kv.list({ prefix: [] })) listed.push(e.versionstamp);
    assertEquals(listed, Array(6).fill(r.versionstamp));
  }));

Deno.test(`[${TARGET}] versionstamps: null for missing and deleted keys`, () =>
  withKv(async (kv) => {
    assertEquals(await kv.get(["nope"]), { key: ["nope"], value: null, versionstamp: null });
    await kv.set(["a"], 1);
    await kv.delete(["a"]);
    assertEquals(await kv.get(["a"]), { key: ["a"], value: null, versionstamp: null });
    assertEquals(await kv.getMany([["a"], ["b"]]), [
      { key: ["a"], value: null, versionstamp: null },
      { key: ["b"], value: null, versionstamp: null },
    ]);
    // delete resolves to undefined, also for missing keys
    assertStrictEquals(await kv.delete(["never"]), undefined);
  }));

Deno.test(`[${TARGET}] commitVersionstamp: returns the same symbol every time`, async () => {
  const kv = await openKv();
  const kv2 = await openKv();
  try {
    const s = kv.commitVersionstamp();
    assertStrictEquals(typeof s, "symbol");
    assertStrictEquals(s.description, "KvCommitVersionstamp");
    assertStrictEquals(kv.commitVersionstamp(), s);
    assertStrictEquals(kv2.commitVersionstamp(), s);
    assert(Symbol.for("KvCommitVersionstamp") !== s, "not a registered symbol");
  } finally {
    kv.close();
    kv2.close();
  }
});

Deno.test(`[${TARGET}] commitVersionstamp: replaced by the commit versionstamp as a string part`, () =>
  withKv(async (kv) => {
    const vs = kv.commitVersionstamp();
    const r = await kv.set(["log", vs], "first");
    assertMatch(r.versionstamp, VS);
    const e = await kv.get(["log", r.versionstamp]);
    assertEquals(e, { key: ["log", r.versionstamp], value: "first", versionstamp: r.versionstamp });
    assertStrictEquals(typeof e.key[1], "string");
    const r2 = await kv.atomic().set(["log", vs], "second", { expireIn: 60_000 }).commit();
    const r3 = await kv.atomic().mutate({ type: "set", key: ["log", vs], value: "third" }).commit();
    const listed = [];
    for await (const x of kv.list({ prefix: ["log"] })) listed.push([x.key, x.value]);
    assertEquals(listed, [
      [["log", r.versionstamp], "first"],
      [["log", r2.versionstamp], "second"],
      [["log", r3.versionstamp], "third"],
    ]);
  }));

Deno.test(`[${TARGET}] commitVersionstamp: several keys in one commit share the stamp; same key twice keeps the last`, () =>
  withKv(async (kv) => {
    const vs = kv.commitVersionstamp();
    const r = await kv.atomic().set(["p", 1, vs], "a").set(["p", 2, vs], "b").set(["q", vs], 1).set(["q", vs], 2).commit();
    const listed = [];
    for await (const x of kv.list({ prefix: [] })) listed.push([x.key, x.value, x.versionstamp]);
    assertEquals(listed, [
      [["p", 1, r.versionstamp], "a", r.versionstamp],
      [["p", 2, r.versionstamp], "b", r.versionstamp],
      [["q", r.versionstamp], 2, r.versionstamp],
    ]);
  }));

Deno.test(`[${TARGET}] commitVersionstamp: misuse is rejected`, () =>
  withKv(async (kv) => {
    const vs = kv.commitVersionstamp();
    // Anywhere other than the last part of a set key it is just an invalid key part.
    await assertRejects(() => kv.set([vs, "a"], 1), TypeError, INVALID_PART);
    await assertRejects(() => kv.set(["a", vs, "b"], 1), TypeError, INVALID_PART);
    await assertRejects(() => kv.get(["a", vs]), TypeError, INVALID_PART);
    await assertRejects(() => kv.getMany([["a", vs]]), TypeError, INVALID_PART);
    await assertRejects(() => kv.delete(["a", vs]), TypeError, INVALID_PART);
    await assertRejects(() => kv.list({ prefix: ["a", vs] }).next(), TypeError, INVALID_PART);
    await assertRejects(() => kv.atomic().delete(["a", vs]).commit(), TypeError, INVALID_PART);
    await assertRejects(() => kv.atomic().sum(["a", vs], 1n).commit(), TypeError, INVALID_PART);
    await assertRejects(() => kv.atomic().min(["a", vs], 1n).commit(), TypeError, INVALID_PART);
    await assertRejects(
      () => kv.atomic().mutate({ type: "max", key: ["a", vs], value: new KvU64(1n) }).commit(),
      TypeError,
      INVALID_PART,
    );
    await assertRejects(
      () => kv.atomic().check({ key: ["a", vs], versionstamp: null }).commit(),
      TypeError,
      INVALID_PART,
    );
    // As the only part, the remaining key is empty.
    await assertRejects(() => kv.set([vs], 1), TypeError, "key cannot be empty");
    // Symbol.for lookalikes are not the versionstamp marker.
    await assertRejects(() => kv.set(["a", Symbol("KvCommitVersionstamp")], 1), TypeError, INVALID_PART);
    const all = [];
    for await (const e of kv.list({ prefix: [] })) all.push(e);
    assertEquals(all, [], "nothing was written");
  }));

Deno.test(`[${TARGET}] commitVersionstamp: the size limit applies to the key without the stamp`, () =>
  withKv(async (kv) => {
    const vs = kv.commitVersionstamp();
    // 2048-byte prefix + 22-byte stamp part is accepted...
    const r = await kv.set(["a".repeat(2046), vs], 1);
    assert(r.ok);
    const [e] = await Array.fromAsync(kv.list({ prefix: ["a".repeat(2046)] }));
    assertEquals(e.key[1], r.versionstamp);
    // ...a 2049-byte prefix is not.
    await assertRejects(
      () => kv.set(["a".repeat(2047), vs], 1),
      TypeError,
      "Key too large for write (max 2048 bytes)",
    );
  }));

Deno.test(`[${TARGET}] versionstamps: AtomicOperation is not a thenable`, () =>
  withKv((kv) => {
    const op = kv.atomic();
    assertThrows(
      () => op.then(),
      TypeError,
      "'Deno.AtomicOperation' is not a promise: did you forget to call 'commit()'",
    );
  }));
