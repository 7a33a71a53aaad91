// Values every structured-clone implementation must round-trip, as
// [name, value, expected read-back (the value itself if absent)], and a deep
// equality that tells -0 from 0, keeps NaN, and follows cycles.

export function samples() {
  const shared = { shared: true };
  const cyclic = { name: "cyclic" };
  cyclic.self = cyclic;
  const sparse = [1, , 3];
  sparse[100] = "far";
  const withProps = [1, 2];
  withProps.extra = "prop";
  const buffer = new ArrayBuffer(16);
  new Uint8Array(buffer).set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  return [
    ["undefined", undefined],
    ["null", null],
    ["true", true],
    ["false", false],
    ["zero", 0],
    ["negative zero", -0],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["small int", 42],
    ["negative int", -7],
    ["large int", 2 ** 40],
    ["double", 3.14159],
    ["bigint zero", 0n],
    ["bigint", 12345678901234567890123456789n],
    ["negative bigint", -(2n ** 70n)],
    ["empty string", ""],
    ["ascii", "hello"],
    ["latin1", "café ÿ"],
    ["unicode", "日本語 😀"],
    ["lone surrogate", "a\ud800b"],
    ["long string", "x".repeat(10000)],
    // Longer than 24 characters: one-byte strings whose bytes are all ASCII
    // take another path than those with Latin-1 bytes (0x80-0xff).
    ["long ascii", "0123456789abcdef\x00\x7f ~".repeat(3)],
    ["long latin1, non-ascii last", "a".repeat(40) + "\xe9"],
    ["long latin1 with c1 controls", "\x80\x81\x9f\xa0 cafe ".repeat(5)],
    ["date", new Date(1700000000000)],
    ["invalid date", new Date(NaN)],
    ["regexp", /ab+c/gimsuy],
    ["empty object", {}],
    ["object", { a: 1, b: "two", c: [3], d: { e: null } }],
    ["numeric keys", { 1: "one", 0: "zero", x: "x" }],
    ["array", [1, "two", { three: 3 }]],
    ["sparse array", sparse],
    ["array with props", withProps],
    ["map", new Map([[1, "one"], ["two", 2], [{ k: 1 }, [1]]])],
    ["set", new Set([1, "two", 3n])],
    ["array buffer", buffer],
    ["uint8array in object", { bytes: new Uint8Array([1, 2, 3]) }],
    ["int8", new Int8Array([-1, 2])],
    ["uint8clamped", new Uint8ClampedArray([255, 0])],
    ["int16", new Int16Array([-300, 300])],
    ["uint16", new Uint16Array([65535])],
    ["int32", new Int32Array([-1, 1 << 30])],
    ["uint32", new Uint32Array([4294967295])],
    ["float32", new Float32Array([1.5, -0])],
    ["float64", new Float64Array([Math.PI, NaN])],
    ["bigint64", new BigInt64Array([-1n])],
    ["biguint64", new BigUint64Array([2n ** 64n - 1n])],
    ["dataview", new DataView(buffer, 4, 8)],
    ["view sharing a buffer", [new Uint8Array(buffer, 0, 4), new Uint16Array(buffer, 8, 2)]],
    ["error", new Error("plain")],
    ["type error with cause", new TypeError("typed", { cause: { why: 1 } })],
    ["range error", new RangeError("range")],
    ["boolean object", new Boolean(false)],
    ["number object", new Number(-0)],
    ["string object", new String("boxed")],
    ["bigint object", Object(5n)],
    ["shared references", { a: shared, b: shared }],
    ["cycle", cyclic],
    ["deep", nested(500)],
    ["resizable array buffer", new ArrayBuffer(4, { maxByteLength: 16 })],
    ["__proto__ key", JSON.parse('{"__proto__": 1, "a": 2}')],
    // A class instance is stored as its own enumerable properties.
    ["class instance", new (class Point { constructor() { this.x = 1; this.y = 2; } })(), { x: 1, y: 2 }],
    ...(typeof Float16Array === "function" ? [["float16", new Float16Array([1.5, -2, -0])]] : []),
  ];
}

export function nested(depth) {
  let value = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

// [name, value, error class, message]: Deno's answers.
export function unclonables() {
  return [
    ["function", () => 1, TypeError, "() => 1 could not be cloned."],
    ["symbol", Symbol("s"), TypeError, "Symbol(s) could not be cloned."],
    ["weakmap", new WeakMap(), TypeError, "#<WeakMap> could not be cloned."],
    ["weakset", new WeakSet(), TypeError, "#<WeakSet> could not be cloned."],
    ["function in object", { f() {} }, TypeError, "f() {} could not be cloned."],
    // Pages that are not cross-origin isolated have no SharedArrayBuffer.
    ...(typeof SharedArrayBuffer === "function"
      ? [["shared array buffer", new SharedArrayBuffer(4), Error, "#<SharedArrayBuffer> could not be cloned."]]
      : []),
  ];
}

export function deepEqual(a, b, seen = new Map()) {
  if (typeof a !== typeof b) return false;
  if (typeof a === "number") return Object.is(a, b);
  if (typeof a !== "object" || a === null || b === null) return a === b;
  if (seen.has(a)) return seen.get(a) === b;
  seen.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (a instanceof RegExp) return a.source === b.source && a.flags === b.flags;
  if (a instanceof Error) {
    return a.name === b.name && a.message === b.message &&
      ("cause" in a) === ("cause" in b) && deepEqual(a.cause, b.cause, seen);
  }
  if (a instanceof Boolean || a instanceof Number || a instanceof String || a instanceof BigInt) {
    return Object.is(a.valueOf(), b.valueOf());
  }
  if (a instanceof ArrayBuffer) {
    if (a.resizable !== b.resizable || a.maxByteLength !== b.maxByteLength) return false;
    return deepEqual(new Uint8Array(a), new Uint8Array(b), seen);
  }
  if (ArrayBuffer.isView(a)) {
    if (a.byteOffset !== b.byteOffset || a.byteLength !== b.byteLength) return false;
    if (a.buffer.byteLength !== b.buffer.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    const bEntries = [...b];
    return [...a].every(([k, v], i) => deepEqual(k, bEntries[i][0], seen) && deepEqual(v, bEntries[i][1], seen));
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    const bValues = [...b];
    return [...a].every((v, i) => deepEqual(v, bValues[i], seen));
  }
  if (Array.isArray(a) && a.length !== b.length) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length || aKeys.some((k, i) => k !== bKeys[i])) return false;
  return aKeys.every((k) => deepEqual(a[k], b[k], seen));
}

// Views into the same buffer must still share it after a round trip.
export function sharesBuffer(value) {
  return value[0].buffer === value[1].buffer;
}

