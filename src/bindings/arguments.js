// Reading a caller's arguments as serde_v8 reads an op's (docs/security.md):
// keys, arrays of keys and integer lists are copied into plain arrays here,
// where a getter or Proxy trap that throws is caught, and never read from
// wasm; and serde_v8's names for a value's type, for its argument errors.

const objectToString = Object.prototype.toString;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsic = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const typedArrayTag = intrinsic(typedArrayPrototype, Symbol.toStringTag);
const typedArrayBuffer = intrinsic(typedArrayPrototype, "buffer");
const typedArrayOffset = intrinsic(typedArrayPrototype, "byteOffset");
const typedArrayLength = intrinsic(typedArrayPrototype, "byteLength");
const dataViewBuffer = intrinsic(DataView.prototype, "buffer");
const dataViewOffset = intrinsic(DataView.prototype, "byteOffset");
const dataViewLength = intrinsic(DataView.prototype, "byteLength");

// V8 tells a Proxy from its target (serde_v8 refuses a Proxy where it wants
// an array); plain JS cannot. Node, Deno and Bun expose V8's check; where no
// runtime does (browsers, workerd), a Proxy that still answers is read like
// the array it wraps (docs/security.md).
const isProxy = (() => {
  try {
    return globalThis.process?.getBuiltinModule?.("node:util")?.types?.isProxy ?? null;
  } catch {
    return null;
  }
})();

// serde_v8's name for a value's type (value_to_type_str), which Deno puts in
// its argument errors: "expected: array, got: string". Never throws: a
// revoked Proxy is a "Proxy", and a value whose inspection runs caller code
// that throws is null, for which the caller reports serde_v8's conversion
// error.
export function typeName(value) {
  try {
    return typeNameOf(value);
  } catch {
    return null;
  }
}

function typeNameOf(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "undefined": return "undefined";
    case "number": return "Number";
    case "boolean": return "Boolean";
    case "bigint": return "bigint";
    case "symbol": return "symbol";
    case "string": return "string";
    case "function": {
      if (isProxy?.(value)) return "Proxy";
      const tag = objectToString.call(value);
      if (tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]") return "Generator function";
      if (tag === "[object AsyncFunction]") return "Async function";
      return "function";
    }
  }
  if (isProxy?.(value) || isRevokedProxy(value)) return "Proxy";
  const typed = typedArrayTag.call(value);
  if (typed !== undefined) return typed === "Float16Array" ? "TypedArray" : typed;
  if (ArrayBuffer.isView(value)) return "DataView";
  if (Array.isArray(value)) return "array";
  const tag = objectToString.call(value);
  if (tag === "[object SharedArrayBuffer]") return "SharedArrayBuffer";
  if (value instanceof ArrayBuffer) return "ArrayBuffer";
  if (value instanceof WeakSet) return "WeakSet";
  if (value instanceof WeakMap) return "WeakMap";
  if (tag === "[object Set Iterator]") return "Set Iterator";
  if (tag === "[object Map Iterator]") return "Map Iterator";
  if (value instanceof Set) return "Set";
  if (value instanceof Map) return "Map";
  if (value instanceof Promise) return "Promise";
  if (value instanceof RegExp) return "RegExp";
  if (value instanceof Date) return "Date";
  return "unknown";
}

// Array.isArray throws for a revoked Proxy, and for nothing else.
function isRevokedProxy(value) {
  try {
    Array.isArray(value);
    return false;
  } catch {
    return true;
  }
}

function invalidType(expected, value) {
  const got = typeName(value);
  return got === null ? conversionError() : new TypeError(`serde_v8 error: invalid type; expected: ${expected}, got: ${got}`);
}

function conversionError() {
  return new TypeError("serde_v8 error: exception during value conversion");
}

// What serde_v8 takes for an array: an Array, and not a Proxy (a revoked
// one makes Array.isArray throw).
function requireArray(value) {
  let isArray;
  try {
    isArray = Array.isArray(value);
  } catch {
    isArray = false;
  }
  if (!isArray || isProxy?.(value)) throw invalidType("array", value);
}

const INVALID_PART = "expected string, number, bigint, ArrayBufferView, boolean";

// A key of more parts than this is too large to read or write whatever its
// parts (each encodes to at least one byte, and the read limit is 2049
// bytes), so reading stops there and the encoder reports the size, as Deno
// would after reading every part: a Proxy claiming 2^32 parts cannot spin.
const MAX_KEY_PARTS = 2050;

/**
 * A key argument, read the way serde_v8 reads an op's argument, copied into
 * a plain array whose byte parts are fresh Uint8Array views. Keys are read
 * here and not from wasm because reading a caller's array can run the
 * caller's code (getters, Proxy traps) and an exception thrown inside a wasm
 * import that does not catch leaves the module broken for every database.
 * Throws Deno's TypeError for anything that is not a key.
 */
export function readKey(key) {
  requireArray(key);
  let parts;
  try {
    const length = Math.min(key.length, MAX_KEY_PARTS);
    parts = new Array(length);
    for (let i = 0; i < length; i++) parts[i] = keyPart(key[i]);
  } catch (error) {
    throw error instanceof KeyPartError ? new TypeError(INVALID_PART) : conversionError();
  }
  return parts;
}

class KeyPartError extends Error {}

function keyPart(part) {
  switch (typeof part) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
      return part;
    case "object":
      if (part !== null && ArrayBuffer.isView(part)) return viewBytes(part);
  }
  throw new KeyPartError();
}

// The bytes a view stands for, read through the intrinsic getters (an own
// `buffer` getter on the view is the caller's code, and Deno ignores it).
// A detached buffer reads as no bytes, as in Deno.
function viewBytes(view) {
  const isTyped = typedArrayTag.call(view) !== undefined;
  const length = isTyped ? typedArrayLength.call(view) : dataViewLengthOrZero(view);
  if (length === 0) return new Uint8Array(0);
  const buffer = isTyped ? typedArrayBuffer.call(view) : dataViewBuffer.call(view);
  const offset = isTyped ? typedArrayOffset.call(view) : dataViewOffset.call(view);
  return new Uint8Array(buffer, offset, length);
}

// DataView's byteLength throws where a typed array's reads 0.
function dataViewLengthOrZero(view) {
  try {
    return dataViewLength.call(view);
  } catch {
    return 0;
  }
}

/**
 * An argument that is an array of keys (getMany, watch, keysIfUndelivered),
 * read into a plain array of keys as `readKey` reads each. At most `max + 1`
 * keys are read: the caller's limit then rejects the count.
 */
export function readKeys(keys, max) {
  requireArray(keys);
  let length;
  try {
    length = Math.min(keys.length, max + 1);
  } catch {
    throw conversionError();
  }
  const out = new Array(length);
  for (let i = 0; i < length; i++) {
    let key;
    try {
      key = keys[i];
    } catch {
      throw conversionError();
    }
    out[i] = readKey(key);
  }
  return out;
}

/**
 * An argument that serde_v8 reads as a list of integers (a backoff
 * schedule), copied into a plain array of numbers.
 */
export function readIntegers(values) {
  requireArray(values);
  let out;
  try {
    out = Array.from({ length: Math.min(values.length, MAX_INTEGERS) }, (_, i) => values[i]);
  } catch {
    throw conversionError();
  }
  for (let i = 0; i < out.length; i++) {
    const value = out[i];
    if (typeof value === "bigint") out[i] = Number(value);
    else if (typeof value !== "number") throw invalidType("integer", value);
  }
  return out;
}

// Deno's JS layer allows 5 intervals before an array reaches here; the cap
// only bounds a Proxy that changed its length since.
const MAX_INTEGERS = 64;
