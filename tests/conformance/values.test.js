import { KvU64, REMOTE, TARGET, openKv, withKv } from "./target.js";
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.js";

// V8 refuses to serialize a Proxy; Node, Deno and Bun let webkv ask V8 whether
// a value is one, browsers do not (docs/security.md).
const SEES_PROXIES = TARGET !== "webkv-idb";

/** A view or ArrayBuffer whose buffer has been transferred away. */
function detached(value) {
  const buffer = value instanceof ArrayBuffer ? value : value.buffer;
  structuredClone(buffer, { transfer: [buffer] });
  return value;
}

async function roundTrip(kv, value) {
  await kv.set(["v"], value);
  const e = await kv.get(["v"]);
  assert(e.versionstamp !== null, "value was stored");
  return e.value;
}

Deno.test(`[${TARGET}] values: primitives round-trip exactly`, () =>
  withKv(async (kv) => {
    const cases = [
      undefined, null, true, false, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity,
      Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, 2 ** 31, -(2 ** 31) - 1, 2 ** 32,
      0n, 1n, -1n, 2n ** 64n, -(2n ** 100n), 2n ** 1000n,
      "", "hello", "\u0000", "h\u00e9llo w\u00f6rld", "\u{1F600}\u{1F680}", "\u4f60\u597d",
    ];
    for (const v of cases) {
      const got = await roundTrip(kv, v);
      assertStrictEquals(got, v, `round-trip ${typeof v} ${String(v)}`);
    }
    assertStrictEquals(await roundTrip(kv, -0), -0);
    assert(Object.is(await roundTrip(kv, -0), -0), "-0 stays -0");
  }));

Deno.test(`[${TARGET}] values: strings (lone surrogates, long, one-byte vs two-byte)`, () =>
  withKv(async (kv) => {
    for (const s of ["a\ud800b", "\udc00", "x\udfff\ud800y", "\u00ff".repeat(1000), "a".repeat(60000), "\u20ac".repeat(20000)]) {
      assertStrictEquals(await roundTrip(kv, s), s);
    }
  }));

Deno.test(`[${TARGET}] values: Date and RegExp`, () =>
  withKv(async (kv) => {
    for (const d of [new Date(0), new Date(1700000000123), new Date(-1), new Date(8.64e15), new Date(NaN)]) {
      const got = await roundTrip(kv, d);
      assertInstanceOf(got, Date);
      assertEquals(got, d);
    }
    for (const re of [/a.b/, /x/gimsuy, /\d+\/(?<n>[a-z])/g, /a/dv, new RegExp("", "")]) {
      const got = await roundTrip(kv, re);
      assertInstanceOf(got, RegExp);
      assertStrictEquals(got.source, re.source);
      assertStrictEquals(got.flags, re.flags);
      assertStrictEquals(got.lastIndex, 0);
    }
    const re = /a/g;
    re.lastIndex = 3;
    assertStrictEquals((await roundTrip(kv, re)).lastIndex, 0, "lastIndex is not preserved");
  }));

Deno.test(`[${TARGET}] values: every typed array kind, nested and top-level`, () =>
  withKv(async (kv) => {
    const kinds = [
      new Int8Array([-128, 0, 127]),
      new Uint8Array([0, 1, 255]),
      new Uint8ClampedArray([0, 128, 255]),
      new Int16Array([-32768, 32767]),
      new Uint16Array([0, 65535]),
      new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
      new Uint32Array([0, 2 ** 32 - 1]),
      new Float32Array([1.5, -0, NaN, Infinity]),
      new Float64Array([Math.PI, -0, NaN, -Infinity]),
      new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
    ];
    if (typeof Float16Array === "function") kinds.push(new Float16Array([1.5, -2, -0]));
    for (const ta of kinds) {
      const top = await roundTrip(kv, ta);
      assertStrictEquals(Object.getPrototypeOf(top), Object.getPrototypeOf(ta), ta.constructor.name);
      assertEquals(top, ta);
      const nested = (await roundTrip(kv, { ta }))?.ta;
      assertStrictEquals(Object.getPrototypeOf(nested), Object.getPrototypeOf(ta), ta.constructor.name);
      assertEquals(nested, ta);
    }
    const empty = await roundTrip(kv, new Float64Array(0));
    assertInstanceOf(empty, Float64Array);
    assertStrictEquals(empty.length, 0);
  }));

Deno.test(`[${TARGET}] values: top-level Uint8Array comes back as an exact Uint8Array`, () =>
  withKv(async (kv) => {
    const got = await roundTrip(kv, new Uint8Array([1, 2, 3]));
    assertStrictEquals(Object.getPrototypeOf(got), Uint8Array.prototype);
    assertEquals(got, new Uint8Array([1, 2, 3]));
    // A subarray is stored as just its bytes.
    const sub = await roundTrip(kv, new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 3));
    assertEquals(sub, new Uint8Array([2, 3]));
    assertStrictEquals(sub.byteOffset, 0);
    assertStrictEquals(sub.buffer.byteLength, 2);
    // A Uint8Array subclass is stored as plain bytes too.
    class Bytes extends Uint8Array {}
    const sc = await roundTrip(kv, new Bytes([7]));
    assertStrictEquals(Object.getPrototypeOf(sc), Uint8Array.prototype);
    assertEquals(sc, new Uint8Array([7]));
    const empty = await roundTrip(kv, new Uint8Array(0));
    assertEquals(empty, new Uint8Array(0));
  }));

Deno.test(`[${TARGET}] values: nested views keep their whole buffer and offsets`, () =>
  withKv(async (kv) => {
    const buf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;
    const v = {
      u8: new Uint8Array(buf, 1, 2),
      u16: new Uint16Array(buf, 2, 2),
      dv: new DataView(buf, 2, 4),
    };
    const got = await roundTrip(kv, v);
    assertEquals(got.u8, new Uint8Array([2, 3]));
    assertStrictEquals(got.u8.byteOffset, 1);
    assertStrictEquals(got.u8.buffer.byteLength, 8);
    assertStrictEquals(got.u16.byteOffset, 2);
    assertEquals(got.u16, new Uint16Array(buf, 2, 2));
    assertInstanceOf(got.dv, DataView);
    assertStrictEquals(got.dv.byteOffset, 2);
    assertStrictEquals(got.dv.byteLength, 4);
    assertStrictEquals(got.dv.getUint8(0), 3);
    assert(got.u8.buffer === got.u16.buffer && got.u16.buffer === got.dv.buffer, "views share one buffer");
  }));

Deno.test(`[${TARGET}] values: ArrayBuffer and DataView top-level`, () =>
  withKv(async (kv) => {
    const ab = await roundTrip(kv, new Uint8Array([1, 2, 3]).buffer);
    assertStrictEquals(Object.getPrototypeOf(ab), ArrayBuffer.prototype);
    assertEquals(new Uint8Array(ab), new Uint8Array([1, 2, 3]));
    const dv = await roundTrip(kv, new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    assertInstanceOf(dv, DataView);
    assertStrictEquals(dv.byteOffset, 1);
    assertStrictEquals(dv.byteLength, 2);
    assertStrictEquals(dv.getUint8(0), 8);
    assertEquals(new Uint8Array(dv.buffer), new Uint8Array([9, 8, 7, 6]));
    const rab = await roundTrip(kv, new ArrayBuffer(2, { maxByteLength: 8 }));
    assertStrictEquals(rab.resizable, true);
    assertStrictEquals(rab.maxByteLength, 8);
    assertStrictEquals(rab.byteLength, 2);
  }));

Deno.test(`[${TARGET}] values: dense, sparse and decorated arrays`, () =>
  withKv(async (kv) => {
    assertEquals(await roundTrip(kv, []), []);
    assertEquals(await roundTrip(kv, [1, "a", null, undefined, [2, [3]]]), [1, "a", null, undefined, [2, [3]]]);
    const sparse = await roundTrip(kv, [1, , 3]); // eslint-disable-line no-sparse-arrays
    assertStrictEquals(sparse.length, 3);
    assertFalse(1 in sparse, "hole stays a hole");
    assertEquals(Object.keys(sparse), ["0", "2"]);
    const verySparse = [];
    verySparse[100000] = "x";
    const vs = await roundTrip(kv, verySparse);
    assertStrictEquals(vs.length, 100001);
    assertEquals(Object.keys(vs), ["100000"]);
    const decorated = [1, 2];
    decorated.foo = "bar";
    decorated[-1] = "neg";
    const d = await roundTrip(kv, decorated);
    assert(Array.isArray(d));
    assertStrictEquals(d.foo, "bar");
    assertStrictEquals(d[-1], "neg");
    assertEquals(d, decorated);
  }));

Deno.test(`[${TARGET}] values: objects (nested, null prototype, class instances, accessors, symbol keys)`, () =>
  withKv(async (kv) => {
    const nested = { a: 1, b: { c: [1, { d: "e" }], f: null }, "": "empty", 1: "one", "\u00e9": true };
    assertEquals(await roundTrip(kv, nested), nested);
    assertEquals(Object.keys(await roundTrip(kv, { b: 1, a: 2, 10: 3, 2: 4 })), ["2", "10", "b", "a"]);
    const np = Object.create(null);
    np.x = 1;
    const gotNp = await roundTrip(kv, np);
    assertStrictEquals(Object.getPrototypeOf(gotNp), Object.prototype);
    assertEquals(gotNp, { x: 1 });
    class Point {
      x = 1;
      y = 2;
      get sum() {
        return this.x + this.y;
      }
    }
    const p = await roundTrip(kv, new Point());
    assertStrictEquals(Object.getPrototypeOf(p), Object.prototype);
    assertEquals(p, { x: 1, y: 2 });
    let calls = 0;
    const acc = await roundTrip(kv, {
      get g() {
        calls++;
        return 7;
      },
    });
    assertEquals(acc, { g: 7 });
    assertStrictEquals(calls, 1);
    assertEquals(await roundTrip(kv, { [Symbol("s")]: 1, a: 2 }), { a: 2 });
    const nonEnum = Object.defineProperty({ a: 1 }, "hidden", { value: 2, enumerable: false });
    assertEquals(await roundTrip(kv, nonEnum), { a: 1 });
  }));

Deno.test(`[${TARGET}] values: Map and Set keep entries, order and object keys`, () =>
  withKv(async (kv) => {
    const objKey = { k: 1 };
    const m = new Map([["b", 1], [1, "num"], [1n, "big"], [objKey, [objKey]], [NaN, -0]]);
    const gotM = await roundTrip(kv, m);
    assertInstanceOf(gotM, Map);
    assertEquals(gotM, m);
    const [, , , [k, v]] = gotM;
    assertStrictEquals(v[0], k, "shared reference inside Map preserved");
    const s = new Set(["z", 1, 1n, -0, { a: 1 }, new Set([2])]);
    const gotS = await roundTrip(kv, s);
    assertInstanceOf(gotS, Set);
    assertEquals(gotS, s);
    assertEquals(await roundTrip(kv, new Map()), new Map());
    assertEquals(await roundTrip(kv, new Set()), new Set());
  }));

Deno.test(`[${TARGET}] values: Error types keep class, message and cause`, () =>
  withKv(async (kv) => {
    for (const C of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]) {
      const got = await roundTrip(kv, new C("boom"));
      assertStrictEquals(Object.getPrototypeOf(got), C.prototype, C.name);
      assertStrictEquals(got.name, C.name);
      assertStrictEquals(got.message, "boom");
      assertStrictEquals(typeof got.stack, "string");
    }
    const withCause = await roundTrip(kv, new TypeError("outer", { cause: new RangeError("inner") }));
    assertInstanceOf(withCause, TypeError);
    assertStrictEquals(withCause.message, "outer");
    assertInstanceOf(withCause.cause, RangeError);
    assertStrictEquals(withCause.cause.message, "inner");
    assertStrictEquals((await roundTrip(kv, new Error("x", { cause: 42 }))).cause, 42);
    assertFalse(Object.hasOwn(await roundTrip(kv, new Error("x")), "cause"), "no cause when none given");
    const noMsg = await roundTrip(kv, new Error());
    assertStrictEquals(noMsg.message, "");
    assertFalse(Object.hasOwn(noMsg, "message"), "empty message is not an own property");
    // Unknown error subclasses and names degrade to Error; extra properties are dropped.
    class MyError extends Error {
      constructor(m) {
        super(m);
        this.name = "MyError";
        this.extra = 1;
      }
    }
    const mine = await roundTrip(kv, new MyError("mine"));
    assertStrictEquals(Object.getPrototypeOf(mine), Error.prototype);
    assertStrictEquals(mine.name, "Error");
    assertStrictEquals(mine.message, "mine");
    assertStrictEquals(mine.extra, undefined);
    const agg = await roundTrip(kv, new AggregateError([1], "agg"));
    assertStrictEquals(Object.getPrototypeOf(agg), Error.prototype);
    assertStrictEquals(agg.message, "agg");
    assertStrictEquals(agg.errors, undefined);
  }));

Deno.test(`[${TARGET}] values: cycles and shared references`, () =>
  withKv(async (kv) => {
    const o = { n: 1 };
    o.self = o;
    o.list = [o, o];
    const got = await roundTrip(kv, o);
    assertStrictEquals(got.self, got);
    assertStrictEquals(got.list[0], got);
    assertStrictEquals(got.list[1], got);
    const shared = { x: 1 };
    const s = await roundTrip(kv, { a: shared, b: shared, c: [shared], m: new Map([[shared, shared]]) });
    assertStrictEquals(s.a, s.b);
    assertStrictEquals(s.c[0], s.a);
    assertStrictEquals([...s.m.keys()][0], s.a);
    const arr = [];
    arr.push(arr);
    const ga = await roundTrip(kv, arr);
    assertStrictEquals(ga[0], ga);
    const m = new Map();
    m.set("me", m);
    const gm = await roundTrip(kv, m);
    assertStrictEquals(gm.get("me"), gm);
  }));

Deno.test(`[${TARGET}] values: Boolean, Number, String and BigInt objects`, () =>
  withKv(async (kv) => {
    const boxed = [new Boolean(false), new Boolean(true), new Number(-0), new Number(NaN), new String("s\u00e9"), Object(5n)];
    const got = await roundTrip(kv, boxed);
    for (let i = 0; i < boxed.length; i++) {
      assertStrictEquals(typeof got[i], "object");
      assertStrictEquals(Object.getPrototypeOf(got[i]), Object.getPrototypeOf(boxed[i]));
      assertStrictEquals(got[i].valueOf(), boxed[i].valueOf());
    }
    assertEquals(got, boxed);
  }));

Deno.test(`[${TARGET}] values: KvU64 top-level comes back as KvU64, nested as a plain { value }`, () =>
  withKv(async (kv) => {
    const top = await roundTrip(kv, new KvU64(5n));
    assertInstanceOf(top, KvU64);
    assertStrictEquals(top.value, 5n);
    assert(Object.isFrozen(top), "KvU64 is frozen");
    const max = await roundTrip(kv, new KvU64(2n ** 64n - 1n));
    assertInstanceOf(max, KvU64);
    assertStrictEquals(max.value, 2n ** 64n - 1n);
    const nested = await roundTrip(kv, { a: new KvU64(7n), b: [new KvU64(8n)] });
    assertFalse(nested.a instanceof KvU64, "nested KvU64 loses its class");
    assertStrictEquals(Object.getPrototypeOf(nested.a), Object.prototype);
    assertEquals(nested, { a: { value: 7n }, b: [{ value: 8n }] });
    assertFalse(Object.isFrozen(nested.a));
  }));

Deno.test(`[${TARGET}] values: KvU64 basics`, () => {
  const v = new KvU64(42n);
  assertStrictEquals(v.value, 42n);
  assertStrictEquals(v.valueOf(), 42n);
  assertStrictEquals(v.toString(), "42");
  assertStrictEquals(String(v), "42");
  assertStrictEquals(v + 1n, 43n);
  assertStrictEquals(Object.prototype.toString.call(v), "[object Deno.KvU64]");
  assertEquals(Object.keys(v), ["value"]);
  assert(Object.isFrozen(v));
  let threw = false;
  try {
    "use strict";
    v.value = 1n;
  } catch {
    threw = true;
  }
  assert(threw || v.value === 42n, "value cannot be changed");
  assertStrictEquals(v.value, 42n);
  assertStrictEquals(new KvU64(0n).value, 0n);
  assertStrictEquals(new KvU64(2n ** 64n - 1n).value, 18446744073709551615n);
});

Deno.test(`[${TARGET}] values: unclonable values reject with V8's message and write nothing`, () =>
  withKv(async (kv) => {
    const cases = [
      [() => 1, TypeError, "() => 1 could not be cloned."],
      [{ a: 1, f() {} }, TypeError, "f() {} could not be cloned."],
      [[1, function named() {}], TypeError, "function named() {} could not be cloned."],
      [Symbol("x"), TypeError, "Symbol(x) could not be cloned."],
      [{ s: Symbol.iterator }, TypeError, "Symbol(Symbol.iterator) could not be cloned."],
      [Object(Symbol("x")), TypeError, "[object Symbol] could not be cloned."],
      [new WeakMap(), TypeError, "#<WeakMap> could not be cloned."],
      [new WeakSet(), TypeError, "#<WeakSet> could not be cloned."],
      [new WeakRef({}), TypeError, "#<WeakRef> could not be cloned."],
      [Promise.resolve(1), TypeError, "#<Promise> could not be cloned."],
      [new Map([[1, () => 2]]), TypeError, "() => 2 could not be cloned."],
      [new Set([new WeakSet()]), TypeError, "#<WeakSet> could not be cloned."],
      [new SharedArrayBuffer(4), Error, "#<SharedArrayBuffer> could not be cloned."],
    ];
    if (SEES_PROXIES) {
      cases.push(
        [new Proxy({ a: 1 }, {}), TypeError, "#<Object> could not be cloned."],
        [new Proxy([1], {}), TypeError, "[object Array] could not be cloned."],
        [{ nested: [new Proxy({}, {})] }, TypeError, "#<Object> could not be cloned."],
      );
    } else {
      // A browser gives JS no way to tell a Proxy from its target, so webkv
      // stores what the proxy shows there (documented in the README).
      assert((await kv.set(["proxy"], new Proxy({ a: 1 }, {}))).ok);
      assertEquals((await kv.get(["proxy"])).value, { a: 1 });
      await kv.delete(["proxy"]);
    }
    for (const [value, C, msg] of cases) {
      await assertRejects(() => kv.set(["bad"], value), C, msg);
      // AtomicOperation serializes eagerly, so these throw synchronously.
      assertThrows(() => kv.atomic().set(["bad"], value), C, msg);
      assertThrows(() => kv.atomic().mutate({ type: "set", key: ["bad"], value }), C, msg);
    }
    assertEquals(await kv.get(["bad"]), { key: ["bad"], value: null, versionstamp: null });
  }));

Deno.test(`[${TARGET}] values: views on detached buffers: a top-level Uint8Array is empty bytes, anything else is refused`, () =>
  withKv(async (kv) => {
    await kv.set(["top"], detached(new Uint8Array([1, 2, 3])));
    await kv.atomic().set(["atomic"], detached(new Uint8Array(8))).commit();
    for (const key of [["top"], ["atomic"]]) {
      const { value } = await kv.get(key);
      assertInstanceOf(value, Uint8Array);
      assertEquals(value.length, 0);
    }
    const message = "An ArrayBuffer is detached and could not be cloned.";
    for (const value of [{ bytes: detached(new Uint8Array(4)) }, detached(new Uint16Array(2)), detached(new ArrayBuffer(4))]) {
      await assertRejects(() => kv.set(["bad"], value), TypeError, message);
      assertThrows(() => kv.atomic().set(["bad"], value), TypeError, message);
      if (!REMOTE) await assertRejects(() => kv.enqueue(value), TypeError, message);
    }
    assertEquals((await kv.get(["bad"])).versionstamp, null);
  }));

Deno.test(`[${TARGET}] values: an unclonable value in an atomic throws synchronously and nothing is written`, () =>
  withKv(async (kv) => {
    // AtomicOperation.set serializes eagerly: the error is thrown by set(), not by commit().
    const op = kv.atomic().set(["a"], 1);
    let err;
    try {
      op.set(["b"], () => 1);
    } catch (e) {
      err = e;
    }
    assertInstanceOf(err, TypeError);
    assertStrictEquals(err.message, "() => 1 could not be cloned.");
    assertEquals((await kv.get(["a"])).versionstamp, null);
  }));

Deno.test(`[${TARGET}] values: value size limit is 65536 serialized bytes`, () =>
  withKv(async (kv) => {
    const MSG = "Value too large (max 65536 bytes)";
    assert((await kv.set(["u8"], new Uint8Array(65536))).ok, "raw bytes: exactly 65536");
    await assertRejects(() => kv.set(["u8"], new Uint8Array(65537)), TypeError, MSG);
    // V8 format: 2-byte header + tag + 3-byte varint length + n one-byte chars.
    assert((await kv.set(["s"], "a".repeat(65530))).ok);
    await assertRejects(() => kv.set(["s"], "a".repeat(65531)), TypeError, MSG);
    await assertRejects(() => kv.atomic().set(["s2"], "a".repeat(70000)).commit(), TypeError, MSG);
    await assertRejects(
      () => kv.atomic().mutate({ type: "set", key: ["s3"], value: { big: "x".repeat(70000) } }).commit(),
      TypeError,
      MSG,
    );
    assertEquals((await kv.get(["s"])).value.length, 65530);
    assertEquals((await kv.get(["s2"])).versionstamp, null);
    assertEquals((await kv.get(["s3"])).versionstamp, null);
  }));

Deno.test(`[${TARGET}] values: get returns a fresh copy every time`, () =>
  withKv(async (kv) => {
    const input = { a: [1], m: new Map([["k", 1]]), d: new Date(5), u: new Uint8Array([1]) };
    await kv.set(["v"], input);
    input.a.push(99); // mutating the input after set does not change the stored value
    const r1 = (await kv.get(["v"])).value;
    r1.a.push(2);
    r1.m.set("k", 2);
    r1.d.setTime(6);
    r1.u[0] = 9;
    const r2 = (await kv.get(["v"])).value;
    assertNotStrictEquals(r1, r2);
    assertEquals(r2, { a: [1], m: new Map([["k", 1]]), d: new Date(5), u: new Uint8Array([1]) });
    await kv.set(["b"], new Uint8Array([1, 2]));
    const b1 = (await kv.get(["b"])).value;
    b1[0] = 7;
    assertEquals((await kv.get(["b"])).value, new Uint8Array([1, 2]));
    const [m1] = await kv.getMany([["v"]]);
    const [m2] = await kv.getMany([["v"]]);
    assertNotStrictEquals(m1.value, m2.value);
  }));

Deno.test(`[${TARGET}] values: a getter that sets while its value is serialized, and sets of values big and small in turn`, () =>
  withKv(async (kv) => {
    let innerSet;
    const outer = {
      first: "outer ".repeat(50),
      get middle() {
        innerSet = kv.set(["inner"], { inner: "inner ".repeat(40) });
        return 2;
      },
      last: [3, "after the getter"],
    };
    await kv.set(["outer"], outer);
    await innerSet;
    assertEquals((await kv.get(["outer"])).value, { first: "outer ".repeat(50), middle: 2, last: [3, "after the getter"] });
    assertEquals((await kv.get(["inner"])).value, { inner: "inner ".repeat(40) });

    const big = "b".repeat(60000);
    for (const [i, value] of [big, "small", big, { n: 1 }, "x"].entries()) {
      await kv.set(["turn", i], value);
    }
    const turns = [];
    for await (const entry of kv.list({ prefix: ["turn"] })) turns.push(entry.value);
    assertEquals(turns, [big, "small", big, { n: 1 }, "x"]);
    await assertRejects(() => kv.set(["bad"], { f() {} }), TypeError);
    await kv.set(["after failure"], { ok: true });
    assertEquals((await kv.get(["after failure"])).value, { ok: true });
  }));

Deno.test(`[${TARGET}] values: entries have exactly key, value, versionstamp`, () =>
  withKv(async (kv) => {
    await kv.set(["k"], 1);
    const e = await kv.get(["k"]);
    assertEquals(Object.keys(e), ["key", "value", "versionstamp"]);
    const missing = await kv.get(["nope"]);
    assertEquals(Object.keys(missing), ["key", "value", "versionstamp"]);
    const { value } = await kv.list({ prefix: [] }).next();
    assertEquals(Object.keys(value), ["key", "value", "versionstamp"]);
  }));

Deno.test(`[${TARGET}] values: KvU64 prints as Deno prints it`, () => {
  assertStrictEquals(Deno.inspect(new KvU64(15n)), "[Deno.KvU64: 15n]");
  assertStrictEquals(Deno.inspect({ a: new KvU64(1n) }), "{ a: [Deno.KvU64: 1n] }");
  assertStrictEquals(String(new KvU64(3n)), "3");
});
