// Small JS helpers the wasm bindings import. Each one replaces several
// boundary crossings with one: classifying an object for the V8 serializer
// costs one call instead of a chain of instanceof checks.

let KvU64Class = null;

export function registerKvU64(cls) {
  KvU64Class = cls;
}

export function makeKvU64(value) {
  return new KvU64Class(value);
}

export function makeEntry(key, value, versionstamp) {
  return { key, value, versionstamp };
}

export function makeMissingEntry(key) {
  return { key, value: null, versionstamp: null };
}

// Keep in step with ObjectKind in value_to_v8.rs.
const PLAIN = 0, ARRAY = 1, DATE = 2, REGEXP = 3, MAP = 4, SET = 5,
  ARRAY_BUFFER = 6, VIEW = 7, ERROR = 8, BOOLEAN = 9, NUMBER = 10,
  STRING = 11, BIGINT = 12, KVU64 = 13, UNCLONEABLE = 14, UINT8ARRAY = 15;

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
).get;
const objectToString = Object.prototype.toString;

export function classify(value) {
  if (Array.isArray(value)) return ARRAY;
  if (KvU64Class !== null && value instanceof KvU64Class) return KVU64;
  const tag = typedArrayTag.call(value);
  if (tag !== undefined) return tag === "Uint8Array" ? UINT8ARRAY : VIEW;
  if (value instanceof DataView) return VIEW;
  if (value instanceof Date) return DATE;
  if (value instanceof Map) return MAP;
  if (value instanceof Set) return SET;
  if (value instanceof RegExp) return REGEXP;
  if (value instanceof ArrayBuffer) return ARRAY_BUFFER;
  if (value instanceof Error) return ERROR;
  switch (objectToString.call(value)) {
    case "[object Boolean]": return BOOLEAN;
    case "[object Number]": return NUMBER;
    case "[object String]": return STRING;
    case "[object BigInt]": return BIGINT;
    case "[object WeakMap]":
    case "[object WeakSet]":
    case "[object WeakRef]":
    case "[object Promise]":
    case "[object SharedArrayBuffer]":
    case "[object WebAssembly.Module]":
    case "[object WebAssembly.Memory]":
    case "[object WebAssembly.Instance]":
    case "[object Generator]":
      return UNCLONEABLE;
  }
  return PLAIN;
}

// [kind index, buffer, byteOffset, byteLength] of a typed array or DataView.
const VIEW_KINDS = [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array", "DataView",
];
export function describeView(view) {
  const tag = typedArrayTag.call(view);
  const kind = VIEW_KINDS.indexOf(tag === undefined ? "DataView" : tag);
  return [kind, view.buffer, view.byteOffset, view.byteLength];
}

const VIEW_CONSTRUCTORS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
  Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array, DataView,
];
// `length` counts elements (bytes for a DataView).
export function makeView(kind, buffer, byteOffset, length) {
  return new VIEW_CONSTRUCTORS[kind](buffer, byteOffset, length);
}

// [name, message, stack, hasCause, cause], reading what V8's serializer reads.
export function describeError(error) {
  const proto = Object.getPrototypeOf(error);
  let name = "Error";
  for (const ctor of [EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]) {
    if (proto === ctor.prototype) name = ctor.name;
  }
  const messageDesc = Object.getOwnPropertyDescriptor(error, "message");
  const message = messageDesc && "value" in messageDesc ? String(messageDesc.value) : undefined;
  const stack = typeof error.stack === "string" ? error.stack : undefined;
  const hasCause = Object.prototype.hasOwnProperty.call(error, "cause");
  return [name, message, stack, hasCause, hasCause ? error.cause : undefined];
}

const ERROR_CONSTRUCTORS = {
  Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
};
export function makeError(name, message, stack, hasCause, cause) {
  const ctor = ERROR_CONSTRUCTORS[name] ?? Error;
  const error = message === undefined ? new ctor() : new ctor(message);
  if (stack === undefined) delete error.stack;
  else Object.defineProperty(error, "stack", { value: stack, writable: true, configurable: true });
  if (hasCause) Object.defineProperty(error, "cause", { value: cause, writable: true, configurable: true });
  return error;
}

export function makeRegExp(source, flags) {
  return new RegExp(source, flags);
}

export function wrapPrimitive(value) {
  return Object(value);
}

export function makeSparseArray(length) {
  return new Array(length);
}

export function makeClassError(className, message) {
  const ctor = ERROR_CONSTRUCTORS[className] ?? Error;
  return new ctor(message);
}

// V8's message for a value its serializer refuses, thrown as the
// DOMException browsers and Deno throw.
export function makeDataCloneError(value) {
  let shown;
  if (typeof value === "function") shown = Function.prototype.toString.call(value);
  else if (typeof value === "symbol") shown = value.toString();
  else shown = `#<${value?.constructor?.name ?? "Object"}>`;
  const message = `${shown} could not be cloned.`;
  if (typeof DOMException === "function") return new DOMException(message, "DataCloneError");
  const error = new Error(message);
  error.name = "DataCloneError";
  return error;
}

export function isWellFormed(string) {
  return string.isWellFormed ? string.isWellFormed() : !/\p{Surrogate}/u.test(string);
}
