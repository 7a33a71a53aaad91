// Deno's KV API classes (Kv, AtomicOperation, KvListIterator) with Deno's
// argument handling (ext/kv/01_db.ts), over a database of the wasm bindings.
// Values go through values.js, and every shape handed to the bindings or
// back through wire.js.

import { deserialize, serialize, ValueWriter } from "./v8.js";
import { KvU64 } from "./u64.js";
import { appendValue, decodeValue, keepSpareWriter, takeSpareWriter } from "./values.js";
import {
  getManyKeys,
  validateBackoffSchedule,
  validateExpireIn,
  validatePositiveInteger,
  validateQueueDelay,
} from "./validate.js";
import {
  batchEntries,
  checkTuple,
  committedVersionstamp,
  ENCODING_NONE,
  enqueueTuple,
  messageId,
  messagePayload,
  MUTATION,
  mutationRowsToCommit,
  pointEntry,
  pushMutationRow,
} from "./wire.js";

const constructToken = Symbol("webkv.construct");
const commitVersionstampSymbol = Symbol("KvCommitVersionstamp");
const EMPTY_BYTES = new Uint8Array(0);

// What `Kv.alarm` awaits after delivering, for a Kv on a Durable Object.
const afterAlarms = new WeakMap();

/**
 * The Kv over a database the bindings opened; `afterAlarm`, for a Durable
 * Object's storage, resolves once the object's alarm is set for the next
 * message.
 */
export function wrapDatabase(db, afterAlarm = undefined) {
  const kv = new Kv(db, constructToken);
  if (afterAlarm) afterAlarms.set(kv, afterAlarm);
  return kv;
}

// Reads `key.length` as Deno does, so a missing key fails with the same TypeError.
function endsWithCommitVersionstamp(key) {
  return key.length && key[key.length - 1] === commitVersionstampSymbol;
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
    return bytes === null ? { key, value: null, versionstamp: null } : pointEntry(key, bytes, decodeValue);
  }

  async getMany(keys, options = undefined) {
    const list = getManyKeys(keys);
    const entries = batchEntries(await this.#db.getMany(list, options?.consistency ?? "strong"), list, decodeValue);
    return entries.map((entry, i) => entry ?? { key: list[i], value: null, versionstamp: null });
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
      versionstamp = committedVersionstamp(await answer);
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
      encodeCursor: (selector, key) =>
        db.encodeCursor(selector.prefix ?? null, selector.start ?? null, selector.end ?? null, key),
      pullBatch: async (selector, cursor, reverse, consistency) =>
        batchEntries(
          await db.list(
            selector.prefix ?? null,
            selector.start ?? null,
            selector.end ?? null,
            cursor,
            reverse,
            batchSize,
            consistency,
          ),
          undefined,
          decodeValue,
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
      const id = messageId(next);
      const payload = messagePayload(next);
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
    await afterAlarms.get(this)?.();
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
          const entries = batchEntries(batch, keys, decodeValue);
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
  // The mutations' keys, and their rows and values as wire.js packs them.
  // Values are serialized as they are added (so an unclonable value throws
  // at once, as in Deno) into one buffer.
  #keys = [];
  #rows = [];
  #values = null;
  #enqueues = [];

  constructor(db = undefined, token = undefined) {
    if (token !== constructToken) {
      throw new TypeError("AtomicOperation can not be constructed: use Kv.atomic instead");
    }
    this.#db = db;
  }

  #push(key, kind, value, hasValue, expireIn) {
    let encoding = ENCODING_NONE;
    if (hasValue) encoding = appendValue((this.#values ??= new ValueWriter()), value);
    this.#keys.push(key);
    pushMutationRow(this.#rows, kind, encoding, this.#values?.length ?? 0, expireIn);
    return this;
  }

  check(...checks) {
    for (const check of checks) {
      this.#checks.push(checkTuple(check.key, check.versionstamp));
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
          this.#push(key, MUTATION.delete, undefined, false, undefined);
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
          this.#push(key, MUTATION[mutation.type], mutation.value, true, expireIn);
          continue;
        default:
          throw new TypeError("Invalid mutation type");
      }
    }
    return this;
  }

  sum(key, n) {
    return this.#push(key, MUTATION.sum, new KvU64(n), true, undefined);
  }

  min(key, n) {
    return this.#push(key, MUTATION.min, new KvU64(n), true, undefined);
  }

  max(key, n) {
    return this.#push(key, MUTATION.max, new KvU64(n), true, undefined);
  }

  set(key, value, options = undefined) {
    validateExpireIn(options?.expireIn);
    return this.#push(key, MUTATION.set, value, true, options?.expireIn);
  }

  delete(key) {
    return this.#push(key, MUTATION.delete, undefined, false, undefined);
  }

  enqueue(value, options = undefined) {
    if (options?.delay !== undefined) validateQueueDelay(options.delay);
    if (options?.backoffSchedule !== undefined) validateBackoffSchedule(options.backoffSchedule);
    this.#enqueues.push(enqueueTuple(
      serialize(value),
      options?.delay ?? 0,
      options?.keysIfUndelivered ?? [],
      options?.backoffSchedule ?? null,
    ));
    return this;
  }

  async commit() {
    const keys = this.#keys.slice();
    const rows = mutationRowsToCommit(this.#rows, keys, endsWithCommitVersionstamp);
    const versionstamp = await this.#db.commit(
      this.#checks,
      keys,
      rows,
      this.#values?.bytes() ?? EMPTY_BYTES,
      this.#enqueues,
    );
    if (versionstamp === null) return { ok: false };
    return { ok: true, versionstamp: committedVersionstamp(versionstamp) };
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
  // The cursor is encoded only when asked for: from the last entry's key
  // (read then, as Deno reads it) once there is one, else the given cursor
  // (null: none yet), "" when done.
  #cursor = null;
  #lastEntry = null;
  #done = false;
  #lastBatch = false;
  #pullBatch;
  #encodeCursor;
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
    const { limit, selector, cursor, reverse, consistency, batchSize, pullBatch, encodeCursor } = options;
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
    this.#encodeCursor = encodeCursor;
    this.#limit = limit;
    this.#reverse = reverse;
    this.#consistency = consistency;
    this.#batchSize = batchSize;
    this.#cursor = cursor || null;
  }

  /** The cursor now, or null before the first entry of a list given none. */
  #currentCursor() {
    if (this.#lastEntry !== null) return this.#encodeCursor(this.#selector, this.#lastEntry.key);
    return this.#cursor;
  }

  get cursor() {
    const cursor = this.#currentCursor();
    if (cursor === null) {
      throw new Error("Cannot get cursor before first iteration");
    }
    return cursor;
  }

  async next() {
    if (this.#done || (this.#limit !== undefined && this.#count >= this.#limit)) {
      return { done: true, value: undefined };
    }
    if (!this.#entries?.length && !this.#lastBatch) {
      const batch = await this.#pullBatch(
        this.#selector,
        this.#currentCursor() ?? undefined,
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
      this.#lastEntry = null;
      this.#cursor = "";
      return { done: true, value: undefined };
    }
    this.#lastEntry = entry;
    this.#count++;
    return { done: false, value: entry };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
