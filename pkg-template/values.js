// Values as Deno stores them: a top-level Uint8Array as raw bytes, a KvU64
// as 8 little-endian bytes, anything else in V8's format (v8.js); and the
// one reused buffer kv.set serializes into.

import { deserialize, ValueWriter } from "./v8.js";
import { KvU64 } from "./u64.js";
import { ENCODING_BYTES, ENCODING_LE64, ENCODING_V8 } from "./wire.js";

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
).get;

/** Appends `value`'s bytes to `values` (a ValueWriter); returns its encoding. */
export function appendValue(values, value) {
  if (typedArrayTag.call(value) === "Uint8Array") {
    values.appendBytes(value);
    return ENCODING_BYTES;
  }
  if (value instanceof KvU64) {
    values.appendLe64(value.value);
    return ENCODING_LE64;
  }
  values.append(value);
  return ENCODING_V8;
}

/** The value whose bytes are bytes[start, end) (by default all of them). */
export function decodeValue(encoding, bytes, start = 0, end = bytes.length) {
  switch (encoding) {
    case ENCODING_V8:
      return deserialize(bytes, start, end);
    case ENCODING_BYTES:
      return bytes.slice(start, end);
    case ENCODING_LE64:
      return new KvU64(new DataView(bytes.buffer, bytes.byteOffset + start, 8).getBigUint64(0, true));
    default:
      throw new TypeError("Invalid value type");
  }
}

// kv.set serializes into a reused buffer: allocating one per call cost a
// sequential set a few percent. The bindings copy the bytes before it is
// reused, and a serialization that calls kv.set again (from a getter) takes
// a buffer of its own, as the spare is out while in use.
let spareWriter = null;
const SPARE_WRITER_BYTES = 64 * 1024;

export function takeSpareWriter() {
  const writer = spareWriter ?? new ValueWriter();
  spareWriter = null;
  return writer;
}

export function keepSpareWriter(writer) {
  if (writer.capacity > SPARE_WRITER_BYTES) return;
  writer.clear();
  spareWriter = writer;
}
