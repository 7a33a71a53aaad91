// A JSON form of KV keys and values that round-trips every type a Deno KV
// value can hold (the NDJSON export and the "typed JSON" editor use it).
//
// Plain JSON values stand for themselves: null, booleans, strings, finite
// numbers other than -0, arrays and plain objects. Everything else is an
// object with exactly one "$tag" property:
//
//   {"$undefined": true}                    undefined
//   {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}
//   {"$bigint": "-123"}                     bigint
//   {"$date": "2024-01-02T03:04:05.678Z"}   Date (null for an invalid Date)
//   {"$bytes": "0aff"}                      Uint8Array, as hex
//   {"$u64": "123"}                         KvU64 (only as a whole value)
//   {"$map": [[key, value], ...]}           Map
//   {"$set": [value, ...]}                  Set
//   {"$regexp": {"source": "a+", "flags": "gi"}}
//   {"$error": {"name": "TypeError", "message": "...", "stack": "..."}}
//   {"$typed": {"type": "Int16Array", "bytes": "0100"}}   other typed arrays, DataView
//   {"$arraybuffer": "00ff"}
//   {"$boxed": <typed primitive>}           new String("x"), new Number(1), ...
//   {"$sparse": {"length": 5, "items": [[0, value], [3, value]]}}  arrays with holes
//   {"$object": {...}}                      a plain object with a key starting with "$"
//
// A value with a cycle cannot be written as a tree: toTyped throws a
// TypeError saying so. Shared (non-cyclic) references are written twice.
import { KvU64 } from "/pkg/browser.js";

export function bytesToHex(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}

export function hexToBytes(text) {
  const hex = String(text).replace(/\s+/g, "").replace(/^0x/i, "");
  if (hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) {
    throw new SyntaxError(`not hex bytes: ${JSON.stringify(String(text).slice(0, 40))} (use pairs of 0-9 a-f, e.g. "00 ff 10")`);
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const TYPED_ARRAYS = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};
if (typeof globalThis.Float16Array === "function") TYPED_ARRAYS.Float16Array = globalThis.Float16Array;

const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

function typedNumber(n) {
  if (Number.isNaN(n)) return { $number: "NaN" };
  if (n === Infinity) return { $number: "Infinity" };
  if (n === -Infinity) return { $number: "-Infinity" };
  if (Object.is(n, -0)) return { $number: "-0" };
  return n;
}

/** The typed JSON form (a JSON-serializable tree) of `value`. */
export function toTyped(value, seen = new Set()) {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return typedNumber(value);
    case "bigint":
      return { $bigint: value.toString() };
    case "undefined":
      return { $undefined: true };
    case "object":
      break;
    default:
      throw new TypeError(`a ${typeof value} cannot be stored in KV`);
  }
  if (value === null) return null;
  if (value instanceof KvU64) return { $u64: value.value.toString() };
  if (seen.has(value)) throw new TypeError("the value contains a cycle, which JSON cannot express");
  seen.add(value);
  try {
    return objectToTyped(value, seen);
  } finally {
    seen.delete(value);
  }
}

function objectToTyped(value, seen) {
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (Array.isArray(value)) {
    let holes = false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) {
        holes = true;
        break;
      }
    }
    if (!holes) return value.map((item) => toTyped(item, seen));
    const items = [];
    for (const index of Object.keys(value)) {
      if (/^\d+$/.test(index)) items.push([Number(index), toTyped(value[index], seen)]);
    }
    return { $sparse: { length: value.length, items } };
  }
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return { $bytes: bytesToHex(value) };
  if (ArrayBuffer.isView(value)) {
    const type = value.constructor.name in TYPED_ARRAYS ? value.constructor.name : tag;
    return { $typed: { type, bytes: bytesToHex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) } };
  }
  if (value instanceof ArrayBuffer) return { $arraybuffer: bytesToHex(new Uint8Array(value)) };
  if (value instanceof Date) {
    const time = value.getTime();
    return { $date: Number.isNaN(time) ? null : value.toISOString() };
  }
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toTyped(k, seen), toTyped(v, seen)]) };
  if (value instanceof Set) return { $set: [...value].map((v) => toTyped(v, seen)) };
  if (value instanceof RegExp) return { $regexp: { source: value.source, flags: value.flags } };
  if (value instanceof Error) {
    const error = { name: value.name, message: value.message };
    if (typeof value.stack === "string") error.stack = value.stack;
    return { $error: error };
  }
  if (tag === "String" || tag === "Number" || tag === "Boolean" || tag === "BigInt") {
    return { $boxed: toTyped(value.valueOf(), seen) };
  }
  const out = {};
  let dollar = false;
  for (const name of Object.keys(value)) {
    if (name.startsWith("$")) dollar = true;
    out[name] = toTyped(value[name], seen);
  }
  return dollar ? { $object: out } : out;
}

function fail(what, path) {
  throw new SyntaxError(`${path || "value"}: ${what}`);
}

function isPlainObject(node) {
  return node !== null && typeof node === "object" && !Array.isArray(node);
}

/** The value whose typed JSON form is `node` (throws a SyntaxError on a malformed form). */
export function fromTyped(node, path = "") {
  if (node === null || typeof node === "string" || typeof node === "boolean") return node;
  if (typeof node === "number") return node;
  if (Array.isArray(node)) return node.map((item, i) => fromTyped(item, `${path}[${i}]`));
  if (!isPlainObject(node)) fail(`unexpected ${typeof node}`, path);
  const names = Object.keys(node);
  if (names.length !== 1 || !names[0].startsWith("$")) {
    if (names.some((name) => name.startsWith("$"))) fail(`a tagged value has exactly one "$tag" key (got ${names.join(", ")})`, path);
    const out = {};
    for (const name of names) out[name] = fromTyped(node[name], `${path}.${name}`);
    return out;
  }
  const [tag] = names;
  const body = node[tag];
  switch (tag) {
    case "$undefined":
      return undefined;
    case "$number": {
      const numbers = { NaN, Infinity, "-Infinity": -Infinity, "-0": -0 };
      if (!Object.hasOwn(numbers, body)) fail(`$number must be "NaN", "Infinity", "-Infinity" or "-0"`, path);
      return numbers[body];
    }
    case "$bigint":
      if (typeof body !== "string" || !/^-?\d+$/.test(body)) fail("$bigint must be a string of digits", path);
      return BigInt(body);
    case "$u64":
      if (typeof body !== "string" || !/^\d+$/.test(body)) fail("$u64 must be a string of digits", path);
      return new KvU64(BigInt(body));
    case "$date": {
      if (body === null) return new Date(NaN);
      const date = new Date(body);
      if (typeof body !== "string" || Number.isNaN(date.getTime())) fail("$date must be an ISO date string or null", path);
      return date;
    }
    case "$bytes":
      return hexToBytes(body);
    case "$arraybuffer":
      return hexToBytes(body).buffer;
    case "$typed": {
      if (!isPlainObject(body) || !Object.hasOwn(TYPED_ARRAYS, body.type)) fail("$typed needs a known typed array type", path);
      const buffer = hexToBytes(body.bytes).buffer;
      const Type = TYPED_ARRAYS[body.type];
      if (Type === DataView) return new DataView(buffer);
      if (buffer.byteLength % Type.BYTES_PER_ELEMENT !== 0) fail(`${body.type} needs a multiple of ${Type.BYTES_PER_ELEMENT} bytes`, path);
      return new Type(buffer);
    }
    case "$map":
      if (!Array.isArray(body)) fail("$map must be an array of [key, value] pairs", path);
      return new Map(body.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) fail("$map must be an array of [key, value] pairs", `${path}[${i}]`);
        return [fromTyped(pair[0], `${path}<key ${i}>`), fromTyped(pair[1], `${path}<value ${i}>`)];
      }));
    case "$set":
      if (!Array.isArray(body)) fail("$set must be an array", path);
      return new Set(body.map((item, i) => fromTyped(item, `${path}{${i}}`)));
    case "$regexp":
      if (!isPlainObject(body) || typeof body.source !== "string" || typeof body.flags !== "string") fail("$regexp needs source and flags", path);
      return new RegExp(body.source, body.flags);
    case "$error": {
      if (!isPlainObject(body) || typeof body.message !== "string") fail("$error needs a message", path);
      const Type = Object.hasOwn(ERRORS, body.name) ? ERRORS[body.name] : Error;
      const error = new Type(body.message);
      if (typeof body.stack === "string") error.stack = body.stack;
      return error;
    }
    case "$boxed": {
      const inner = fromTyped(body, path);
      if (inner === null || (typeof inner !== "string" && typeof inner !== "number" && typeof inner !== "boolean" && typeof inner !== "bigint")) {
        fail("$boxed holds a string, number, boolean or bigint", path);
      }
      return Object(inner);
    }
    case "$sparse": {
      if (!isPlainObject(body) || !Number.isInteger(body.length) || body.length < 0 || !Array.isArray(body.items)) {
        fail("$sparse needs a length and items", path);
      }
      const out = new Array(body.length);
      for (const item of body.items) {
        if (!Array.isArray(item) || !Number.isInteger(item[0]) || item[0] < 0 || item[0] >= body.length) fail("$sparse items are [index, value]", path);
        out[item[0]] = fromTyped(item[1], `${path}[${item[0]}]`);
      }
      return out;
    }
    case "$object": {
      if (!isPlainObject(body)) fail("$object must hold an object", path);
      const out = {};
      for (const name of Object.keys(body)) out[name] = fromTyped(body[name], `${path}.${name}`);
      return out;
    }
    default:
      fail(`unknown tag ${tag}`, path);
  }
}

/** A key's typed JSON form: an array of typed parts. */
export function keyToTyped(key) {
  return key.map((part) => toTyped(part));
}

const KEY_PART_TYPES = new Set(["string", "number", "bigint", "boolean"]);

/** The key whose typed JSON form is `node`, checking that each part is a valid key part. */
export function keyFromTyped(node) {
  if (!Array.isArray(node)) throw new SyntaxError("key: must be an array of key parts");
  return node.map((part, i) => {
    const value = fromTyped(part, `key[${i}]`);
    if (!(KEY_PART_TYPES.has(typeof value) || (value instanceof Uint8Array && value.constructor === Uint8Array))) {
      throw new SyntaxError(`key[${i}]: a key part is a string, number, bigint, boolean or Uint8Array`);
    }
    return value;
  });
}

/** A canonical string for a key, to use as a Map key or DOM id. */
export function keyId(key) {
  return JSON.stringify(keyToTyped(key));
}
