// Self-test of assert.js: the suite is only as strict as its equality helper.
import { TARGET } from "./target.js";
import {
  AssertionError,
  assertEquals,
  assertRejects,
  assertThrows,
  equal,
} from "./assert.js";

function mustFail(fn, label) {
  let failed = false;
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AssertionError)) throw e;
    failed = true;
  }
  if (!failed) throw new Error(`assertion should have failed: ${label}`);
}

Deno.test(`[${TARGET}] assert.js: equal() distinguishes what structured clone preserves`, () => {
  const different = [
    [0, -0], [NaN, 0], [1, 1n], [1, "1"], [null, undefined], [[1, , 3], [1, undefined, 3]], // eslint-disable-line no-sparse-arrays
    [[1], [1, 2]], [Object.assign([1], { x: 1 }), [1]], [{ a: 1 }, { a: 1, b: undefined }],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }],
    [new Date(1), new Date(2)], [new Date(NaN), new Date(0)], [/a/g, /a/i], [/a/, /b/],
    [new Uint8Array([1]), new Int8Array([1])], [new Uint8Array([1]), new Uint8Array([2])],
    [new Float64Array([-0]), new Float64Array([0])], [new Uint8Array([1]).buffer, new Uint8Array([2]).buffer],
    [new ArrayBuffer(1, { maxByteLength: 2 }), new ArrayBuffer(1)],
    [new DataView(new ArrayBuffer(1)), new DataView(new ArrayBuffer(2))],
    [new Map([[1, 2]]), new Map([[1, 3]])], [new Map([[1, 2], [3, 4]]), new Map([[3, 4], [1, 2]])],
    [new Set([1]), new Set([2])], [new Set([1, 2]), new Set([2, 1])],
    [new Error("a"), new Error("b")], [new Error("a"), new TypeError("a")],
    [new Error("a", { cause: 1 }), new Error("a")], [new Error("a", { cause: 1 }), new Error("a", { cause: 2 })],
    [new Boolean(true), new Boolean(false)], [new Number(-0), new Number(0)], [new String("a"), "a"],
    [Object(1n), Object(2n)], [{ value: 1n }, Object.freeze(new (class KvU64Like { value = 1n })())],
    [Object.create(null), {}], [[new Uint8Array([1])], [[1]]],
  ];
  for (const [a, b] of different) {
    if (equal(a, b) || equal(b, a)) throw new Error(`should differ: ${Deno.inspect(a)} vs ${Deno.inspect(b)}`);
  }
  // cycle vs. non-cycle
  const c1 = {};
  c1.self = c1;
  const c2 = { self: { self: {} } };
  if (equal(c1, c2)) throw new Error("cycle should differ from finite nesting");
  // shared vs. not shared
  const s = { x: 1 };
  if (equal({ a: s, b: s }, { a: { x: 1 }, b: { x: 1 } })) throw new Error("sharing should matter");

  const same = [
    [NaN, NaN], [-0, -0], [2n ** 70n, 2n ** 70n], [[1, , 3], [1, , 3]], // eslint-disable-line no-sparse-arrays
    [new Map([[{ k: 1 }, new Set([1])]]), new Map([[{ k: 1 }, new Set([1])]])],
    [new Date(NaN), new Date(NaN)], [/a/gi, /a/gi], [new Float32Array([NaN]), new Float32Array([NaN])],
    [new TypeError("m", { cause: [1] }), new TypeError("m", { cause: [1] })], [new String("ab"), new String("ab")],
  ];
  for (const [a, b] of same) {
    assertEquals(a, b);
  }
  const d1 = {};
  d1.self = d1;
  const d2 = {};
  d2.self = d2;
  assertEquals(d1, d2);
  mustFail(() => assertEquals([0], [-0]), "-0");
});

Deno.test(`[${TARGET}] assert.js: assertThrows/assertRejects check class, message and sync vs async`, async () => {
  mustFail(() => assertThrows(() => {}), "no throw");
  mustFail(() => assertThrows(() => { throw new Error("x"); }, TypeError, "x"), "wrong class");
  mustFail(() => assertThrows(() => { throw new TypeError("x"); }, Error, "x"), "subclass is not exact");
  mustFail(() => assertThrows(() => { throw new TypeError("x"); }, TypeError, "y"), "wrong message");
  mustFail(() => assertThrows(() => { throw new TypeError("x"); }, "RangeError", "x"), "wrong name");
  assertThrows(() => { throw new TypeError("x"); }, TypeError, "x");
  assertThrows(() => { throw new TypeError("x"); }, "TypeError", "x");

  let failed = false;
  try {
    await assertRejects(() => { throw new TypeError("sync"); }, TypeError, "sync");
  } catch (e) {
    failed = e instanceof AssertionError;
  }
  if (!failed) throw new Error("a sync throw must not satisfy assertRejects");
  failed = false;
  try {
    await assertRejects(() => Promise.resolve(1));
  } catch (e) {
    failed = e instanceof AssertionError;
  }
  if (!failed) throw new Error("a resolved promise must not satisfy assertRejects");
  failed = false;
  try {
    await assertRejects(() => Promise.reject(new TypeError("a")), TypeError, "b");
  } catch (e) {
    failed = e instanceof AssertionError;
  }
  if (!failed) throw new Error("wrong message must fail assertRejects");
  await assertRejects(() => Promise.reject(new RangeError("a")), RangeError, "a");
});
