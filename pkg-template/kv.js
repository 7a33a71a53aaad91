// The JS face of webkv: the classes of Deno's KV API, with Deno's argument
// handling (ext/kv/01_db.ts), over the wasm bindings that do the work. Only
// JS idioms live here: classes, async iteration and argument shapes.

import * as wasm from "./webkv_wasm.js";
import { deserialize, serialize } from "./v8.js";

let loadWasm = null;
let wasmReady = null;

/** Called once by each runtime's entry file with how to load the .wasm. */
export function setWasmLoader(loader) {
  loadWasm = loader;
}

function ensureWasm() {
  wasmReady ??= Promise.resolve()
    .then(() => loadWasm());
  return wasmReady;
}

const constructToken = Symbol("webkv.construct");
const commitVersionstampSymbol = Symbol("KvCommitVersionstamp");

/**
 * Opens a database. `":memory:"` is in memory; no path or a name opens a
 * named database (held in memory where IndexedDB is not available).
 */
export async function openKv(path = undefined, options = undefined) {
  if (path !== undefined && typeof path !== "string") {
    throw new TypeError("path must be a string");
  }
  if (typeof path === "string" && /^https?:\/\//.test(path)) {
    throw new TypeError("KV Connect URLs are not supported yet by webkv");
  }
  void options;
  await ensureWasm();
  return new Kv(wasm.openMemory(), constructToken);
}

/** Deletes a named browser database; a no-op where databases are in memory. */
export async function deleteKv(name = undefined) {
  void name;
}

/** Bytes of WebAssembly memory in use (0 before the first `openKv`). */
export function wasmMemoryBytes() {
  return wasmReady === null ? 0 : wasm.wasmMemoryBytes();
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
}

// Value encodings, as KV Connect numbers them.
const ENCODING_V8 = 1;
const ENCODING_LE64 = 2;
const ENCODING_BYTES = 3;

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
).get;

/** `[encoding, bytes]`: a top-level Uint8Array is raw bytes and a KvU64 is LE64, as in Deno. */
function rawValue(value) {
  if (typedArrayTag.call(value) === "Uint8Array") return [ENCODING_BYTES, value];
  if (value instanceof KvU64) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value.value, true);
    return [ENCODING_LE64, bytes];
  }
  return [ENCODING_V8, serialize(value)];
}

function decodeValue(encoding, bytes) {
  switch (encoding) {
    case ENCODING_V8:
      return deserialize(bytes);
    case ENCODING_BYTES:
      return bytes;
    case ENCODING_LE64:
      return new KvU64(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    default:
      throw new TypeError("Invalid value type");
  }
}

/** An entry from the bindings' `[key, encoding, bytes, versionstamp]`. */
function toEntry(raw) {
  return { key: raw[0], value: decodeValue(raw[1], raw[2]), versionstamp: raw[3] };
}

function toEntries(raws) {
  return raws.map(toEntry);
}

// Reads `key.length` as Deno does, so a missing key fails with the same TypeError.
function endsWithCommitVersionstamp(key) {
  return key.length && key[key.length - 1] === commitVersionstampSymbol;
}

/** Deno writes `[..., kv.commitVersionstamp()]` keys as a separate mutation type. */
function resolveVersionstampKeys(mutations) {
  for (const mutation of mutations) {
    const key = mutation[0];
    if (endsWithCommitVersionstamp(key) && mutation[1] === "set") {
      mutation[0] = key.slice(0, key.length - 1);
      mutation[1] = "setSuffixVersionstampedKey";
    }
  }
  return mutations;
}

function validateExpireIn(expireIn) {
  if (expireIn === undefined) return;
  if (typeof expireIn !== "number" || !Number.isInteger(expireIn) || expireIn < 0) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${expireIn}`);
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
    const raw = await this.#db.get(key, options?.consistency ?? "strong");
    // Deno hands a missing key back as the caller's own array.
    return raw === null ? { key, value: null, versionstamp: null } : toEntry(raw);
  }

  async getMany(keys, options = undefined) {
    const raws = await this.#db.getMany(keys, options?.consistency ?? "strong");
    return raws.map((raw, i) => (raw === null ? { key: keys[i], value: null, versionstamp: null } : toEntry(raw)));
  }

  async set(key, value, options = undefined) {
    validateExpireIn(options?.expireIn);
    let versionstamp;
    if (endsWithCommitVersionstamp(key)) {
      const mutations = resolveVersionstampKeys([[key, "set", rawValue(value), options?.expireIn]]);
      versionstamp = await this.#db.commit([], mutations, 0);
    } else {
      const [encoding, bytes] = rawValue(value);
      versionstamp = await this.#db.set(key, encoding, bytes, options?.expireIn);
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
        toEntries(
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

  async enqueue(_value, _options = undefined) {
    throw new TypeError("Queues are not supported yet by webkv");
  }

  async listenQueue(_handler) {
    throw new TypeError("Queues are not supported yet by webkv");
  }

  watch(_keys, _options = undefined) {
    throw new TypeError("watch is not supported yet by webkv");
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
  #mutations = [];
  #enqueues = [];

  constructor(db = undefined, token = undefined) {
    if (token !== constructToken) {
      throw new TypeError("AtomicOperation can not be constructed: use Kv.atomic instead");
    }
    this.#db = db;
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
      let type;
      let value = null;
      let expireIn = undefined;
      switch (mutation.type) {
        case "delete":
          type = "delete";
          if (mutation.value) {
            throw new TypeError("Invalid mutation 'delete' with value");
          }
          break;
        case "set":
          if (typeof mutation.expireIn === "number") {
            validateExpireIn(mutation.expireIn);
            expireIn = mutation.expireIn;
          }
        /* falls through */
        case "sum":
        case "min":
        case "max":
          type = mutation.type;
          if (!Object.hasOwn(mutation, "value")) {
            throw new TypeError(`Invalid mutation '${type}' without value`);
          }
          value = rawValue(mutation.value);
          break;
        default:
          throw new TypeError("Invalid mutation type");
      }
      this.#mutations.push([key, type, value, expireIn]);
    }
    return this;
  }

  sum(key, n) {
    this.#mutations.push([key, "sum", rawValue(new KvU64(n)), undefined]);
    return this;
  }

  min(key, n) {
    this.#mutations.push([key, "min", rawValue(new KvU64(n)), undefined]);
    return this;
  }

  max(key, n) {
    this.#mutations.push([key, "max", rawValue(new KvU64(n)), undefined]);
    return this;
  }

  set(key, value, options = undefined) {
    validateExpireIn(options?.expireIn);
    this.#mutations.push([key, "set", rawValue(value), options?.expireIn]);
    return this;
  }

  delete(key) {
    this.#mutations.push([key, "delete", null, undefined]);
    return this;
  }

  enqueue(_value, _options = undefined) {
    throw new TypeError("Queues are not supported yet by webkv");
  }

  async commit() {
    const versionstamp = await this.#db.commit(
      this.#checks,
      resolveVersionstampKeys(this.#mutations),
      this.#enqueues.length,
    );
    if (versionstamp === null) return { ok: false };
    return { ok: true, versionstamp };
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
