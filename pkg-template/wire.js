// The JS half of the boundary with the wasm bindings: the only code that
// packs or unpacks the shapes src/bindings/wire/mod.rs defines (mutation
// rows, checks, enqueues, queue messages, read batches, point reads, commit
// versionstamps). Their numbers and positions come from the wasm's
// `wireShapes()` when it loads, never from here. It imports nothing, so that
// the bindings' own tests can load it beside the Rust half and check that
// the two agree.

// The tables of wireShapes(), set once the wasm has loaded.
export let MUTATION = null;
export let ENCODING = null;
let ROW_KIND = 0;
let ROW_ENCODING = 0;
let ROW_VALUE_END = 0;
let ROW_EXPIRE_IN = 0;
let ROW_WIDTH = 0;
let CHECK_KEY = 0;
let CHECK_VERSIONSTAMP = 0;
let ENQUEUE = null;
let MESSAGE = null;
let BATCH = null;
let POINT_ENCODING = 0;
let POINT_VERSIONSTAMP = 0;
let POINT_VALUE = 0;

const SHAPE_NAMES = {
  mutationKind: ["set", "delete", "sum", "min", "max", "setSuffixVersionstampedKey"],
  valueEncoding: ["none", "v8", "le64", "bytes"],
  mutationRow: ["kind", "encoding", "valueEnd", "expireIn", "width"],
  check: ["key", "versionstamp"],
  enqueue: ["payload", "delay", "keysIfUndelivered", "backoffSchedule"],
  message: ["id", "payload"],
  readBatch: ["keys", "encodings", "values", "valueEnds", "versionstamps"],
  pointRead: ["encoding", "versionstamp", "value"],
};

/**
 * Takes the numbers of the loaded wasm's `wireShapes()`. A name this file
 * packs that the wasm does not define fails here, at load, instead of
 * packing `undefined`.
 */
export function useWireShapes(shapes) {
  for (const [table, names] of Object.entries(SHAPE_NAMES)) {
    for (const name of names) {
      if (typeof shapes?.[table]?.[name] !== "number") {
        throw new TypeError(`webkv: the wasm does not define ${table}.${name}: the .wasm and the JS files are from different builds`);
      }
    }
  }
  MUTATION = shapes.mutationKind;
  ENCODING = shapes.valueEncoding;
  ({
    kind: ROW_KIND,
    encoding: ROW_ENCODING,
    valueEnd: ROW_VALUE_END,
    expireIn: ROW_EXPIRE_IN,
    width: ROW_WIDTH,
  } = shapes.mutationRow);
  ({ key: CHECK_KEY, versionstamp: CHECK_VERSIONSTAMP } = shapes.check);
  ENQUEUE = shapes.enqueue;
  MESSAGE = shapes.message;
  BATCH = shapes.readBatch;
  POINT_ENCODING = shapes.pointRead.encoding;
  POINT_VERSIONSTAMP = shapes.pointRead.versionstamp;
  POINT_VALUE = shapes.pointRead.value;
}

/** An atomic operation's mutations, as `Database.commit` takes them. */
export class MutationRows {
  keys = [];
  rows = [];

  /** `valueEnd`: where the value ends in the operation's value buffer. */
  push(key, kind, encoding, valueEnd, expireIn) {
    const rows = this.rows;
    const at = rows.length;
    // Growing an array by its length is a slow path in V8; pushes are not.
    for (let i = 0; i < ROW_WIDTH; i++) rows.push(0);
    rows[at + ROW_KIND] = kind;
    rows[at + ROW_ENCODING] = encoding;
    rows[at + ROW_VALUE_END] = valueEnd;
    rows[at + ROW_EXPIRE_IN] = expireIn ?? NaN;
    this.keys.push(key);
  }

  /**
   * The keys and rows to commit; a set whose key `hasSuffixMarker` (Deno's
   * `[..., kv.commitVersionstamp()]`) goes as its own kind, without the
   * marker.
   */
  finish(hasSuffixMarker) {
    const keys = this.keys.slice();
    const rows = new Float64Array(this.rows);
    for (let i = 0; i < keys.length; i++) {
      const kind = i * ROW_WIDTH + ROW_KIND;
      if (rows[kind] === MUTATION.set && hasSuffixMarker(keys[i])) {
        keys[i] = keys[i].slice(0, keys[i].length - 1);
        rows[kind] = MUTATION.setSuffixVersionstampedKey;
      }
    }
    return [keys, rows];
  }
}

export function checkTuple(key, versionstamp) {
  const check = [];
  check[CHECK_KEY] = key;
  check[CHECK_VERSIONSTAMP] = versionstamp;
  return check;
}

/** `payload` is V8 bytes; `backoffSchedule` null for the default one. */
export function enqueueTuple(payload, delay, keysIfUndelivered, backoffSchedule) {
  const enqueue = [];
  enqueue[ENQUEUE.payload] = payload;
  enqueue[ENQUEUE.delay] = delay;
  enqueue[ENQUEUE.keysIfUndelivered] = keysIfUndelivered;
  enqueue[ENQUEUE.backoffSchedule] = backoffSchedule;
  return enqueue;
}

export function messageId(message) {
  return message[MESSAGE.id];
}

export function messagePayload(message) {
  return message[MESSAGE.payload];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hexAt(bytes, start) {
  let hex = "";
  for (let j = start; j < start + 10; j++) hex += HEX[bytes[j]];
  return hex;
}

/**
 * A commit's versionstamp, as the bindings answer it: a local commit's as
 * its version (the batch index is zero), which is cheaper to hand over than
 * text; any other as its hex text; null when a check failed.
 */
export function committedVersionstamp(answer) {
  return typeof answer === "number" ? answer.toString(16).padStart(16, "0") + "0000" : answer;
}

/**
 * The entry of a point read. The bindings do not send the key back:
 * `requestedKey` is the caller's, as `storedKey` makes it.
 * `decodeValue(encoding, bytes)` turns the value's bytes into its value.
 */
export function pointEntry(requestedKey, bytes, decodeValue) {
  return {
    key: storedKey(requestedKey),
    value: decodeValue(bytes[POINT_ENCODING], bytes.subarray(POINT_VALUE)),
    versionstamp: hexAt(bytes, POINT_VERSIONSTAMP),
  };
}

/**
 * The entries of a read batch, null for a key that was not found. A batch
 * read by key carries no keys: `requestedKeys` gives them.
 */
export function batchEntries(batch, requestedKeys, decodeValue) {
  const keys = batch[BATCH.keys];
  const encodings = batch[BATCH.encodings];
  const values = batch[BATCH.values];
  const valueEnds = batch[BATCH.valueEnds];
  const versionstamps = batch[BATCH.versionstamps];
  const none = ENCODING.none;
  const entries = new Array(encodings.length);
  let start = 0;
  for (let i = 0; i < encodings.length; i++) {
    const end = valueEnds[i];
    if (encodings[i] === none) {
      entries[i] = null;
      continue;
    }
    entries[i] = {
      key: keys === undefined ? storedKey(requestedKeys[i]) : keys[i],
      value: decodeValue(encodings[i], values.subarray(start, end)),
      versionstamp: hexAt(versionstamps, i * 10),
    };
    start = end;
  }
  return entries;
}

/**
 * A requested key as Deno hands it back in an entry: as stored, so a lone
 * surrogate reads back as U+FFFD and any ArrayBufferView as a new Uint8Array.
 */
export function storedKey(key) {
  for (const part of key) {
    if (typeof part === "object" || (typeof part === "string" && !part.isWellFormed())) {
      return key.map((p) => typeof p === "string" ? p.toWellFormed() : ArrayBuffer.isView(p) ? storedBytes(p) : p);
    }
  }
  return key.slice();
}

const intrinsicGetter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = intrinsicGetter(typedArrayPrototype, Symbol.toStringTag);
const TYPED_ARRAY_GETTERS = ["buffer", "byteOffset", "byteLength"].map((name) => intrinsicGetter(typedArrayPrototype, name));
const DATA_VIEW_GETTERS = ["buffer", "byteOffset", "byteLength"].map((name) => intrinsicGetter(DataView.prototype, name));

/**
 * A copy of the bytes a key part's view stands for, read as the bindings
 * read it (src/bindings/arguments.js): through the intrinsic getters, and a
 * detached buffer as no bytes.
 */
function storedBytes(view) {
  const [buffer, byteOffset, byteLength] = typedArrayTag.call(view) !== undefined ? TYPED_ARRAY_GETTERS : DATA_VIEW_GETTERS;
  let length;
  try {
    length = byteLength.call(view);
  } catch {
    return new Uint8Array(0); // a DataView on a detached buffer
  }
  if (length === 0) return new Uint8Array(0);
  return new Uint8Array(buffer.call(view), byteOffset.call(view), length).slice();
}
