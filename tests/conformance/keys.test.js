import { KvU64, openKv, TARGET } from "./target.js";
import {
  assert,
  assertEquals,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
} from "./assert.js";

const INVALID_PART = "expected string, number, bigint, ArrayBufferView, boolean";

async function listKeys(kv, selector = { prefix: [] }, options) {
  const out = [];
  for await (const e of kv.list(selector, options)) out.push(e.key);
  return out;
}

Deno.test(`[${TARGET}] keys: every part type round-trips with its type`, async () => {
  const kv = await openKv();
  try {
    const key = ["s", 1.5, 7n, true, false, new Uint8Array([0, 1, 255])];
    await kv.set(key, "v");
    const e = await kv.get(key);
    assertEquals(e.key, key);
    assertStrictEquals(typeof e.key[0], "string");
    assertStrictEquals(typeof e.key[1], "number");
    assertStrictEquals(typeof e.key[2], "bigint");
    assertStrictEquals(typeof e.key[3], "boolean");
    assertStrictEquals(Object.getPrototypeOf(e.key[5]), Uint8Array.prototype);
    assertEquals(e.value, "v");
    const [listed] = await listKeys(kv);
    assertEquals(listed, key);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: cross-type order is bytes < string < bigint < number < false < true`, async () => {
  const kv = await openKv();
  try {
    const parts = [true, "b", 1, false, 2n, new Uint8Array([5]), "a", -1n, 0, new Uint8Array([])];
    for (const p of parts) await kv.set([p], 0);
    assertEquals(await listKeys(kv), [
      [new Uint8Array([])],
      [new Uint8Array([5])],
      ["a"],
      ["b"],
      [-1n],
      [2n],
      [0],
      [1],
      [false],
      [true],
    ]);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: order within each type`, async () => {
  const kv = await openKv();
  try {
    const nums = [1, -1, 0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE,
      Number.MAX_VALUE, -Number.MAX_VALUE, 0.5, 1e-10];
    const bigs = [0n, 1n, -1n, 255n, 256n, -255n, -256n, 2n ** 64n, -(2n ** 64n), 2n ** 200n, -(2n ** 200n)];
    const strs = ["", "a", "aa", "ab", "b", "\u0000", "\u00e9", "\u{1F600}", "Z", "\uffff"];
    const bytes = [[], [0], [0, 0], [1], [0, 255], [255], [1, 0]].map((b) => new Uint8Array(b));
    for (const p of [...nums, ...bigs, ...strs, ...bytes]) await kv.set([p], 0);
    const got = (await listKeys(kv)).map((k) => k[0]);
    assertEquals(got, [
      ...[[], [0], [0, 0], [0, 255], [1], [1, 0], [255]].map((b) => new Uint8Array(b)),
      // strings: UTF-8 byte order
      "", "\u0000", "Z", "a", "aa", "ab", "b", "\u00e9", "\uffff", "\u{1F600}",
      -(2n ** 200n), -(2n ** 64n), -256n, -255n, -1n, 0n, 1n, 255n, 256n, 2n ** 64n, 2n ** 200n,
      -Infinity, -Number.MAX_VALUE, -1, -Number.MIN_VALUE, -0, 0, Number.MIN_VALUE, 1e-10, 0.5, 1,
      Number.MAX_VALUE, Infinity, NaN,
    ]);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: -0 and 0 are distinct keys`, async () => {
  const kv = await openKv();
  try {
    await kv.set([0], "zero");
    assertEquals((await kv.get([-0])).versionstamp, null);
    await kv.set([-0], "negzero");
    const [a, b] = await kv.getMany([[0], [-0]]);
    assertEquals(a.value, "zero");
    assertEquals(b.value, "negzero");
    assertStrictEquals(b.key[0], -0);
    assertStrictEquals(a.key[0], 0);
    const keys = await listKeys(kv);
    assertEquals(keys, [[-0], [0]]);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: NaN and Infinity are usable key parts`, async () => {
  const kv = await openKv();
  try {
    await kv.set([NaN], "nan");
    await kv.set([Infinity], "inf");
    await kv.set([-Infinity], "-inf");
    const e = await kv.get([NaN]);
    assertEquals(e.value, "nan");
    assert(Number.isNaN(e.key[0]));
    assertEquals((await kv.get([0 / 0])).value, "nan");
    assertEquals((await kv.get([Infinity])).value, "inf");
    assertEquals((await kv.get([-Infinity])).value, "-inf");
    assertEquals(await listKeys(kv), [[-Infinity], [Infinity], [NaN]]);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: 1 and 1n are distinct keys`, async () => {
  const kv = await openKv();
  try {
    await kv.set([1], "number");
    assertEquals((await kv.get([1n])).versionstamp, null);
    await kv.set([1n], "bigint");
    const [n, b] = await kv.getMany([[1], [1n]]);
    assertEquals(n.value, "number");
    assertEquals(b.value, "bigint");
    assertStrictEquals(typeof n.key[0], "number");
    assertStrictEquals(typeof b.key[0], "bigint");
    // "1" is yet another key
    assertEquals((await kv.get(["1"])).versionstamp, null);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: a key sorts before its extensions`, async () => {
  const kv = await openKv();
  try {
    for (const k of [["a", "b"], ["a\u0000"], ["a"], ["a", true], ["a", new Uint8Array()], ["a", 1], ["b"], ["a", "b", 1]]) {
      await kv.set(k, 0);
    }
    assertEquals(await listKeys(kv), [
      ["a"],
      ["a", new Uint8Array()],
      ["a", "b"],
      ["a", "b", 1],
      ["a", 1],
      ["a", true],
      ["a\u0000"],
      ["b"],
    ]);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: strings with NUL and bytes with 0x00 are escaped, not truncated`, async () => {
  const kv = await openKv();
  try {
    await kv.set(["a\u0000b"], 1);
    await kv.set(["a"], 2);
    await kv.set([new Uint8Array([0, 0, 1])], 3);
    await kv.set([new Uint8Array([0])], 4);
    assertEquals((await kv.get(["a\u0000b"])).value, 1);
    assertEquals((await kv.get(["a"])).value, 2);
    assertEquals((await kv.get([new Uint8Array([0, 0, 1])])).value, 3);
    assertEquals((await kv.get([new Uint8Array([0])])).value, 4);
    assertEquals((await kv.get([new Uint8Array([0, 0])])).versionstamp, null);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: empty key: set/delete reject, get and getMany give an empty entry`, async () => {
  const kv = await openKv();
  try {
    await assertRejects(() => kv.set([], 1), TypeError, "key cannot be empty");
    await assertRejects(() => kv.delete([]), TypeError, "key cannot be empty");
    await assertRejects(() => kv.atomic().set([], 1).commit(), TypeError, "key cannot be empty");
    await assertRejects(() => kv.atomic().sum([], 1n).commit(), TypeError, "key cannot be empty");
    await assertRejects(
      () => kv.atomic().check({ key: [], versionstamp: null }).commit(),
      TypeError,
      "key cannot be empty",
    );
    assertEquals(await kv.get([]), { key: [], value: null, versionstamp: null });
    assertEquals(await kv.getMany([[]]), [{ key: [], value: null, versionstamp: null }]);
    assertEquals(await listKeys(kv), []);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: invalid key parts are rejected with Deno's TypeError`, async () => {
  const kv = await openKv();
  try {
    const bad = [
      {}, undefined, null, Symbol("x"), [1], new Date(0), new ArrayBuffer(2), () => 1,
      new String("a"), new Number(1), Object(1n), new Map(), /re/,
    ];
    for (const part of bad) {
      const label = typeof part === "symbol" ? "symbol" : Object.prototype.toString.call(part);
      await assertRejects(() => kv.set(["ok", part], 1), TypeError, INVALID_PART, `set ${label}`);
      await assertRejects(() => kv.get([part]), TypeError, INVALID_PART, `get ${label}`);
      await assertRejects(() => kv.delete([part]), TypeError, INVALID_PART, `delete ${label}`);
      await assertRejects(() => kv.getMany([["ok"], [part]]), TypeError, INVALID_PART, `getMany ${label}`);
      await assertRejects(() => kv.list({ prefix: [part] }).next(), TypeError, INVALID_PART, `list ${label}`);
      await assertRejects(
        () => kv.atomic().check({ key: [part], versionstamp: null }).commit(),
        TypeError,
        INVALID_PART,
        `check ${label}`,
      );
      await assertRejects(() => kv.atomic().sum([part], 1n).commit(), TypeError, INVALID_PART, `sum ${label}`);
    }
    assertEquals(await listKeys(kv), [], "nothing written");
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: a key that is not an array is rejected`, async () => {
  const kv = await openKv();
  try {
    await assertRejects(
      () => kv.set("a", 1),
      TypeError,
      "serde_v8 error: invalid type; expected: array, got: string",
    );
    await assertRejects(
      () => kv.get({}),
      TypeError,
      "serde_v8 error: invalid type; expected: array, got: unknown",
    );
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: any ArrayBufferView is a bytes part and comes back as Uint8Array`, async () => {
  const kv = await openKv();
  try {
    await kv.set(["t", new Int8Array([-1, 2])], "i8");
    await kv.set(["t", new Uint16Array([258])], "u16"); // little-endian bytes 02 01
    await kv.set(["t", new DataView(new Uint8Array([7, 7]).buffer)], "dv");
    await kv.set(["t", new Uint8Array([9, 8, 7]).subarray(1)], "sub");
    const entries = [];
    for await (const e of kv.list({ prefix: ["t"] })) entries.push([e.key[1], e.value]);
    assertEquals(entries, [
      [new Uint8Array([2, 1]), "u16"],
      [new Uint8Array([7, 7]), "dv"],
      [new Uint8Array([8, 7]), "sub"],
      [new Uint8Array([255, 2]), "i8"],
    ]);
    assertEquals((await kv.get(["t", new Uint8Array([255, 2])])).value, "i8");
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: returned keys are fresh arrays (and get of a missing key echoes the argument)`, async () => {
  const kv = await openKv();
  try {
    const bytes = new Uint8Array([1, 2]);
    const key = ["a", bytes];
    await kv.set(key, 1);
    const e1 = await kv.get(key);
    const e2 = await kv.get(key);
    assertNotStrictEquals(e1.key, key);
    assertNotStrictEquals(e1.key, e2.key);
    assertNotStrictEquals(e1.key[1], bytes);
    assertEquals(e1.key, ["a", new Uint8Array([1, 2])]);
    // mutating a returned key does not affect the store or later results
    e1.key[1][0] = 99;
    e1.key.push("x");
    assertEquals((await kv.get(key)).key, ["a", new Uint8Array([1, 2])]);
    bytes[0] = 5; // mutating the caller's key after the write does not matter either
    assertEquals((await kv.get(["a", new Uint8Array([1, 2])])).value, 1);
    const [l] = await listKeys(kv);
    assertEquals(l, ["a", new Uint8Array([1, 2])]);
    // Deno quirk: for a missing key, get/getMany return the caller's key array itself.
    const missing = ["missing"];
    assertStrictEquals((await kv.get(missing)).key, missing);
    assertStrictEquals((await kv.getMany([missing]))[0].key, missing);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: lone surrogates in string parts are stored as U+FFFD`, async () => {
  const kv = await openKv();
  try {
    await kv.set(["a\ud800"], 1);
    const e = await kv.get(["a\ud800"]);
    assertEquals(e.value, 1);
    assertStrictEquals(e.key[0], "a\ufffd");
    assertEquals((await kv.get(["a\ufffd"])).value, 1);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: write keys up to 2048 encoded bytes, with exact error past it`, async () => {
  const kv = await openKv();
  try {
    const WRITE = "Key too large for write (max 2048 bytes)";
    // string part: 0x02 + n bytes + 0x00
    const k2048 = ["a".repeat(2046)];
    const k2049 = ["a".repeat(2047)];
    const r = await kv.set(k2048, 1);
    assert(r.ok);
    assertEquals((await kv.get(k2048)).value, 1);
    await assertRejects(() => kv.set(k2049, 1), TypeError, WRITE);
    await assertRejects(() => kv.delete(k2049), TypeError, WRITE);
    await assertRejects(() => kv.atomic().sum(k2049, 1n).commit(), TypeError, WRITE);
    await assertRejects(() => kv.atomic().check({ key: k2049, versionstamp: null }).commit(), TypeError, WRITE);
    await assertRejects(
      () => kv.atomic().mutate({ type: "set", key: k2049, value: 1 }).commit(),
      TypeError,
      WRITE,
    );
    // 0x00 bytes are escaped (0x00 0xFF) and count double: 1 + 2*1023 + 1 = 2048
    assert((await kv.set([new Uint8Array(1023)], 1)).ok);
    await assertRejects(() => kv.set([new Uint8Array(1024)], 1), TypeError, WRITE);
    assert((await kv.set([new Uint8Array(2046).fill(1)], 1)).ok);
    await assertRejects(() => kv.set([new Uint8Array(2047).fill(1)], 1), TypeError, WRITE);
    assertEquals((await kv.list({ prefix: [] }).next()).value.key, [new Uint8Array(1023)]);
    let n = 0;
    for await (const _ of kv.list({ prefix: [] })) n++;
    assertEquals(n, 3, "rejected writes wrote nothing");
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: read key limits (get/getMany 2048, list bounds 2049)`, async () => {
  const kv = await openKv();
  try {
    const READ = "Key too large for read (max 2049 bytes)";
    const k2048 = ["b".repeat(2046)];
    const k2049 = ["b".repeat(2047)];
    const k2050 = ["b".repeat(2048)];
    assertEquals(await kv.get(k2048), { key: k2048, value: null, versionstamp: null });
    // A point read's range end is key + 0x00, so a 2049-byte key is too large already.
    await assertRejects(() => kv.get(k2049), TypeError, READ);
    await assertRejects(() => kv.getMany([["x"], k2049]), TypeError, READ);
    // prefix range starts at prefix + 0x00
    assertEquals((await kv.list({ prefix: k2048 }).next()).done, true);
    await assertRejects(() => kv.list({ prefix: k2049 }).next(), TypeError, READ);
    // start/end are used as-is: 2049 bytes allowed, 2050 not
    assertEquals((await kv.list({ start: k2049, end: ["c"] }).next()).done, true);
    await assertRejects(() => kv.list({ start: k2050, end: ["c"] }).next(), TypeError, READ);
    assertEquals((await kv.list({ start: ["a"], end: k2049 }).next()).done, true);
    await assertRejects(() => kv.list({ start: ["a"], end: k2050 }).next(), TypeError, READ);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: bigint parts up to 255 bytes of magnitude`, async () => {
  const kv = await openKv();
  try {
    const max = 2n ** 2040n - 1n;
    assert((await kv.set([max], "max")).ok);
    assert((await kv.set([-max], "-max")).ok);
    assertEquals((await kv.get([max])).value, "max");
    assertEquals(await listKeys(kv), [[-max], [max]]);
    await assertRejects(
      () => kv.set([2n ** 2040n], 1),
      TypeError,
      "Invalid mutation: BigUint requires more than 255 bytes to be represented",
    );
    await assertRejects(
      () => kv.get([-(2n ** 2040n)]),
      TypeError,
      "BigUint requires more than 255 bytes to be represented",
    );
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: KvU64 is not a valid key part`, async () => {
  const kv = await openKv();
  try {
    await assertRejects(() => kv.set([new KvU64(1n)], 1), TypeError, INVALID_PART);
  } finally {
    kv.close();
  }
});

Deno.test(`[${TARGET}] keys: get and getMany return the key as stored, in a fresh array`, async () => {
  const kv = await openKv();
  try {
    await kv.set(["s", "a\ud800b"], 1);
    await kv.set(["v", new Int8Array([-1, 2])], 2);
    const byString = await kv.get(["s", "a\ud800b"]);
    assertStrictEquals(byString.key[1], "a\ufffdb");
    const view = new Int8Array([-1, 2]);
    const byView = await kv.get(["v", view]);
    assertStrictEquals(Object.getPrototypeOf(byView.key[1]), Uint8Array.prototype);
    assertEquals(byView.key[1], new Uint8Array([255, 2]));
    assert(byView.key[1].buffer !== view.buffer, "the bytes part is a copy");
    const many = await kv.getMany([["s", "a\ud800b"], ["v", new DataView(view.buffer)]]);
    assertStrictEquals(many[0].key[1], "a\ufffdb");
    assertEquals(many[1].key[1], new Uint8Array([255, 2]));
    const key = ["plain", 1, 2n, true];
    await kv.set(key, 3);
    const found = await kv.get(key);
    assert(found.key !== key, "an existing entry's key is a new array");
    assertEquals(found.key, key);
  } finally {
    kv.close();
  }
});
