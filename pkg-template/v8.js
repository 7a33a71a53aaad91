// V8's value serialization format, the bytes Deno KV stores for every value
// that is not a top-level Uint8Array or KvU64. It is written and read here,
// in JS, because a value is a JS object graph: walking it from wasm costs a
// boundary crossing per property and string, and profiles showed that glue
// outweighing the database itself. Each value now crosses into wasm once, as
// bytes.
//
// webkv writes format version 15, which every peer reads (Deno 2.9 writes 16
// and reads 15; Node 20's V8 and denokv 0.14 read at most 15), and reads
// versions 13 to 16. Object ids follow V8's order (a view's buffer before the
// view), so shared references and cycles survive.

const WRITE_VERSION = 15;
const MIN_READ_VERSION = 13;
const MAX_READ_VERSION = 16;

const T = {
  VERSION: 0xff,
  PADDING: 0x00,
  VERIFY_OBJECT_COUNT: 0x3f, // '?'
  THE_HOLE: 0x2d, // '-'
  UNDEFINED: 0x5f, // '_'
  NULL: 0x30, // '0'
  TRUE: 0x54, // 'T'
  FALSE: 0x46, // 'F'
  INT32: 0x49, // 'I'
  UINT32: 0x55, // 'U'
  DOUBLE: 0x4e, // 'N'
  BIGINT: 0x5a, // 'Z'
  UTF8_STRING: 0x53, // 'S'
  ONE_BYTE_STRING: 0x22, // '"'
  TWO_BYTE_STRING: 0x63, // 'c'
  OBJECT_REFERENCE: 0x5e, // '^'
  BEGIN_OBJECT: 0x6f, // 'o'
  END_OBJECT: 0x7b, // '{'
  BEGIN_SPARSE_ARRAY: 0x61, // 'a'
  END_SPARSE_ARRAY: 0x40, // '@'
  BEGIN_DENSE_ARRAY: 0x41, // 'A'
  END_DENSE_ARRAY: 0x24, // '$'
  DATE: 0x44, // 'D'
  TRUE_OBJECT: 0x79, // 'y'
  FALSE_OBJECT: 0x78, // 'x'
  NUMBER_OBJECT: 0x6e, // 'n'
  BIGINT_OBJECT: 0x7a, // 'z'
  STRING_OBJECT: 0x73, // 's'
  REGEXP: 0x52, // 'R'
  BEGIN_MAP: 0x3b, // ';'
  END_MAP: 0x3a, // ':'
  BEGIN_SET: 0x27, // "'"
  END_SET: 0x2c, // ','
  ARRAY_BUFFER: 0x42, // 'B'
  RESIZABLE_ARRAY_BUFFER: 0x7e, // '~'
  ARRAY_BUFFER_VIEW: 0x56, // 'V'
  ERROR: 0x72, // 'r'
};

// Error sub-tags.
const E = {
  EVAL: 0x45, // 'E'
  RANGE: 0x52, // 'R'
  REFERENCE: 0x46, // 'F'
  SYNTAX: 0x53, // 'S'
  TYPE: 0x54, // 'T'
  URI: 0x55, // 'U'
  MESSAGE: 0x6d, // 'm'
  CAUSE: 0x63, // 'c'
  STACK: 0x73, // 's'
  END: 0x2e, // '.'
};

const ERROR_PROTOTYPES = [
  [EvalError, E.EVAL],
  [RangeError, E.RANGE],
  [ReferenceError, E.REFERENCE],
  [SyntaxError, E.SYNTAX],
  [TypeError, E.TYPE],
  [URIError, E.URI],
];
const ERROR_BY_TAG = new Map(ERROR_PROTOTYPES.map(([ctor, tag]) => [tag, ctor]));

// View sub-tags and their constructors; Float16Array only where it exists.
const VIEWS = [
  [0x62, "Int8Array"], // 'b'
  [0x42, "Uint8Array"], // 'B'
  [0x43, "Uint8ClampedArray"], // 'C'
  [0x77, "Int16Array"], // 'w'
  [0x57, "Uint16Array"], // 'W'
  [0x64, "Int32Array"], // 'd'
  [0x44, "Uint32Array"], // 'D'
  [0x68, "Float16Array"], // 'h'
  [0x66, "Float32Array"], // 'f'
  [0x46, "Float64Array"], // 'F'
  [0x71, "BigInt64Array"], // 'q'
  [0x51, "BigUint64Array"], // 'Q'
  [0x3f, "DataView"], // '?'
].filter(([, name]) => typeof globalThis[name] === "function");
const VIEW_TAG_BY_NAME = new Map(VIEWS.map(([tag, name]) => [name, tag]));
const VIEW_CTOR_BY_TAG = new Map(VIEWS.map(([tag, name]) => [tag, globalThis[name]]));

const REGEXP_FLAGS = "gimyusldv"; // bit i is REGEXP_FLAGS[i], V8's order

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
).get;
const objectToString = Object.prototype.toString;
const arrayBufferResizable = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "resizable")?.get;
const typedArrayLength = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  "length",
).get;

// V8's serializer refuses a Proxy ("#<Object> could not be cloned."), and so
// does Deno; plain JS cannot tell one from its target. Node, Deno and Bun
// expose V8's check; browsers and workerd do not, and there a Proxy is
// written as the object it shows (docs/security.md).
const isProxy = (() => {
  try {
    return globalThis.process?.getBuiltinModule?.("node:util")?.types?.isProxy ?? null;
  } catch {
    return null;
  }
})();
const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** The V8 tag name of a typed array or DataView, or undefined. */
export function viewName(value) {
  const tag = typedArrayTag.call(value);
  if (tag !== undefined) return tag;
  return value instanceof DataView ? "DataView" : undefined;
}

function cloneError(value) {
  let shown;
  if (typeof value === "function") shown = Function.prototype.toString.call(value);
  else if (typeof value === "symbol") shown = value.toString();
  else if (objectToString.call(value) === "[object Symbol]") shown = "[object Symbol]";
  else shown = `#<${value?.constructor?.name ?? "Object"}>`;
  const message = `${shown} could not be cloned.`;
  // Deno reports these as TypeError, SharedArrayBuffer as a plain Error.
  return objectToString.call(value) === "[object SharedArrayBuffer]" ? new Error(message) : new TypeError(message);
}

// V8 names a Proxy without running its traps: "[object Array]" for an
// array's, "#<Object>" for the rest (V8 also names a few other brands, such
// as a Date's, that JS cannot see through a Proxy). A revoked Proxy fails
// first with the error getPrototypeOf gives it, as in Deno.
function proxyCloneError(proxy) {
  Object.getPrototypeOf(proxy);
  return new TypeError(`${Array.isArray(proxy) ? "[object Array]" : "#<Object>"} could not be cloned.`);
}

const UNCLONEABLE_TAGS = new Set([
  "[object WeakMap]",
  "[object WeakSet]",
  "[object WeakRef]",
  "[object Promise]",
  "[object SharedArrayBuffer]",
  "[object Symbol]",
  "[object Generator]",
  "[object AsyncGenerator]",
  "[object WebAssembly.Module]",
  "[object WebAssembly.Memory]",
  "[object WebAssembly.Instance]",
  "[object FinalizationRegistry]",
]);

const NO_OBJECT = Symbol("no object");

class Writer {
  constructor() {
    this.bytes = new Uint8Array(128);
    this.view = new DataView(this.bytes.buffer);
    this.pos = 0;
    // Object ids: most values hold one object, which needs no Map.
    this.firstObject = NO_OBJECT;
    this.ids = null;
  }

  // Forgets the value written, so that a writer kept for the next value
  // holds on to none of its objects.
  forgetObjects() {
    this.firstObject = NO_OBJECT;
    this.ids = null;
  }

  reserve(n) {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.pos));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  byte(b) {
    this.reserve(1);
    this.bytes[this.pos++] = b;
  }

  varint(n) {
    this.reserve(10);
    while (n >= 0x80) {
      this.bytes[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.bytes[this.pos++] = n;
  }

  double(x) {
    this.reserve(8);
    this.view.setFloat64(this.pos, x, true);
    this.pos += 8;
  }

  raw(source) {
    this.reserve(source.length);
    this.bytes.set(source, this.pos);
    this.pos += source.length;
  }

  string(s) {
    const length = s.length;
    let oneByte = true;
    for (let i = 0; i < length; i++) {
      if (s.charCodeAt(i) > 0xff) {
        oneByte = false;
        break;
      }
    }
    if (oneByte) {
      this.byte(T.ONE_BYTE_STRING);
      this.varint(length);
      this.reserve(length);
      // ASCII is the same bytes in UTF-8, and the encoder writes a longer
      // string in one native call; any other character makes it stop short.
      if (length >= 16) {
        const { read, written } = utf8Encoder.encodeInto(s, this.bytes.subarray(this.pos, this.pos + length));
        if (read === length && written === length) {
          this.pos += length;
          return;
        }
      }
      const bytes = this.bytes;
      let pos = this.pos;
      for (let i = 0; i < length; i++) bytes[pos++] = s.charCodeAt(i);
      this.pos = pos;
      return;
    }
    const byteLength = length * 2;
    // V8 aligns two-byte contents to an even offset.
    if ((this.pos + 1 + varintLength(byteLength)) % 2 === 1) this.byte(T.PADDING);
    this.byte(T.TWO_BYTE_STRING);
    this.varint(byteLength);
    this.reserve(byteLength);
    const bytes = this.bytes;
    let pos = this.pos;
    for (let i = 0; i < length; i++) {
      const unit = s.charCodeAt(i);
      bytes[pos++] = unit & 0xff;
      bytes[pos++] = unit >> 8;
    }
    this.pos = pos;
  }

  bigintContents(value) {
    const negative = value < 0n;
    let hex = (negative ? -value : value).toString(16);
    if (value === 0n) {
      this.varint(0);
      return;
    }
    // V8 stores bigints as whole 64-bit digits, little-endian.
    const byteLength = Math.ceil(hex.length / 16) * 8;
    hex = hex.padStart(byteLength * 2, "0");
    this.varint(byteLength * 2 + (negative ? 1 : 0));
    this.reserve(byteLength);
    for (let i = 0; i < byteLength; i++) {
      const at = hex.length - 2 * (i + 1);
      this.bytes[this.pos++] = parseInt(hex.slice(at, at + 2), 16);
    }
  }

  value(value) {
    switch (typeof value) {
      case "undefined":
        return this.byte(T.UNDEFINED);
      case "boolean":
        return this.byte(value ? T.TRUE : T.FALSE);
      case "number":
        if ((value | 0) === value && !Object.is(value, -0)) {
          this.byte(T.INT32);
          return this.varint(((value << 1) ^ (value >> 31)) >>> 0);
        }
        this.byte(T.DOUBLE);
        return this.double(value);
      case "bigint":
        this.byte(T.BIGINT);
        return this.bigintContents(value);
      case "string":
        return this.string(value);
      case "object":
        if (value === null) return this.byte(T.NULL);
        return this.object(value);
      default:
        throw cloneError(value);
    }
  }

  // Writes a back-reference and returns false if `object` was written before.
  claimId(object) {
    if (this.ids === null) {
      if (this.firstObject === NO_OBJECT) {
        this.firstObject = object;
        return true;
      }
      this.ids = new Map([[this.firstObject, 0]]);
    }
    const ids = this.ids;
    const id = ids.get(object);
    if (id !== undefined) {
      this.byte(T.OBJECT_REFERENCE);
      this.varint(id);
      return false;
    }
    ids.set(object, ids.size);
    return true;
  }

  object(value) {
    if (isProxy !== null && isProxy(value)) throw proxyCloneError(value);
    const name = viewName(value);
    if (name !== undefined && value !== this.firstObject && !this.ids?.has(value)) {
      const buffer = value.buffer;
      if (!(buffer instanceof ArrayBuffer)) throw cloneError(buffer);
      this.object(buffer);
    }
    if (!this.claimId(value)) return;
    if (Array.isArray(value)) return this.array(value);
    if (name !== undefined) return this.arrayBufferView(value, name);
    if (value instanceof Date) {
      this.byte(T.DATE);
      return this.double(value.getTime());
    }
    if (value instanceof Map) {
      this.byte(T.BEGIN_MAP);
      for (const [k, v] of value) {
        this.value(k);
        this.value(v);
      }
      this.byte(T.END_MAP);
      return this.varint(value.size * 2);
    }
    if (value instanceof Set) {
      this.byte(T.BEGIN_SET);
      for (const v of value) this.value(v);
      this.byte(T.END_SET);
      return this.varint(value.size);
    }
    if (value instanceof RegExp) {
      this.byte(T.REGEXP);
      this.string(value.source);
      let bits = 0;
      for (const flag of value.flags) {
        const bit = REGEXP_FLAGS.indexOf(flag);
        if (bit >= 0) bits |= 1 << bit;
      }
      return this.varint(bits);
    }
    if (value instanceof ArrayBuffer) return this.arrayBuffer(value);
    if (value instanceof Error) return this.error(value);
    const tag = objectToString.call(value);
    switch (tag) {
      case "[object Boolean]":
        return this.byte(Boolean.prototype.valueOf.call(value) ? T.TRUE_OBJECT : T.FALSE_OBJECT);
      case "[object Number]":
        this.byte(T.NUMBER_OBJECT);
        return this.double(Number.prototype.valueOf.call(value));
      case "[object String]":
        this.byte(T.STRING_OBJECT);
        return this.string(String.prototype.valueOf.call(value));
      case "[object BigInt]":
        this.byte(T.BIGINT_OBJECT);
        return this.bigintContents(BigInt.prototype.valueOf.call(value));
    }
    if (UNCLONEABLE_TAGS.has(tag)) throw cloneError(value);
    this.byte(T.BEGIN_OBJECT);
    const count = this.properties(value, Object.keys(value), false);
    this.byte(T.END_OBJECT);
    this.varint(count);
  }

  // Own enumerable string-keyed properties, as V8's serializer writes them.
  properties(object, keys, skipIndices) {
    let count = 0;
    for (const key of keys) {
      const index = arrayIndex(key);
      if (index >= 0) {
        if (skipIndices) continue;
        this.byte(T.UINT32);
        this.varint(index);
      } else {
        this.string(key);
      }
      this.value(object[key]);
      count++;
    }
    return count;
  }

  array(array) {
    const length = array.length;
    const keys = Object.keys(array);
    let indexCount = keys.length;
    // Object.keys lists indices first; extra properties come after them.
    while (indexCount > 0 && arrayIndex(keys[indexCount - 1]) < 0) indexCount--;
    if (indexCount * 2 < length) {
      // Mostly holes: V8 writes such arrays sparse.
      this.byte(T.BEGIN_SPARSE_ARRAY);
      this.varint(length);
      const count = this.properties(array, keys, false);
      this.byte(T.END_SPARSE_ARRAY);
      this.varint(count);
      return this.varint(length);
    }
    this.byte(T.BEGIN_DENSE_ARRAY);
    this.varint(length);
    const holey = indexCount < length;
    for (let i = 0; i < length; i++) {
      if (holey && !(i in array)) this.byte(T.THE_HOLE);
      else this.value(array[i]);
    }
    const count = this.properties(array, keys, true);
    this.byte(T.END_DENSE_ARRAY);
    this.varint(count);
    this.varint(length);
  }

  arrayBuffer(buffer) {
    let bytes;
    try {
      bytes = new Uint8Array(buffer);
    } catch (cause) {
      // Detached (transferred): V8's own words for it.
      throw new TypeError("An ArrayBuffer is detached and could not be cloned.", { cause });
    }
    if (arrayBufferResizable?.call(buffer)) {
      this.byte(T.RESIZABLE_ARRAY_BUFFER);
      this.varint(bytes.length);
      this.varint(buffer.maxByteLength);
    } else {
      this.byte(T.ARRAY_BUFFER);
      this.varint(bytes.length);
    }
    this.raw(bytes);
  }

  arrayBufferView(view, name) {
    const tag = VIEW_TAG_BY_NAME.get(name);
    if (tag === undefined) throw cloneError(view);
    this.byte(T.ARRAY_BUFFER_VIEW);
    this.byte(tag);
    this.varint(view.byteOffset);
    this.varint(view.byteLength);
    this.varint(0);
  }

  error(error) {
    this.byte(T.ERROR);
    const proto = Object.getPrototypeOf(error);
    for (const [ctor, tag] of ERROR_PROTOTYPES) {
      if (proto === ctor.prototype) this.byte(tag);
    }
    const message = Object.getOwnPropertyDescriptor(error, "message");
    if (message && "value" in message) {
      this.byte(E.MESSAGE);
      this.string(String(message.value));
    }
    const stack = error.stack;
    if (typeof stack === "string") {
      this.byte(E.STACK);
      this.string(stack);
    }
    if (Object.prototype.hasOwnProperty.call(error, "cause")) {
      this.byte(E.CAUSE);
      this.value(error.cause);
    }
    this.byte(E.END);
  }
}

function varintLength(n) {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

// The array index a property key names, or -1 ("0" and "17", not "01").
function arrayIndex(key) {
  const c = key.charCodeAt(0);
  if (c < 0x30 || c > 0x39 || (c === 0x30 && key.length > 1)) return -1;
  const n = Number(key);
  return Number.isInteger(n) && n < 4294967295 && String(n) === key ? n : -1;
}

/** Serializes a structured-clone value to V8's format (version 15). */
export function serialize(value) {
  const writer = new Writer();
  writer.byte(T.VERSION);
  writer.byte(WRITE_VERSION);
  writer.value(value);
  return writer.bytes.slice(0, writer.pos);
}

/**
 * Serializes many values into one growing buffer, each with its own header,
 * so a batch of mutations crosses into wasm as one byte array. A value that
 * fails to serialize leaves the buffer as it was.
 */
export class ValueWriter {
  #writer = new Writer();

  /** Appends `value` in V8's format; returns the end offset. */
  append(value) {
    const writer = this.#writer;
    const start = writer.pos;
    try {
      writer.byte(T.VERSION);
      writer.byte(WRITE_VERSION);
      writer.value(value);
    } catch (err) {
      writer.pos = start;
      throw err;
    } finally {
      writer.forgetObjects();
    }
    return writer.pos;
  }

  /** Appends raw bytes; returns the end offset. */
  appendBytes(bytes) {
    // A view on a detached buffer has no bytes (Deno stores it as empty);
    // copying from it would throw.
    if (typedArrayLength.call(bytes) !== 0) this.#writer.raw(bytes);
    return this.#writer.pos;
  }

  /** Appends a u64 as 8 little-endian bytes (a KvU64); returns the end offset. */
  appendLe64(value) {
    const writer = this.#writer;
    writer.reserve(8);
    writer.view.setBigUint64(writer.pos, value, true);
    writer.pos += 8;
    return writer.pos;
  }

  get length() {
    return this.#writer.pos;
  }

  /** The bytes it holds room for. */
  get capacity() {
    return this.#writer.bytes.length;
  }

  /** Forgets what it holds, keeping the buffer. */
  clear() {
    this.#writer.pos = 0;
  }

  bytes() {
    return this.#writer.bytes.subarray(0, this.#writer.pos);
  }
}

// Deno's error for stored bytes that do not deserialize; what is wrong with
// them is the cause.
function invalid(reason) {
  return new RangeError("could not deserialize value", { cause: reason });
}

// Strings of up to SHORT_STRING bytes are built from a scratch array of
// their length in one call: adding characters one by one makes a new string
// at each step, and a TextDecoder call needs a view of the bytes made first.
const SHORT_STRING = 24;
const SCRATCH_CODES = Array.from({ length: SHORT_STRING + 1 }, (_, length) => new Array(length).fill(0));

// Property names repeat from value to value (every entry of a list has the
// same ones): a small cache, indexed by a hash of the name's bytes, gives
// the same string back without building it, and V8 finds its property key
// at once.
const NAME_CACHE_SLOTS = 256;
const nameCache = new Array(NAME_CACHE_SLOTS).fill("");

// The bytes read are bytes[start, end): a value inside a read batch is read
// where it lies, without a view made for it.
class Reader {
  constructor() {
    this.bytes = null;
    this.end = 0;
    this.view = null;
    this.pos = 0;
    this.objects = [];
    this.version = 0;
  }

  reset(bytes, start, end) {
    this.bytes = bytes;
    this.end = end;
    this.view = null;
    this.pos = start;
    this.version = 0;
  }

  // Drops what the value read refers to, so that a reader kept for the
  // next value holds on to nothing.
  release() {
    this.bytes = null;
    this.view = null;
    this.objects.length = 0;
  }

  byte() {
    if (this.pos >= this.end) throw invalid("unexpected end of data");
    return this.bytes[this.pos++];
  }

  // Never past `end`: the byte there may be the next value's in a batch.
  peek() {
    return this.pos < this.end ? this.bytes[this.pos] : undefined;
  }

  varint() {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
      if (scale > 2 ** 63) throw invalid("varint too long");
    }
  }

  double() {
    if (this.pos + 8 > this.end) throw invalid("unexpected end of data");
    this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const x = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }

  /** Moves past `length` bytes; returns where they start. */
  skip(length) {
    const start = this.pos;
    if (start + length > this.end) throw invalid("unexpected end of data");
    this.pos = start + length;
    return start;
  }

  take(length) {
    const start = this.skip(length);
    return this.bytes.subarray(start, start + length);
  }

  header() {
    if (this.byte() !== T.VERSION) throw invalid("missing version header");
    this.version = this.varint();
    if (this.version < MIN_READ_VERSION || this.version > MAX_READ_VERSION) {
      throw invalid(`unsupported format version ${this.version}`);
    }
  }

  tag() {
    let tag;
    do tag = this.byte(); while (tag === T.PADDING);
    return tag;
  }

  // An ArrayBuffer followed by a view tag is consumed by that view, even
  // when the buffer was a back-reference (V8's ReadObject).
  value() {
    const tag = this.tag();
    const value = this.valueInternal(tag);
    if (
      (tag === T.ARRAY_BUFFER || tag === T.RESIZABLE_ARRAY_BUFFER || tag === T.OBJECT_REFERENCE) &&
      value instanceof ArrayBuffer && this.peek() === T.ARRAY_BUFFER_VIEW
    ) {
      this.pos++;
      return this.arrayBufferView(value);
    }
    return value;
  }

  register(object) {
    this.objects.push(object);
    return object;
  }

  oneByteString() {
    const length = this.varint();
    const start = this.skip(length);
    return this.latin1(start, start + length);
  }

  propertyName() {
    const length = this.varint();
    const start = this.skip(length);
    const end = start + length;
    if (length > SHORT_STRING) return this.latin1(start, end);
    const bytes = this.bytes;
    let hash = length;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + bytes[i]) | 0;
    const slot = hash & (NAME_CACHE_SLOTS - 1);
    const cached = nameCache[slot];
    if (cached.length === length) {
      let i = 0;
      while (i < length && cached.charCodeAt(i) === bytes[start + i]) i++;
      if (i === length) return cached;
    }
    return (nameCache[slot] = this.latin1(start, end));
  }

  latin1(start, end) {
    const bytes = this.bytes;
    const length = end - start;
    if (length <= SHORT_STRING) {
      const codes = SCRATCH_CODES[length];
      for (let i = 0; i < length; i++) codes[i] = bytes[start + i];
      return String.fromCharCode.apply(null, codes);
    }
    // ASCII (most stored text) reads the same as UTF-8, and TextDecoder
    // builds it in one step: a third less time for a 100-character string
    // than String.fromCharCode over the bytes.
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return utf8.decode(bytes.subarray(start, end));
    let out = "";
    for (let i = start; i < end; i += 8192) {
      out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 8192, end)));
    }
    return out;
  }

  twoByteString() {
    const byteLength = this.varint();
    if (byteLength % 2 !== 0) throw invalid("odd two-byte string length");
    const bytes = this.take(byteLength);
    // Code units one by one: a UTF-16 TextDecoder would replace lone surrogates.
    const units = new Array(Math.min(byteLength / 2, 8192));
    let out = "";
    for (let i = 0; i < byteLength; ) {
      let n = 0;
      for (; n < units.length && i < byteLength; i += 2) units[n++] = bytes[i] | (bytes[i + 1] << 8);
      out += String.fromCharCode.apply(null, n === units.length ? units : units.slice(0, n));
    }
    return out;
  }

  string() {
    const tag = this.tag();
    switch (tag) {
      case T.ONE_BYTE_STRING:
        return this.oneByteString();
      case T.TWO_BYTE_STRING:
        return this.twoByteString();
      case T.UTF8_STRING:
        return utf8.decode(this.take(this.varint()));
      default:
        throw invalid(`expected a string, found tag ${tag}`);
    }
  }

  bigintContents() {
    const bitfield = this.varint();
    const byteLength = Math.floor(bitfield / 2);
    const bytes = this.take(byteLength);
    let hex = "";
    for (let i = bytes.length - 1; i >= 0; i--) hex += bytes[i].toString(16).padStart(2, "0");
    const magnitude = hex === "" ? 0n : BigInt("0x" + hex);
    return bitfield % 2 === 1 ? -magnitude : magnitude;
  }

  setProperty(target, key, value) {
    // V8 defines each property as data (CreateDataProperty): a setter or a
    // read-only property of that name up the prototype chain (a frozen
    // Object.prototype, an accessor added by a library, "__proto__") must
    // neither run nor refuse it. Only such names pay for defineProperty.
    if (key in target) {
      try {
        Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
      } catch {
        throw invalid(`property ${String(key)} can not be defined`);
      }
    } else {
      target[key] = value;
    }
  }


  properties(target, endTag) {
    let count = 0;
    for (;;) {
      const tag = this.peekTagSkippingPadding();
      if (tag === endTag) {
        this.pos++;
        return count;
      }
      let key;
      if (tag === T.ONE_BYTE_STRING) {
        this.pos++;
        key = this.propertyName();
      } else {
        key = this.value();
      }
      if (typeof key !== "string" && typeof key !== "number") throw invalid("bad property key");
      this.setProperty(target, key, this.value());
      count++;
    }
  }

  peekTagSkippingPadding() {
    while (this.peek() === T.PADDING) this.pos++;
    if (this.pos >= this.end) throw invalid("unexpected end of data");
    return this.peek();
  }

  valueInternal(tag) {
    switch (tag) {
      case T.VERIFY_OBJECT_COUNT:
        this.varint();
        return this.value();
      case T.UNDEFINED:
        return undefined;
      case T.NULL:
        return null;
      case T.TRUE:
        return true;
      case T.FALSE:
        return false;
      case T.INT32: {
        const z = this.varint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case T.UINT32:
        return this.varint();
      case T.DOUBLE:
        return this.double();
      case T.BIGINT:
        return this.bigintContents();
      case T.ONE_BYTE_STRING:
        return this.oneByteString();
      case T.TWO_BYTE_STRING:
        return this.twoByteString();
      case T.UTF8_STRING:
        return utf8.decode(this.take(this.varint()));
      case T.OBJECT_REFERENCE: {
        const id = this.varint();
        if (id >= this.objects.length) throw invalid(`reference to unknown object ${id}`);
        return this.objects[id];
      }
      case T.BEGIN_OBJECT: {
        const object = this.register({});
        this.properties(object, T.END_OBJECT);
        this.varint();
        return object;
      }
      case T.BEGIN_SPARSE_ARRAY: {
        const array = this.register(new Array(this.varint()));
        this.properties(array, T.END_SPARSE_ARRAY);
        this.varint();
        this.varint();
        return array;
      }
      case T.BEGIN_DENSE_ARRAY: {
        const length = this.varint();
        if (length > this.end - this.pos) throw invalid("array longer than its data");
        const array = this.register(new Array(length));
        for (let i = 0; i < length; i++) {
          if (this.peekTagSkippingPadding() === T.THE_HOLE) {
            this.pos++;
            continue;
          }
          array[i] = this.value();
        }
        this.properties(array, T.END_DENSE_ARRAY);
        this.varint();
        this.varint();
        return array;
      }
      case T.DATE:
        return this.register(new Date(this.double()));
      case T.TRUE_OBJECT:
        return this.register(Object(true));
      case T.FALSE_OBJECT:
        return this.register(Object(false));
      case T.NUMBER_OBJECT:
        return this.register(Object(this.double()));
      case T.BIGINT_OBJECT:
        return this.register(Object(this.bigintContents()));
      case T.STRING_OBJECT: {
        const id = this.objects.push(undefined) - 1;
        return (this.objects[id] = Object(this.string()));
      }
      case T.REGEXP: {
        const id = this.objects.push(undefined) - 1;
        const source = this.string();
        const bits = this.varint();
        let flags = "";
        for (let i = 0; i < REGEXP_FLAGS.length; i++) if (bits & (1 << i)) flags += REGEXP_FLAGS[i];
        try {
          return (this.objects[id] = new RegExp(source, flags));
        } catch {
          throw invalid("bad regular expression");
        }
      }
      case T.BEGIN_MAP: {
        const map = this.register(new Map());
        while (this.peekTagSkippingPadding() !== T.END_MAP) {
          const key = this.value();
          map.set(key, this.value());
        }
        this.pos++;
        this.varint();
        return map;
      }
      case T.BEGIN_SET: {
        const set = this.register(new Set());
        while (this.peekTagSkippingPadding() !== T.END_SET) set.add(this.value());
        this.pos++;
        this.varint();
        return set;
      }
      case T.ARRAY_BUFFER: {
        const bytes = this.take(this.varint());
        return this.register(bytes.slice().buffer);
      }
      case T.RESIZABLE_ARRAY_BUFFER: {
        const byteLength = this.varint();
        const maxByteLength = this.varint();
        const bytes = this.take(byteLength);
        if (maxByteLength < byteLength) throw invalid("resizable buffer shorter than its contents");
        const buffer = new ArrayBuffer(byteLength, { maxByteLength });
        new Uint8Array(buffer).set(bytes);
        return this.register(buffer);
      }
      case T.ERROR:
        return this.error();
      default:
        throw invalid(`unsupported tag ${tag}`);
    }
  }

  arrayBufferView(buffer) {
    const tag = this.byte();
    const byteOffset = this.varint();
    const byteLength = this.varint();
    const flags = this.version >= 14 ? this.varint() : 0;
    const ctor = VIEW_CTOR_BY_TAG.get(tag);
    if (ctor === undefined) throw invalid(`unsupported view tag ${tag}`);
    if (byteOffset + byteLength > buffer.byteLength) throw invalid("view outside its buffer");
    const lengthTracking = (flags & 1) === 1;
    let view;
    if (ctor === DataView) {
      view = lengthTracking ? new DataView(buffer, byteOffset) : new DataView(buffer, byteOffset, byteLength);
    } else {
      const size = ctor.BYTES_PER_ELEMENT;
      if (byteOffset % size !== 0 || byteLength % size !== 0) throw invalid("misaligned view");
      view = lengthTracking ? new ctor(buffer, byteOffset) : new ctor(buffer, byteOffset, byteLength / size);
    }
    return this.register(view);
  }

  error() {
    const id = this.objects.push(undefined) - 1;
    let ctor = Error;
    let message;
    let stack;
    let hasCause = false;
    let cause;
    for (;;) {
      const tag = this.byte();
      if (tag === E.END) break;
      if (ERROR_BY_TAG.has(tag)) ctor = ERROR_BY_TAG.get(tag);
      else if (tag === E.MESSAGE) message = this.string();
      else if (tag === E.STACK) stack = this.string();
      else if (tag === E.CAUSE) {
        hasCause = true;
        cause = this.value();
      } else throw invalid(`unsupported error tag ${tag}`);
    }
    const error = message === undefined ? new ctor() : new ctor(message);
    if (stack === undefined) delete error.stack;
    else Object.defineProperty(error, "stack", { value: stack, writable: true, configurable: true });
    if (hasCause) Object.defineProperty(error, "cause", { value: cause, writable: true, configurable: true });
    return (this.objects[id] = error);
  }
}

// One reader serves every value. A value read while another is (from a
// setter on Object.prototype that reads the database) gets one of its own.
let spareReader = new Reader();

/** Reads a value in V8's format (versions 13 to 16) from bytes[start, end). */
export function deserialize(bytes, start = 0, end = bytes.length) {
  const reader = spareReader ?? new Reader();
  spareReader = null;
  try {
    reader.reset(bytes, start, end);
    reader.header();
    const value = reader.value();
    if (reader.pos !== end) throw invalid("trailing bytes");
    return value;
  } finally {
    reader.release();
    spareReader = reader;
  }
}
