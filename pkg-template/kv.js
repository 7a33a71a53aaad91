// The JS face of webkv: the classes of Deno's KV API, with Deno's argument
// handling (ext/kv/01_db.ts), over the wasm bindings that do the work. Only
// JS idioms live here: classes, async iteration and argument shapes.

import { deserialize, serialize, ValueWriter } from "./v8.js";

// The loaded wasm-bindgen glue, set once its load completes: the browser
// build (webkv_wasm.js, with IndexedDB) or the server build
// (webkv_server.js, with SQLite), whichever the runtime's entry file loads.
// kv.js imports neither, so an entry carries only the wasm it uses.
let wasm = null;
let loadWasm = null;
let wasmReady = null;
// Whether the loaded build has the IndexedDB backend (openIndexedDb,
// hasIndexedDb, deleteIndexedDb, warmUp), as the entry file says.
let indexedDbBuild = false;

/**
 * Called by each runtime's entry file with how to load the .wasm: `loader`
 * resolves to the initialized glue module, and `backends.indexedDb` says
 * whether that build has the IndexedDB backend. A later call (before the
 * first database opens) replaces the loader, and a load already started
 * with the old one is forgotten.
 */
export function setWasmLoader(loader, backends = {}) {
  loadWasm = { loader, indexedDb: backends.indexedDb === true };
  wasmReady = null;
}

let wasmSourceHandler = null;

/** Called by the browser entry: how `setWasmSource` takes effect there. */
export function setWasmSourceHandler(handler) {
  wasmSourceHandler = handler;
}

/**
 * Where a browser fetches the .wasm from, for bundles that move or rename
 * it (by default: the file beside the package's browser.js). Call it before
 * the first `openKv`; `source` is a URL, a Response or a WebAssembly.Module.
 */
export function setWasmSource(source) {
  if (wasmSourceHandler === null) {
    throw new TypeError("setWasmSource is for browsers: this runtime loads the wasm itself");
  }
  wasmSourceHandler(source);
}

/**
 * Starts loading the wasm now, so that the first `openKv` does not wait for
 * the download and compilation; a failure surfaces there.
 */
export function preloadWasm() {
  ensureWasm().catch(() => {});
}

/**
 * Once the wasm is loaded and the page has a moment, runs the code a first
 * open runs (src/bindings/warm_up.rs, then a round trip on a database in
 * memory): the browser compiles wasm functions on first use, which would
 * otherwise slow the page's first openKv.
 */
export function warmUpWhenIdle() {
  ensureWasm()
    .then(() => new Promise((resolve) => setTimeout(resolve, 0)))
    .then(async () => {
      if (indexedDbBuild) wasm.warmUp();
      const kv = new Kv(wasm.openMemory(), constructToken);
      await kv.set(["warm"], { warm: true });
      await kv.get(["warm"]);
      for await (const _ of kv.list({ prefix: [] }));
      kv.close();
    })
    .catch(() => {});
}

function ensureWasm() {
  if (wasmReady === null) {
    const load = loadWasm;
    wasmReady = Promise.resolve()
      .then(() => load.loader())
      .then((glue) => {
        // An entry's loaders (setWasmSource's too) all load the same glue.
        wasm = glue;
        indexedDbBuild = load.indexedDb;
      });
  }
  return wasmReady;
}

/** Whether databases can live in IndexedDB here: a browser build, in a runtime with IndexedDB. */
function hasIndexedDb() {
  return indexedDbBuild && wasm.hasIndexedDb();
}

const constructToken = Symbol("webkv.construct");
const commitVersionstampSymbol = Symbol("KvCommitVersionstamp");

/** DENO_KV_ACCESS_TOKEN from the environment, where the runtime has one. */
function environmentToken() {
  try {
    const fromDeno = globalThis.Deno?.env?.get("DENO_KV_ACCESS_TOKEN");
    if (fromDeno) return fromDeno;
  } catch {
    // No --allow-env: fall through.
  }
  return globalThis.process?.env?.DENO_KV_ACCESS_TOKEN;
}

let sqliteSupport = null;

/**
 * Called by the Node/Bun and Deno entry files: how `openKv(path)` reaches
 * the runtime's SQLite (pkg-template/sqlite.js).
 */
export function setSqliteSupport(support) {
  sqliteSupport = support;
}

let durableObjectSupport = null;

/**
 * Called by the workerd entry: `support(storage)` returns `{ key,
 * connection }` for a Durable Object's storage (pkg-template/durable-object.js)
 * and throws a TypeError for anything else.
 */
export function setDurableObjectSupport(support) {
  durableObjectSupport = support;
}

// The Durable Object connection of each Kv opened on one (for `Kv.alarm`).
const durableObjectConnections = new WeakMap();

/** What `openKv(path)` throws where the runtime has no SQLite at all. */
function noSqlite(path) {
  return new TypeError(
    `openKv(${JSON.stringify(path)}): this runtime has no SQLite to keep a database file in. ` +
      'Use openKv() or openKv(":memory:") for a database in memory, or openKv("http(s)://...") for a ' +
      "KV Connect server such as denokv (denokv --sqlite-path FILE serve); files need Node 22.5+, Bun or Deno",
  );
}

/**
 * Opens a database. `":memory:"` is in memory; no path or a name opens a
 * named database (held in memory where IndexedDB is not available); an
 * `http(s)://` URL is a KV Connect server such as `denokv`.
 */
export async function openKv(path = undefined, options = undefined) {
  if (durableObjectSupport !== null && typeof path === "object" && path !== null) {
    return openDurableObject(path);
  }
  if (path !== undefined && typeof path !== "string") {
    throw new TypeError("path must be a string");
  }
  // Deno's checks: a typo such as ":memory" must not open a database.
  if (path === "") throw new TypeError("Filename cannot be empty");
  if (path?.startsWith(":") && path !== ":memory:") {
    throw new TypeError("Filename cannot start with ':' unless prefixed with './'");
  }
  await ensureWasm();
  if (typeof path === "string" && /^https?:\/\//i.test(path)) {
    const accessToken = options?.accessToken ?? environmentToken();
    if (!accessToken) {
      throw new TypeError(
        "Missing DENO_KV_ACCESS_TOKEN environment variable. Please set it to your access token from https://dash.deno.com/account.",
      );
    }
    const db = wasm.openRemote(path, accessToken);
    try {
      await db.connect();
    } catch (err) {
      db.dispose();
      throw err;
    }
    return new Kv(db, constructToken);
  }
  if (path === undefined && !hasIndexedDb()) {
    return new Kv(wasm.openMemory(), constructToken);
  }
  if (path === ":memory:") {
    return new Kv(wasm.openMemory(), constructToken);
  }
  if (!hasIndexedDb()) {
    // A file in Deno's SQLite format, shared with Deno, denokv and other
    // processes; never silently a database in memory.
    if (sqliteSupport === null) throw noSqlite(path);
    const { canonical, connect } = await sqliteSupport(path);
    return new Kv(wasm.openSqlite(canonical, connect), constructToken);
  }
  return new Kv(await wasm.openIndexedDb(path ?? DEFAULT_NAME), constructToken);
}

/** `openKv(ctx.storage)`: the database in a Durable Object's SQLite storage. */
async function openDurableObject(storage) {
  const opened = durableObjectSupport(storage);
  await ensureWasm();
  const kv = new Kv(wasm.openDurableObject(opened.key, opened.connection), constructToken);
  durableObjectConnections.set(kv, opened.connection);
  return kv;
}

/** The database `openKv()` opens when given no path. */
const DEFAULT_NAME = "default";

/** Deletes a named browser database; a no-op where databases are in memory. */
export async function deleteKv(name = undefined) {
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError("name must be a string");
  }
  await ensureWasm();
  if (name === ":memory:" || !hasIndexedDb()) return;
  await wasm.deleteIndexedDb(name ?? DEFAULT_NAME);
}

/** Bytes of WebAssembly memory in use (0 before the first `openKv`). */
export function wasmMemoryBytes() {
  return wasm === null ? 0 : wasm.wasmMemoryBytes();
}

const MIN_U64 = 0n;
const MAX_U64 = 0xffffffffffffffffn;

export class KvU64 {
  value;

  constructor(value) {
    if (typeof value !== "bigint") {
      throw new TypeError(`Value must be a bigint: received ${typeof value}`);
    }
    if (value < MIN_U64) {
      throw new RangeError(`Value must be a positive bigint: received ${value}`);
    }
    if (value > MAX_U64) {
      throw new RangeError("Value must fit in a 64-bit unsigned integer");
    }
    this.value = value;
    Object.freeze(this);
  }

  valueOf() {
    return this.value;
  }

  toString() {
    return this.value.toString();
  }

  get [Symbol.toStringTag]() {
    return "Deno.KvU64";
  }

  // Printed as Deno prints its own: `[Deno.KvU64: 15n]`.
  [Symbol.for("Deno.customInspect")]() {
    return `[Deno.KvU64: ${this.value}n]`;
  }

  [Symbol.for("nodejs.util.inspect.custom")]() {
    return `[Deno.KvU64: ${this.value}n]`;
  }
}

// Value encodings, as KV Connect numbers them.
const ENCODING_V8 = 1;
const ENCODING_LE64 = 2;
const ENCODING_BYTES = 3;

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
).get;

function le64(value) {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
}

/**
 * Appends `value` to `values` as Deno stores it (a top-level Uint8Array as
 * raw bytes, a KvU64 as LE64, anything else in V8's format); returns the
 * encoding.
 */
function appendValue(values, value) {
  if (typedArrayTag.call(value) === "Uint8Array") {
    values.appendBytes(value);
    return ENCODING_BYTES;
  }
  if (value instanceof KvU64) {
    values.appendBytes(le64(value.value));
    return ENCODING_LE64;
  }
  values.append(value);
  return ENCODING_V8;
}

// Mutation kinds as the bindings number them.
const SET = 0;
const DELETE = 1;
const SUM = 2;
const MIN = 3;
const MAX = 4;
const SET_SUFFIX_VERSIONSTAMPED_KEY = 5;
const MUTATION_KINDS = { set: SET, sum: SUM, min: MIN, max: MAX };
const EMPTY_BYTES = new Uint8Array(0);

function decodeValue(encoding, bytes) {
  switch (encoding) {
    case ENCODING_V8:
      return deserialize(bytes);
    case ENCODING_BYTES:
      return bytes.slice();
    case ENCODING_LE64:
      return new KvU64(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    default:
      throw new TypeError("Invalid value type");
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hexAt(bytes, start) {
  let hex = "";
  for (let j = start; j < start + 10; j++) hex += HEX[bytes[j]];
  return hex;
}

// kv.set serializes into a reused buffer: allocating one per call cost a
// sequential set a few percent. The bindings copy the bytes before it is
// reused, and a serialization that calls kv.set again (from a getter) takes
// a buffer of its own, as the spare is out while in use.
let spareWriter = null;
const SPARE_WRITER_BYTES = 64 * 1024;

function takeSpareWriter() {
  const writer = spareWriter ?? new ValueWriter();
  spareWriter = null;
  return writer;
}

function keepSpareWriter(writer) {
  if (writer.capacity > SPARE_WRITER_BYTES) return;
  writer.clear();
  spareWriter = writer;
}

// A commit's versionstamp from the bindings: a local commit's comes as its
// version (the batch index is zero), which is cheaper to hand over than text.
function versionstampFromCommit(stamp) {
  return typeof stamp === "number" ? stamp.toString(16).padStart(16, "0") + "0000" : stamp;
}

/**
 * The key as Deno hands it back for a point read: as stored, so a lone
 * surrogate reads back as U+FFFD and any ArrayBufferView as a new Uint8Array.
 */
function storedKey(key) {
  for (const part of key) {
    if (typeof part === "object" || (typeof part === "string" && !part.isWellFormed())) {
      return key.map((p) => typeof p === "string" ? p.toWellFormed() : ArrayBuffer.isView(p) ? storedBytes(p) : p);
    }
  }
  return key.slice();
}

const intrinsicGetter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const TYPED_ARRAY_GETTERS = ["buffer", "byteOffset", "byteLength"].map((name) =>
  intrinsicGetter(Object.getPrototypeOf(Uint8Array.prototype), name)
);
const DATA_VIEW_GETTERS = ["buffer", "byteOffset", "byteLength"].map((name) => intrinsicGetter(DataView.prototype, name));

/**
 * A copy of the bytes a key part's view stands for, read as the bindings
 * read it (src/bindings/helpers.js): through the intrinsic getters, and a
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

/** A point read's `[encoding, versionstamp × 10, value...]`. */
function decodeSingle(key, bytes) {
  return { key: storedKey(key), value: decodeValue(bytes[0], bytes.subarray(11)), versionstamp: hexAt(bytes, 1) };
}

/**
 * Entries from the bindings' read batch `[keys, encodings, values, valueEnds,
 * versionstamps]`; a key that was not found (encoding 0) becomes null.
 */
function decodeBatch(batch, requestedKeys = undefined) {
  const [keys, encodings, values, valueEnds, versionstamps] = batch;
  const entries = new Array(encodings.length);
  let start = 0;
  for (let i = 0; i < encodings.length; i++) {
    const end = valueEnds[i];
    if (encodings[i] === 0) {
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

// Reads `key.length` as Deno does, so a missing key fails with the same TypeError.
function endsWithCommitVersionstamp(key) {
  return key.length && key[key.length - 1] === commitVersionstampSymbol;
}

function validateExpireIn(expireIn) {
  if (expireIn === undefined) return;
  if (typeof expireIn !== "number" || !Number.isInteger(expireIn) || expireIn < 0) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${expireIn}`);
  }
}

const MAX_QUEUE_DELAY_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_BACKOFF_INTERVALS = 5;
const MAX_BACKOFF_INTERVAL_MS = 60 * 60 * 1000;

function validateQueueDelay(delay) {
  if (delay < 0) throw new TypeError(`Delay must be >= 0: received ${delay}`);
  if (delay > MAX_QUEUE_DELAY_MS) throw new TypeError(`Delay cannot be greater than 30 days: received ${delay}`);
  if (Number.isNaN(delay)) throw new TypeError("Delay cannot be NaN");
}

function validateBackoffSchedule(schedule) {
  if (schedule.length > MAX_BACKOFF_INTERVALS) {
    throw new TypeError(`Invalid backoffSchedule, max ${MAX_BACKOFF_INTERVALS} intervals allowed`);
  }
  for (let i = 0; i < schedule.length; ++i) {
    const interval = schedule[i];
    if (interval < 0 || interval > MAX_BACKOFF_INTERVAL_MS || Number.isNaN(interval)) {
      throw new TypeError(`Invalid backoffSchedule, interval at index ${i} is invalid`);
    }
  }
}

function validatePositiveInteger(name, value) {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new Error(`${name} must be a positive integer: received ${value}`);
  }
}

export class Kv {
  #db;

  constructor(db = undefined, token = undefined) {
    if (token !== constructToken) {
      throw new TypeError("Kv can not be constructed: use openKv instead");
    }
    this.#db = db;
  }

  atomic() {
    return new AtomicOperation(this.#db, constructToken);
  }

  commitVersionstamp() {
    return commitVersionstampSymbol;
  }

  async get(key, options = undefined) {
    const bytes = await this.#db.get(key, options?.consistency ?? "strong");
    // Deno hands a missing key back as the caller's own array.
    return bytes === null ? { key, value: null, versionstamp: null } : decodeSingle(key, bytes);
  }

  async getMany(keys, options = undefined) {
    const entries = decodeBatch(await this.#db.getMany(keys, options?.consistency ?? "strong"), keys);
    return entries.map((entry, i) => entry ?? { key: keys[i], value: null, versionstamp: null });
  }

  async set(key, value, options = undefined) {
    validateExpireIn(options?.expireIn);
    let versionstamp;
    if (endsWithCommitVersionstamp(key)) {
      versionstamp = (await this.atomic().set(key, value, options).commit()).versionstamp ?? null;
    } else {
      const values = takeSpareWriter();
      const encoding = appendValue(values, value);
      const answer = this.#db.set(key, encoding, values.bytes(), options?.expireIn);
      keepSpareWriter(values);
      versionstamp = versionstampFromCommit(await answer);
    }
    if (versionstamp === null) throw new TypeError("Failed to set value");
    return { ok: true, versionstamp };
  }

  async delete(key) {
    const versionstamp = await this.#db.delete(key);
    if (versionstamp === null) throw new TypeError("Failed to set value");
  }

  list(selector, options = { __proto__: null }) {
    validatePositiveInteger("Limit", options.limit);
    let batchSize = options.batchSize ?? (options.limit ?? 100);
    validatePositiveInteger("batchSize", batchSize);
    if (options.batchSize === undefined && batchSize > 500) batchSize = 500;
    const db = this.#db;
    return new KvListIterator({
      limit: options.limit,
      selector,
      cursor: options.cursor,
      reverse: options.reverse ?? false,
      consistency: options.consistency ?? "strong",
      batchSize,
      pullBatch: async (selector, cursor, reverse, consistency) =>
        decodeBatch(
          await db.list(
            selector.prefix ?? null,
            selector.start ?? null,
            selector.end ?? null,
            cursor,
            reverse,
            batchSize,
            consistency,
          ),
        ),
    }, constructToken);
  }

  async enqueue(value, options = undefined) {
    const result = await this.atomic().enqueue(value, options).commit();
    if (!result.ok) throw new TypeError("Failed to enqueue value");
    return result;
  }

  /**
   * Delivers queued messages to `handler` (several at once, as Deno does)
   * until the database closes; a handler that throws or rejects has its
   * message retried on the message's backoff schedule.
   */
  async listenQueue(handler) {
    if (this.#db.isClosed()) throw new Error("Queue already closed");
    // Over KV Connect the backend's dequeue delivers nothing and answers
    // null once the database closes.
    const running = new Set();
    for (;;) {
      const next = await this.#db.dequeue();
      if (next === null) break;
      const [id, payload] = next;
      const delivery = (async () => {
        let delivered = false;
        try {
          await handler(deserialize(payload));
          delivered = true;
        } catch (error) {
          console.error("Exception in queue handler", error);
        } finally {
          this.#db.finishMessage(id, delivered);
        }
      })();
      running.add(delivery);
      delivery.finally(() => running.delete(delivery));
    }
    await Promise.all(running);
  }

  /**
   * For a database on a Durable Object's storage, called from the object's
   * `alarm()`: resolves once the messages due now are delivered (or
   * rescheduled), with the alarm set for the next one. Elsewhere it
   * resolves at once.
   */
  async alarm() {
    await this.#db.deliverDueMessages();
    await durableObjectConnections.get(this)?.alarmSettled();
  }

  /**
   * A stream of the entries of `keys`: their current values at once, then
   * again whenever one of their versionstamps changes (with `raw: true`, on
   * every notification), as Deno's watch behaves.
   */
  watch(keys, options = { __proto__: null }) {
    const raw = options.raw ?? false;
    const handle = this.#db.watch(keys);
    const lastVersionstamps = Array.from({ length: keys.length });
    return new ReadableStream({
      async pull(controller) {
        for (;;) {
          let batch;
          try {
            batch = await handle.next();
          } catch (err) {
            handle.cancel();
            controller.error(err);
            return;
          }
          if (batch === null) {
            handle.cancel();
            controller.close();
            return;
          }
          const entries = decodeBatch(batch, keys);
          let changed = false;
          for (let i = 0; i < keys.length; i++) {
            const versionstamp = entries[i]?.versionstamp ?? null;
            if (lastVersionstamps[i] === undefined || lastVersionstamps[i] !== versionstamp) changed = true;
            lastVersionstamps[i] = versionstamp;
          }
          if (!changed && !raw) continue;
          controller.enqueue(entries.map((entry, i) => entry ?? { key: keys[i].slice(), value: null, versionstamp: null }));
          return;
        }
      },
      cancel() {
        handle.cancel();
      },
    });
  }

  close() {
    this.#db.close();
  }

  [Symbol.dispose]() {
    this.#db.dispose();
  }
}

export class AtomicOperation {
  #db;
  #checks = [];
  // Per mutation: its key, and [kind, encoding, value end, expireIn or NaN]
  // in `#columns`. Values are serialized as they are added (so an
  // unclonable value throws at once, as in Deno) into one buffer.
  #keys = [];
  #columns = [];
  #values = null;
  #enqueues = [];

  constructor(db = undefined, token = undefined) {
    if (token !== constructToken) {
      throw new TypeError("AtomicOperation can not be constructed: use Kv.atomic instead");
    }
    this.#db = db;
  }

  #push(key, kind, value, hasValue, expireIn) {
    let encoding = 0;
    if (hasValue) encoding = appendValue((this.#values ??= new ValueWriter()), value);
    const end = this.#values?.length ?? 0;
    this.#keys.push(key);
    this.#columns.push(kind, encoding, end, expireIn ?? NaN);
    return this;
  }

  check(...checks) {
    for (const check of checks) {
      this.#checks.push([check.key, check.versionstamp]);
    }
    return this;
  }

  mutate(...mutations) {
    for (const mutation of mutations) {
      const key = mutation.key;
      let expireIn = undefined;
      switch (mutation.type) {
        case "delete":
          if (mutation.value) {
            throw new TypeError("Invalid mutation 'delete' with value");
          }
          this.#push(key, DELETE, undefined, false, undefined);
          continue;
        case "set":
          if (typeof mutation.expireIn === "number") {
            validateExpireIn(mutation.expireIn);
            expireIn = mutation.expireIn;
          }
        /* falls through */
        case "sum":
        case "min":
        case "max":
          if (!Object.hasOwn(mutation, "value")) {
            throw new TypeError(`Invalid mutation '${mutation.type}' without value`);
          }
          this.#push(key, MUTATION_KINDS[mutation.type], mutation.value, true, expireIn);
          continue;
        default:
          throw new TypeError("Invalid mutation type");
      }
    }
    return this;
  }

  sum(key, n) {
    return this.#push(key, SUM, new KvU64(n), true, undefined);
  }

  min(key, n) {
    return this.#push(key, MIN, new KvU64(n), true, undefined);
  }

  max(key, n) {
    return this.#push(key, MAX, new KvU64(n), true, undefined);
  }

  set(key, value, options = undefined) {
    validateExpireIn(options?.expireIn);
    return this.#push(key, SET, value, true, options?.expireIn);
  }

  delete(key) {
    return this.#push(key, DELETE, undefined, false, undefined);
  }

  enqueue(value, options = undefined) {
    if (options?.delay !== undefined) validateQueueDelay(options.delay);
    if (options?.backoffSchedule !== undefined) validateBackoffSchedule(options.backoffSchedule);
    this.#enqueues.push([
      serialize(value),
      options?.delay ?? 0,
      options?.keysIfUndelivered ?? [],
      options?.backoffSchedule ?? null,
    ]);
    return this;
  }

  async commit() {
    const keys = this.#keys.slice();
    const columns = new Float64Array(this.#columns);
    // Deno writes `[..., kv.commitVersionstamp()]` keys as their own kind.
    for (let i = 0; i < keys.length; i++) {
      if (columns[i * 4] === SET && endsWithCommitVersionstamp(keys[i])) {
        keys[i] = keys[i].slice(0, keys[i].length - 1);
        columns[i * 4] = SET_SUFFIX_VERSIONSTAMPED_KEY;
      }
    }
    const versionstamp = await this.#db.commit(
      this.#checks,
      keys,
      columns,
      this.#values?.bytes() ?? EMPTY_BYTES,
      this.#enqueues,
    );
    if (versionstamp === null) return { ok: false };
    return { ok: true, versionstamp: versionstampFromCommit(versionstamp) };
  }

  then() {
    throw new TypeError(
      "'Deno.AtomicOperation' is not a promise: did you forget to call 'commit()'",
    );
  }
}

const AsyncIteratorPrototype = Object.getPrototypeOf(
  Object.getPrototypeOf(async function* () {}).prototype,
);
const AsyncIterator = AsyncIteratorPrototype.constructor;

export class KvListIterator extends AsyncIterator {
  #selector;
  #entries = null;
  #cursorGen = null;
  #done = false;
  #lastBatch = false;
  #pullBatch;
  #limit;
  #count = 0;
  #reverse;
  #batchSize;
  #consistency;

  constructor(options = undefined, token = undefined) {
    super();
    if (token !== constructToken) {
      throw new TypeError("KvListIterator can not be constructed: use Kv.list instead");
    }
    const { limit, selector, cursor, reverse, consistency, batchSize, pullBatch } = options;
    let prefix;
    let start;
    let end;
    if (Object.hasOwn(selector, "prefix") && selector.prefix !== undefined) {
      prefix = Object.freeze(selector.prefix.slice());
    }
    if (Object.hasOwn(selector, "start") && selector.start !== undefined) {
      start = Object.freeze(selector.start.slice());
    }
    if (Object.hasOwn(selector, "end") && selector.end !== undefined) {
      end = Object.freeze(selector.end.slice());
    }
    if (prefix) {
      if (start && end) {
        throw new TypeError(
          "Selector can not specify both 'start' and 'end' key when specifying 'prefix'",
        );
      }
      if (start) this.#selector = { prefix, start };
      else if (end) this.#selector = { prefix, end };
      else this.#selector = { prefix };
    } else {
      if (start && end) {
        this.#selector = { start, end };
      } else {
        throw new TypeError(
          "Selector must specify either 'prefix' or both 'start' and 'end' key",
        );
      }
    }
    Object.freeze(this.#selector);
    this.#pullBatch = pullBatch;
    this.#limit = limit;
    this.#reverse = reverse;
    this.#consistency = consistency;
    this.#batchSize = batchSize;
    this.#cursorGen = cursor ? () => cursor : null;
  }

  get cursor() {
    if (this.#cursorGen === null) {
      throw new Error("Cannot get cursor before first iteration");
    }
    return this.#cursorGen();
  }

  async next() {
    if (this.#done || (this.#limit !== undefined && this.#count >= this.#limit)) {
      return { done: true, value: undefined };
    }
    if (!this.#entries?.length && !this.#lastBatch) {
      const batch = await this.#pullBatch(
        this.#selector,
        this.#cursorGen ? this.#cursorGen() : undefined,
        this.#reverse,
        this.#consistency,
      );
      batch.reverse();
      this.#entries = batch;
      if (batch.length < this.#batchSize) this.#lastBatch = true;
    }
    const entry = this.#entries?.pop();
    if (!entry) {
      this.#done = true;
      this.#cursorGen = () => "";
      return { done: true, value: undefined };
    }
    const selector = this.#selector;
    this.#cursorGen = () =>
      wasm.encodeCursor(selector.prefix ?? null, selector.start ?? null, selector.end ?? null, entry.key);
    this.#count++;
    return { done: false, value: entry };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
