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
    case "[object Symbol]":
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

// Deno's own class where webkv runs inside Deno, so `instanceof` works.
function badResource(message) {
  const DenoBadResource = globalThis.Deno?.errors?.BadResource;
  if (typeof DenoBadResource === "function") return new DenoBadResource(message);
  const error = new Error(message);
  error.name = "BadResource";
  return error;
}

export function makeClassError(className, message) {
  if (className === "BadResource") return badResource(message);
  const ctor = ERROR_CONSTRUCTORS[className] ?? Error;
  return new ctor(message);
}

// Deno's storage serializer reports a value V8 refuses as a TypeError with
// V8's message (a plain Error for SharedArrayBuffer).
export function makeDataCloneError(value) {
  let shown;
  if (typeof value === "function") shown = Function.prototype.toString.call(value);
  else if (typeof value === "symbol") shown = value.toString();
  else if (objectToString.call(value) === "[object Symbol]") shown = "[object Symbol]";
  else shown = `#<${value?.constructor?.name ?? "Object"}>`;
  const message = `${shown} could not be cloned.`;
  return objectToString.call(value) === "[object SharedArrayBuffer]" ? new Error(message) : new TypeError(message);
}

// serde_v8's name for a value's type (value_to_type_str), which Deno puts in
// its argument errors: "expected: array, got: string".
export function typeName(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "undefined": return "undefined";
    case "number": return "Number";
    case "boolean": return "Boolean";
    case "bigint": return "bigint";
    case "symbol": return "symbol";
    case "string": return "string";
    case "function": {
      const tag = objectToString.call(value);
      if (tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]") return "Generator function";
      if (tag === "[object AsyncFunction]") return "Async function";
      return "function";
    }
  }
  const tag = objectToString.call(value);
  if (tag === "[object SharedArrayBuffer]") return "SharedArrayBuffer";
  if (value instanceof DataView) return "DataView";
  const typed = typedArrayTag.call(value);
  if (typed !== undefined) {
    return ["Float16Array"].includes(typed) ? "TypedArray" : typed;
  }
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
  if (Array.isArray(value)) return "array";
  return "unknown";
}

// The bytes a key part made of any ArrayBufferView stands for.
export function viewBytes(value) {
  if (!ArrayBuffer.isView(value)) return undefined;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function isWellFormed(string) {
  return string.isWellFormed ? string.isWellFormed() : !/\p{Surrogate}/u.test(string);
}
