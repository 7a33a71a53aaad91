// The JS half of the boundary with the wasm bindings: the only code that
// packs or unpacks the shapes src/bindings/wire/mod.rs defines (mutation
// rows, checks, enqueues, queue messages, read batches, point reads, commit
// versionstamps). Their numbers and positions are the wasm's `wireShapes()`,
// which scripts/build.mjs writes into SHAPES below: constants, because they
// are read on every get and set. It imports nothing, so that the bindings'
// own tests can load it beside the Rust half and check that the two agree.

// wire-shapes-begin: written by scripts/build.mjs from the wasm's wireShapes(); edit the Rust, not this.
const SHAPES = {
  mutationKind: {"set":0,"delete":1,"sum":2,"min":3,"max":4,"setSuffixVersionstampedKey":5},
  valueEncoding: {"none":0,"v8":1,"le64":2,"bytes":3},
  mutationRow: {"kind":0,"encoding":1,"valueEnd":2,"expireIn":3,"width":4},
  check: {"key":0,"versionstamp":1},
  enqueue: {"payload":0,"delay":1,"keysIfUndelivered":2,"backoffSchedule":3},
  message: {"id":0,"payload":1},
  readBatch: {"keys":0,"encodings":1,"values":2,"valueEnds":3,"versionstamps":4},
  pointRead: {"encoding":0,"versionstamp":1,"value":11},
};
// wire-shapes-end

export const MUTATION = SHAPES.mutationKind;
export const ENCODING_NONE = SHAPES.valueEncoding.none;
export const ENCODING_V8 = SHAPES.valueEncoding.v8;
export const ENCODING_LE64 = SHAPES.valueEncoding.le64;
export const ENCODING_BYTES = SHAPES.valueEncoding.bytes;
const ROW_KIND = SHAPES.mutationRow.kind;
const ROW_ENCODING = SHAPES.mutationRow.encoding;
const ROW_VALUE_END = SHAPES.mutationRow.valueEnd;
const ROW_EXPIRE_IN = SHAPES.mutationRow.expireIn;
const ROW_WIDTH = SHAPES.mutationRow.width;
const CHECK_KEY = SHAPES.check.key;
const CHECK_VERSIONSTAMP = SHAPES.check.versionstamp;
const ENQUEUE = SHAPES.enqueue;
const MESSAGE_ID = SHAPES.message.id;
const MESSAGE_PAYLOAD = SHAPES.message.payload;
const BATCH_KEYS = SHAPES.readBatch.keys;
const BATCH_ENCODINGS = SHAPES.readBatch.encodings;
const BATCH_VALUES = SHAPES.readBatch.values;
const BATCH_VALUE_ENDS = SHAPES.readBatch.valueEnds;
const BATCH_VERSIONSTAMPS = SHAPES.readBatch.versionstamps;
const POINT_ENCODING = SHAPES.pointRead.encoding;
const POINT_VERSIONSTAMP = SHAPES.pointRead.versionstamp;
const POINT_VALUE = SHAPES.pointRead.value;

/**
 * Throws unless `shapes` (a loaded wasm's `wireShapes()`) are the ones this
 * file was built with: a .wasm and JS files from different builds must not
 * exchange bytes.
 */
export function checkWireShapes(shapes) {
  const tables = new Set([...Object.keys(SHAPES), ...Object.keys(shapes)]);
  for (const table of tables) {
    const names = new Set([...Object.keys(SHAPES[table] ?? {}), ...Object.keys(shapes[table] ?? {})]);
    for (const name of names) {
      if (SHAPES[table]?.[name] !== shapes[table]?.[name]) {
        throw new TypeError(
          `webkv: the wasm's ${table}.${name} is ${shapes[table]?.[name]}, wire.js has ${SHAPES[table]?.[name]}: ` +
            "the .wasm and the JS files are from different builds (node scripts/build.mjs rewrites wire.js's shapes)",
        );
      }
    }
  }
}

// A mutation row is pushed whole, its fields in the order SHAPES gives
// their positions: growing an array element by element, or writing past its
// end, costs an atomic operation several percent.
const ROW_FIELDS = [ROW_KIND, ROW_ENCODING, ROW_VALUE_END, ROW_EXPIRE_IN];
if (ROW_FIELDS.length !== ROW_WIDTH || ROW_FIELDS.some((_, position) => !ROW_FIELDS.includes(position))) {
  throw new TypeError("webkv: wire.js packs a mutation row other than the wasm's");
}
const [FIELD_AT_0, FIELD_AT_1, FIELD_AT_2, FIELD_AT_3] = ROW_FIELDS.map((_, position) => ROW_FIELDS.indexOf(position));

/**
 * Appends a mutation's row to `rows` (its key goes in a separate array);
 * `valueEnd` is where its value ends in the operation's value buffer.
 */
export function pushMutationRow(rows, kind, encoding, valueEnd, expireIn) {
  const fields = [kind, encoding, valueEnd, expireIn ?? NaN];
  rows.push(fields[FIELD_AT_0], fields[FIELD_AT_1], fields[FIELD_AT_2], fields[FIELD_AT_3]);
}

// The rows of a commit cross as a view of one reused Float64Array: the
// bindings copy them into wasm memory before `Database.commit` runs, so the
// view is free again once the call is made (as kv.set's spare value writer
// is), and a commit allocates no array buffer for them. It grows to the rows
// of Deno's most mutations per commit (1,000) at most: a larger commit,
// which the wasm refuses, gets a buffer of its own that is not kept.
const KEPT_ROWS = 1000 * ROW_WIDTH;
let rowScratch = new Float64Array(16 * ROW_WIDTH);

/**
 * The rows as `Database.commit` takes them, valid until the next call. A set
 * whose key (in `keys`, a copy the caller made for the commit)
 * `hasSuffixMarker`, Deno's `[..., kv.commitVersionstamp()]`, goes as its own
 * kind, without the marker.
 */
export function mutationRowsToCommit(rows, keys, hasSuffixMarker) {
  // Every key is looked at first: a caller's getter may run there, and may
  // commit another operation, which takes the scratch for its own rows.
  let suffixed = null;
  for (let i = 0; i < keys.length; i++) {
    if (rows[i * ROW_WIDTH + ROW_KIND] === MUTATION.set && hasSuffixMarker(keys[i])) {
      keys[i] = keys[i].slice(0, keys[i].length - 1);
      (suffixed ??= []).push(i);
    }
  }
  let packed;
  if (rows.length > KEPT_ROWS) {
    packed = new Float64Array(rows);
  } else {
    if (rowScratch.length < rows.length) rowScratch = new Float64Array(Math.min(KEPT_ROWS, Math.max(rows.length, 2 * rowScratch.length)));
    packed = rowScratch.subarray(0, rows.length);
    packed.set(rows);
  }
  for (const i of suffixed ?? []) packed[i * ROW_WIDTH + ROW_KIND] = MUTATION.setSuffixVersionstampedKey;
  return packed;
}

const CHECK_FIELDS = [CHECK_KEY, CHECK_VERSIONSTAMP];
const [CHECK_FIELD_AT_0, CHECK_FIELD_AT_1] = CHECK_FIELDS.map((_, position) => CHECK_FIELDS.indexOf(position));

/** Built whole, as a row is: a check is on the path of every compare-and-set. */
export function checkTuple(key, versionstamp) {
  const fields = [key, versionstamp];
  return [fields[CHECK_FIELD_AT_0], fields[CHECK_FIELD_AT_1]];
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
  return message[MESSAGE_ID];
}

export function messagePayload(message) {
  return message[MESSAGE_PAYLOAD];
}

// A versionstamp's text in one allocation: adding up two-character pieces
// makes a new string at every step, nine of them garbage, on every entry read.
const HEX_DIGIT = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0));
const HIGH = Array.from({ length: 256 }, (_, byte) => HEX_DIGIT[byte >> 4]);
const LOW = Array.from({ length: 256 }, (_, byte) => HEX_DIGIT[byte & 15]);

function hexAt(b, i) {
  return String.fromCharCode(
    HIGH[b[i]], LOW[b[i]], HIGH[b[i + 1]], LOW[b[i + 1]], HIGH[b[i + 2]], LOW[b[i + 2]], HIGH[b[i + 3]], LOW[b[i + 3]],
    HIGH[b[i + 4]], LOW[b[i + 4]], HIGH[b[i + 5]], LOW[b[i + 5]], HIGH[b[i + 6]], LOW[b[i + 6]], HIGH[b[i + 7]], LOW[b[i + 7]],
    HIGH[b[i + 8]], LOW[b[i + 8]], HIGH[b[i + 9]], LOW[b[i + 9]],
  );
}

function sameVersionstamp(b, i, j) {
  for (let k = 0; k < 10; k++) if (b[i + k] !== b[j + k]) return false;
  return true;
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
 * `decodeValue(encoding, bytes, start, end)` turns the value's bytes into its value.
 */
export function pointEntry(requestedKey, bytes, decodeValue) {
  return {
    key: storedKey(requestedKey),
    value: decodeValue(bytes[POINT_ENCODING], bytes, POINT_VALUE, bytes.length),
    versionstamp: hexAt(bytes, POINT_VERSIONSTAMP),
  };
}

/**
 * The entries of a read batch, null for a key that was not found. A batch
 * read by key carries no keys: `requestedKeys` gives them.
 */
export function batchEntries(batch, requestedKeys, decodeValue) {
  const keys = batch[BATCH_KEYS];
  const encodings = batch[BATCH_ENCODINGS];
  const values = batch[BATCH_VALUES];
  const valueEnds = batch[BATCH_VALUE_ENDS];
  const versionstamps = batch[BATCH_VERSIONSTAMPS];
  const entries = new Array(encodings.length);
  let start = 0;
  // Entries written by one commit share a versionstamp, and a listed range
  // often holds runs of them: such a run shares one string.
  let previousStamp = -1;
  let versionstamp = "";
  for (let i = 0; i < encodings.length; i++) {
    const end = valueEnds[i];
    if (encodings[i] === ENCODING_NONE) {
      entries[i] = null;
      continue;
    }
    if (previousStamp < 0 || !sameVersionstamp(versionstamps, previousStamp, i * 10)) {
      versionstamp = hexAt(versionstamps, i * 10);
    }
    previousStamp = i * 10;
    entries[i] = {
      key: keys === undefined ? storedKey(requestedKeys[i]) : keys[i],
      value: decodeValue(encodings[i], values, start, end),
      versionstamp,
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
