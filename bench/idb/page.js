// The browser side of bench/idb/run.mjs: the same workloads on webkv's named
// (IndexedDB-backed) database, raw IndexedDB, idb-keyval and Dexie, exposed
// as `window.bench` for the runner to drive one step at a time.
//
// Nothing here touches IndexedDB at load time, so that a freshly launched
// browser's first IndexedDB access is the one `bench.cold` times.
import { deleteKv, openKv, wasmMemoryBytes } from "/pkg/browser.js";
import * as idbKeyval from "/node_modules/idb-keyval/dist/index.js";
import Dexie from "/node_modules/dexie/dist/dexie.mjs";

const key = (prefix, i) => [prefix, i];
const value = (i) => ({ n: i, text: "value " + i });

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function completion(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

function fail(message) {
  throw new Error(message);
}

// Each peer: open(name) → handle (connected: the first operation pays no open),
// set/get one entry in a transaction of its own, fill(prefix, n) in bulk,
// list(prefix, n) every entry under prefix (checked), close, destroy.
const peers = {
  webkv: {
    open: (name) => openKv(name),
    coldGet: async (name, k) => {
      const kv = await openKv(name);
      return [(await kv.get(k)).value, kv];
    },
    set: (kv, k, v) => kv.set(k, v),
    get: async (kv, k) => (await kv.get(k)).value,
    async fill(kv, prefix, n) {
      // Atomic batches of 1000 sets, as an application would load data.
      for (let b = 0; b < n; b += 1000) {
        const op = kv.atomic();
        for (let i = b; i < Math.min(n, b + 1000); i++) op.set(key(prefix, i), value(i));
        if (!(await op.commit()).ok) fail("webkv: atomic fill failed");
      }
    },
    async list(kv, prefix, n) {
      let i = 0;
      for await (const e of kv.list({ prefix: [prefix] })) {
        if (e.key[1] !== i || e.value.n !== i) fail(`webkv: list out of order at ${i}`);
        i++;
      }
      return i;
    },
    close: async (kv) => void (await kv.close()),
    destroy: (name) => deleteKv(name),
  },

  idb: {
    async open(name) {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore("kv");
      return await request(req);
    },
    async coldGet(name, k) {
      const db = await this.open(name);
      return [await this.get(db, k), db];
    },
    // One readwrite transaction per put, resolved on `complete`.
    async set(db, k, v) {
      const tx = db.transaction("kv", "readwrite");
      tx.objectStore("kv").put(v, k);
      await completion(tx);
    },
    // One readonly transaction per get.
    get: (db, k) => request(db.transaction("kv", "readonly").objectStore("kv").get(k)),
    async fill(db, prefix, n) {
      const tx = db.transaction("kv", "readwrite");
      const store = tx.objectStore("kv");
      for (let i = 0; i < n; i++) store.put(value(i), key(prefix, i));
      await completion(tx);
    },
    // getAll over the prefix's key range: [prefix] < [prefix, i] < [prefix, []].
    async list(db, prefix, n) {
      const range = IDBKeyRange.bound([prefix], [prefix, []]);
      const values = await request(db.transaction("kv", "readonly").objectStore("kv").getAll(range));
      for (let i = 0; i < values.length; i++) if (values[i].n !== i) fail(`idb: getAll out of order at ${i}`);
      return values.length;
    },
    close: (db) => db.close(),
    destroy: (name) => request(indexedDB.deleteDatabase(name)),
  },

  "idb-keyval": {
    // createStore opens lazily; a first read connects it.
    async open(name) {
      const store = idbKeyval.createStore(name, "kv");
      await idbKeyval.get(["none"], store);
      return store;
    },
    async coldGet(name, k) {
      const store = idbKeyval.createStore(name, "kv");
      return [await idbKeyval.get(k, store), store];
    },
    set: (store, k, v) => idbKeyval.set(k, v, store),
    get: (store, k) => idbKeyval.get(k, store),
    fill: (store, prefix, n) =>
      idbKeyval.setMany(Array.from({ length: n }, (_, i) => [key(prefix, i), value(i)]), store),
    // idb-keyval has no range read: entries() is getAllKeys + getAll of the
    // whole store, which holds only this prefix in the list workload.
    async list(store, prefix, n) {
      const entries = await idbKeyval.entries(store);
      for (let i = 0; i < entries.length; i++) {
        if (entries[i][0][0] !== prefix || entries[i][1].n !== i) fail(`idb-keyval: entries out of order at ${i}`);
      }
      return entries.length;
    },
    close: (store) => store("readonly", (s) => s.transaction.db.close()),
    destroy: (name) => request(indexedDB.deleteDatabase(name)),
  },

  dexie: {
    make(name) {
      const db = new Dexie(name);
      db.version(1).stores({ kv: "" }); // outbound primary keys, as the others
      return db;
    },
    async open(name) {
      const db = this.make(name);
      await db.open();
      return db;
    },
    async coldGet(name, k) {
      const db = this.make(name);
      return [await db.table("kv").get(k), db]; // opens on first use
    },
    set: (db, k, v) => db.table("kv").put(v, k),
    get: (db, k) => db.table("kv").get(k),
    fill: (db, prefix, n) =>
      db.table("kv").bulkPut(
        Array.from({ length: n }, (_, i) => value(i)),
        Array.from({ length: n }, (_, i) => key(prefix, i)),
      ),
    async list(db, prefix, n) {
      const values = await db.table("kv").where(":id").between([prefix], [prefix, []]).toArray();
      for (let i = 0; i < values.length; i++) if (values[i].n !== i) fail(`dexie: toArray out of order at ${i}`);
      return values.length;
    },
    close: (db) => db.close(),
    destroy: (name) => Dexie.delete(name),
  },
};

// Raw IndexedDB that commits each transaction itself (`tx.commit()`, as
// webkv's writes do) instead of letting it commit once the put's success
// event has come back: only the set workloads run it.
peers["idb-commit"] = {
  ...peers.idb,
  async set(db, k, v) {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(v, k);
    tx.commit();
    await completion(tx);
  },
};

const open = new Map(); // database name → [peer, handle]

function handle(name) {
  return open.get(name) ?? fail(`${name} is not open`);
}

// Timed workloads. Each returns the number of operations (or entries) done;
// `check` verifies the result untimed afterwards.
const workloads = {
  // n/100 rounds of 100 sets issued together, then awaited with Promise.all.
  async inflight(p, h, n) {
    for (let b = 0; b < n; b += 100) {
      const pending = [];
      for (let i = b; i < b + 100; i++) pending.push(p.set(h, key("k", i), value(i)));
      await Promise.all(pending);
    }
    return n;
  },
  // Each set awaited before the next.
  async set(p, h, n) {
    for (let i = 0; i < n; i++) await p.set(h, key("k", i), value(i));
    return n;
  },
  // Each get of an existing key awaited before the next.
  async get(p, h, n) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (await p.get(h, key("g", i))).n;
    if (sum !== (n * (n - 1)) / 2) fail(`get: sum ${sum}`);
    return n;
  },
  async list(p, h, n) {
    const count = await p.list(h, "l", n);
    if (count !== n) fail(`list: ${count} entries, expected ${n}`);
    return n;
  },
};

async function checkWritten(p, h, n) {
  for (const i of [0, n >> 1, n - 1]) {
    if ((await p.get(h, key("k", i)))?.n !== i) fail(`entry ${i} missing after the timed writes`);
  }
}

window.bench = {
  userAgent: navigator.userAgent,

  async open(peer, name) {
    open.set(name, [peers[peer], await peers[peer].open(name)]);
  },

  /** Bulk-loads n entries under prefix; returns the time it took (ms). */
  async fill(name, prefix, n) {
    const [p, h] = handle(name);
    const t0 = performance.now();
    await p.fill(h, prefix, n);
    return performance.now() - t0;
  },

  /** Runs one timed workload; returns { ms, ops }. */
  async run(name, workload, n) {
    const [p, h] = handle(name);
    globalThis.gc?.();
    const t0 = performance.now();
    const ops = await workloads[workload](p, h, n);
    const ms = performance.now() - t0;
    if (workload === "inflight" || workload === "set") await checkWritten(p, h, n);
    return { ms, ops };
  },

  async close(name, destroy = true) {
    const [p, h] = handle(name);
    await p.close(h);
    open.delete(name);
    if (destroy) await p.destroy(name);
  },

  async destroy(peer, name) {
    await peers[peer].destroy(name);
  },

  /**
   * The cold-open measurement: from before the open call to the first get's
   * result. Returns { ms, found } (found: the get returned the stored value).
   */
  async cold(peer, name, i, n) {
    const p = peers[peer];
    const t0 = performance.now();
    const [v, h] = await p.coldGet(name, key("c", i));
    const ms = performance.now() - t0;
    open.set(name, [p, h]);
    // Untimed: webkv's wasm memory once 1,000 random entries were read
    // (issue 13's memory measure; it counts what the open loaded too).
    let wasmBytes = null;
    if (peer === "webkv" && n > 1) {
      for (let g = 0; g < 1000; g++) await p.get(h, key("c", Math.floor(Math.random() * n)));
      wasmBytes = wasmMemoryBytes();
    }
    return { ms, found: v?.n === i, wasmBytes };
  },
};
window.benchReady = true;
