// Raw-IndexedDB stand-in for the part of webkv's API the tests use (openKv,
// deleteKv, KvU64, kv.get/set/list({prefix})/atomic().check/set/sum/commit,
// kv.close). It exists only to check the harness and the tests: selected with
// WEBKV_IDB_IMPL=raw, the same tests must pass against it, which shows that a
// failure with the package comes from the package, not from the harness.
//
// One IndexedDB database "rawkv:<name>" with stores "kv" (key -> { value,
// versionstamp }) and "meta" ("version" -> number). A commit is one readwrite
// transaction over both stores (IndexedDB serializes those across tabs and
// workers), and resolves on the transaction's complete event. Keys are
// arrays of strings and numbers (valid IndexedDB keys).
// It does not import the package, so it works whatever state pkg/ is in.

const MAX_U64 = (1n << 64n) - 1n;

/** The stand-in's own KvU64 (same constructor checks and .value as the package's). */
export class KvU64 {
  value;
  constructor(value) {
    if (typeof value !== "bigint") throw new TypeError(`Value must be a bigint: received ${typeof value}`);
    if (value < 0n) throw new RangeError(`Value must be a positive bigint: received ${value}`);
    if (value > MAX_U64) throw new RangeError("Value must fit in a 64-bit unsigned integer");
    this.value = value;
    Object.freeze(this);
  }
  valueOf() {
    return this.value;
  }
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function vsString(version) {
  return version.toString(16).padStart(20, "0");
}

function encode(value) {
  return value instanceof KvU64 ? { u64: value.value } : { value };
}

function decode(record) {
  if (record === undefined) return null;
  return "u64" in record ? new KvU64(record.u64) : record.value;
}

export async function openKv(name) {
  const r = indexedDB.open(`rawkv:${name}`, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore("kv");
    r.result.createObjectStore("meta");
  };
  return new RawKv(await request(r));
}

export async function deleteKv(name) {
  await request(indexedDB.deleteDatabase(`rawkv:${name}`));
}

class RawKv {
  #db;
  constructor(db) {
    this.#db = db;
  }

  async get(key) {
    const record = await request(this.#db.transaction("kv", "readonly").objectStore("kv").get(key));
    return { key, value: decode(record), versionstamp: record?.versionstamp ?? null };
  }

  set(key, value) {
    return this.atomic().set(key, value).commit();
  }

  async *list({ prefix }) {
    const range = IDBKeyRange.bound(prefix, [...prefix, []], true, true);
    const tx = this.#db.transaction("kv", "readonly");
    const store = tx.objectStore("kv");
    const [keys, records] = await Promise.all([request(store.getAllKeys(range)), request(store.getAll(range))]);
    for (let i = 0; i < keys.length; i++) {
      yield { key: keys[i], value: decode(records[i]), versionstamp: records[i].versionstamp };
    }
  }

  atomic() {
    return new RawAtomic(this.#db);
  }

  close() {
    this.#db.close();
  }
}

class RawAtomic {
  #db;
  #checks = [];
  #ops = [];
  constructor(db) {
    this.#db = db;
  }

  check(...entries) {
    for (const e of entries) this.#checks.push([e.key, e.versionstamp]);
    return this;
  }

  set(key, value) {
    this.#ops.push(["set", key, value]);
    return this;
  }

  sum(key, n) {
    if (typeof n !== "bigint") throw new TypeError("sum takes a bigint");
    this.#ops.push(["sum", key, n]);
    return this;
  }

  commit() {
    return new Promise((resolve, reject) => {
      const tx = this.#db.transaction(["kv", "meta"], "readwrite");
      const kv = tx.objectStore("kv");
      const meta = tx.objectStore("meta");
      let result = null;
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => (result?.ok === false ? resolve(result) : reject(tx.error ?? new Error("transaction aborted")));
      // Callback style: every step runs while the transaction is active.
      const checks = [...this.#checks];
      const nextCheck = () => {
        if (checks.length === 0) return apply();
        const [key, expected] = checks.shift();
        kv.get(key).onsuccess = (ev) => {
          if ((ev.target.result?.versionstamp ?? null) !== expected) {
            result = { ok: false };
            tx.abort();
          } else {
            nextCheck();
          }
        };
      };
      const apply = () => {
        meta.get("version").onsuccess = (ev) => {
          const version = (ev.target.result ?? 0) + 1;
          const versionstamp = vsString(version);
          meta.put(version, "version");
          const ops = [...this.#ops];
          const nextOp = () => {
            if (ops.length === 0) {
              result = { ok: true, versionstamp };
              return;
            }
            const [kind, key, value] = ops.shift();
            if (kind === "set") {
              kv.put({ ...encode(value), versionstamp }, key);
              nextOp();
            } else {
              kv.get(key).onsuccess = (e) => {
                const old = e.target.result === undefined ? 0n : decode(e.target.result).value;
                kv.put({ u64: (old + value) & MAX_U64, versionstamp }, key);
                nextOp();
              };
            }
          };
          nextOp();
        };
      };
      nextCheck();
    });
  }
}
