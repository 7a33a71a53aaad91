// The browser side of a durable database: IndexedDB transactions (the Web
// Lock and the BroadcastChannel are src/bindings/idb_peers.rs). The protocol
// above these primitives is Rust (src/backend/durable); docs/storage.md
// describes both.
//
// Layout (IndexedDB database "webkv:<name>", version = layout; the byte
// formats and why they are crash-safe: docs/storage.md):
//   meta  "snapshot" -> version       the version the pages hold
//         "index"    -> Uint8Array    the page index: the snapshot's version,
//                                     the next page id, and per page its id,
//                                     key range and sizes (core/page_index.rs)
//   log   version    -> Uint8Array[]  the commit records of one write
//                                     transaction, keyed by the first one's
//                                     version
//   pages id         -> Uint8Array    a snapshot page: sorted entries. Ids
//                                     are never reused: a checkpoint writes
//                                     new pages and removes replaced ones
//   queue [due, version, n] -> { bytes, owner, until }  a queue message and
//                      the lease on it (the instance delivering it, until when)
// Layout 1 had no snapshot and no queue (meta and log only), layout 2 no
// index (pages keyed by position); both are upgraded in place.

export const LAYOUT = 3;
const STORES = ["meta", "log", "pages", "queue"];
// Queue deliveries touch only the queue, so they never wait for commits.
const QUEUE = ["queue"];
const PREFIX = "webkv:";

// Everything read back from the store is input: any script of the origin
// can write it, and so can an older or newer webkv. It is checked here
// before wasm sees it (docs/security.md).

// A queue row's bytes start with this format (src/core/record.rs); rows of
// another format are a newer webkv's, and left alone.
const MESSAGE_FORMAT = 1;
// Far above any message enqueue can make; more is not read into wasm.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
// At most one report a console line per this long; the rest are counted
// and summed up in one line at its end.
const REPORT_INTERVAL_MS = 10_000;

const isVersion = (n) => Number.isSafeInteger(n) && n >= 0;

function corrupt(what) {
  return new Error(`The stored database is corrupt: ${what}`);
}

// A short description of a value for a report (never the value itself,
// which may be huge).
function describe(value) {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor?.name ?? "view"} of ${value.byteLength} bytes`;
  switch (typeof value) {
    case "string": return `a string of ${value.length}`;
    case "object": return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
    default: return `${typeof value} ${String(value).slice(0, 24)}`;
  }
}

// An IndexedDB key, short enough for a report.
function keyText(key) {
  let text;
  try {
    text = JSON.stringify(key) ?? String(key);
  } catch {
    text = String(key);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// Console reports that a flood cannot turn into a flood of lines.
class Reporter {
  #log;
  #last = -Infinity;
  #suppressed = 0;
  #lastText = "";
  #timer = null;
  #closed = false;

  constructor(log) {
    this.#log = log;
  }

  report(text) {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#timer === null && now - this.#last >= REPORT_INTERVAL_MS) {
      this.#last = now;
      this.#log(`webkv: ${text}`);
      return;
    }
    this.#suppressed++;
    this.#lastText = text;
    this.#timer ??= setTimeout(() => this.#flush(), Math.max(0, this.#last + REPORT_INTERVAL_MS - now));
  }

  #flush() {
    this.#timer = null;
    this.#last = Date.now();
    const count = this.#suppressed;
    this.#suppressed = 0;
    this.#log(`webkv: ${count} more like the last report; the latest: ${this.#lastText}`);
  }

  close() {
    if (this.#suppressed > 0) this.#flush();
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#closed = true;
  }
}

// Why a queue row is no message webkv wrote, or null.
function queueRowProblem(key, row) {
  if (!Array.isArray(key) || key.length !== 3 || !key.every(isVersion) || key[2] > 0xffff_ffff) {
    return `its key ${keyText(key)} is not [due, version, index]`;
  }
  if (typeof row !== "object" || row === null) return `it holds ${describe(row)}`;
  const bytes = row.bytes;
  if (!(bytes instanceof Uint8Array)) return `its bytes are ${describe(bytes)}`;
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_MESSAGE_BYTES) return `its bytes are ${bytes.byteLength} long`;
  return null;
}

export function hasIndexedDb() {
  return typeof indexedDB !== "undefined" && indexedDB !== null;
}

function idbError(error, gone) {
  if (gone) {
    return new Error("The database was closed by IndexedDB: it was deleted, upgraded or cleared by another page");
  }
  if (error instanceof Error || error instanceof DOMException) {
    const detail = error.message || (error.name === "QuotaExceededError" ? "the origin's storage quota is used up" : "no details");
    return new Error(`IndexedDB failed: ${error.name}: ${detail}`);
  }
  return new Error(`IndexedDB failed: ${String(error)}`);
}

// `indexOf(version, ids, pages)` (wasm) checks a layout-2 snapshot and
// returns its page index, or throws "corrupt"; `fail` aborts the upgrade.
function upgrade(db, tx, oldVersion, indexOf, fail) {
  if (oldVersion < 1) {
    db.createObjectStore("meta");
    db.createObjectStore("log");
  }
  if (oldVersion < 2) {
    db.createObjectStore("pages");
    db.createObjectStore("queue");
    tx.objectStore("meta").put(0, "snapshot");
    tx.objectStore("meta").put(indexOf(0, [], []), "index");
    return;
  }
  if (oldVersion < 3) {
    // Layout 2 kept the snapshot's pages under their positions 0, 1, ...:
    // they keep those keys as their ids, and the index lists them.
    const meta = tx.objectStore("meta");
    const pages = tx.objectStore("pages");
    meta.get("snapshot").onsuccess = (event) => {
      const version = event.target.result ?? 0;
      pages.getAllKeys().onsuccess = (keys) => {
        pages.getAll().onsuccess = (values) => {
          try {
            meta.put(indexOf(version, keys.target.result, values.target.result), "index");
          } catch (error) {
            fail(error);
          }
        };
      };
    };
  }
}

function openDatabase(name, indexOf) {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(PREFIX + name, LAYOUT);
    } catch (error) {
      reject(idbError(error));
      return;
    }
    // Why an upgrade was aborted, if it was on purpose.
    let upgradeFailure = null;
    request.onupgradeneeded = (event) => {
      const tx = request.transaction;
      const fail = (error) => {
        upgradeFailure = error;
        tx.abort();
      };
      try {
        upgrade(request.result, tx, event.oldVersion, indexOf, fail);
      } catch (error) {
        fail(error);
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => {
      const error = request.error;
      if (upgradeFailure !== null) {
        reject(upgradeFailure);
      } else if (error?.name === "VersionError") {
        reject(new Error(`The database "${name}" was written by a newer webkv (its layout is newer than ${LAYOUT})`));
      } else {
        reject(idbError(error));
      }
    };
  });
}

// The host of one instance of database `name`, as `{ store }`: the object
// wasm sees as its `Store`.
export async function openIdbHost(name, indexOf) {
  const store = new IdbStore(name);
  try {
    store.attach(await openDatabase(name, indexOf));
  } catch (error) {
    store.close();
    throw error;
  }
  return { store };
}

export function deleteIdb(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(PREFIX + name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(idbError(request.error));
  });
}

// Reads, inside `tx`, what was committed after `after`; calls `done` with
// { snapshot (null if the log reaches back), log, reset }, the snapshot as
// { version, index }, or `fail` with a "corrupt" error if the
// stored values are not what the layout says. `reset`: the store's newest
// commit is older than `after`, so the reader's memory holds commits that
// were never durable (a forged announcement): everything is read, to load
// instead.
function readSince(tx, after, done, fail) {
  const result = { snapshot: null, log: [], reset: false };
  let snapshot;
  let newest = null;
  let waiting = 2;
  const read = () => {
    if (--waiting > 0) return;
    if (!isVersion(snapshot)) {
      fail(corrupt(`its snapshot version is ${describe(snapshot)}`));
      return;
    }
    // (A log of corrupt keys gives NaN: that is for the log read to find.)
    if ((newest ?? snapshot) < after) {
      result.reset = true;
      after = 0;
    }
    let loading = 1;
    const finish = () => --loading === 0 && done(result);
    if (after < snapshot || result.reset) {
      loading++;
      readSnapshot(tx, snapshot, (read) => {
        result.snapshot = read;
        finish();
      }, fail);
    }
    const from = Math.max(after, snapshot);
    tx.objectStore("log").getAll(IDBKeyRange.lowerBound(from, true)).onsuccess = (event) => {
      const log = [];
      for (const value of event.target.result) {
        for (const record of records(value)) {
          if (!(record instanceof Uint8Array)) {
            fail(corrupt(`a log record is ${describe(record)}`));
            return;
          }
          log.push(record);
        }
      }
      result.log = log;
      finish();
    };
  };
  tx.objectStore("meta").get("snapshot").onsuccess = (event) => {
    snapshot = event.target.result ?? 0;
    read();
  };
  // In parallel: the newest commit, which `after` should not be past.
  tx.objectStore("log").openCursor(null, "prev").onsuccess = (event) => {
    const cursor = event.target.result;
    if (cursor !== null) newest = isVersion(cursor.key) ? cursor.key + records(cursor.value).length - 1 : NaN;
    read();
  };
}

// Reads the snapshot at `version`: its index. Its pages are read when
// touched (`readPages`).
function readSnapshot(tx, version, done, fail) {
  tx.objectStore("meta").get("index").onsuccess = (event) => {
    const index = event.target.result;
    if (!(index instanceof Uint8Array)) {
      fail(corrupt(`its page index is ${describe(index)}`));
      return;
    }
    done({ version, index });
  };
}

// Adds a write's records and queue messages in `tx`: the records' bytes,
// with consecutive versions from `first`, and the messages as [key, bytes]
// pairs, or null. A version that exists already makes `add` fail with a
// ConstraintError, which aborts everything (no handler of its own: it would
// cost every commit a listener).
function store(tx, first, records, messages) {
  if (messages !== null) {
    const queue = tx.objectStore("queue");
    for (const [key, bytes] of messages) queue.add({ bytes, owner: null, until: 0 }, key);
  }
  if (records.length === 0) return;
  // One log value for the whole group, keyed by its first version:
  // IndexedDB's cost is per request, not per byte. A lone record is stored
  // bare, which clones faster.
  tx.objectStore("log").add(records.length === 1 ? records[0] : records, first);
}

// A log value is the records of one write transaction: an array, or a lone
// record (as layout 1 stored every record).
function records(value) {
  return Array.isArray(value) ? value : [value];
}

// Calls `done` with the newest committed version: the last log value's
// last record (a value's records have consecutive versions from its key),
// or the snapshot's version when the log is empty.
function newestVersion(tx, done) {
  tx.objectStore("log").openCursor(null, "prev").onsuccess = (event) => {
    const cursor = event.target.result;
    if (cursor !== null) {
      done(cursor.key + records(cursor.value).length - 1);
      return;
    }
    tx.objectStore("meta").get("snapshot").onsuccess = (event) => done(event.target.result ?? 0);
  };
}

// The IndexedDB database: every transaction this instance runs on it.
class IdbStore {
  #db;
  // "webkv:<name>", for reports.
  #name;
  // IndexedDB closed the connection (another page deletes or upgrades it).
  #gone = false;
  // Who holds a queue lease: this instance, among every tab and worker.
  #id = typeof crypto?.randomUUID === "function" ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  #appended = null;
  // Reports about what was read back from the store.
  #storedReport = new Reporter((text) => console.error(text));
  #settingAside = new Set();
  #newerMessages = new Set();

  constructor(name) {
    this.#name = PREFIX + name;
  }

  attach(db) {
    this.#db = db;
    // A newer page wants to upgrade, or the database is being deleted: let
    // it, and fail from now on instead of blocking it.
    db.onversionchange = () => {
      this.#gone = true;
      db.close();
    };
    db.onclose = () => {
      this.#gone = true;
    };
  }

  // Runs `body(tx, fail, settle)` in a transaction; once it completes,
  // calls `done(undefined, what settle was given)`, or `done(error)` if it
  // aborts.
  #start(mode, body, stores, done) {
    let tx;
    try {
      tx = this.#db.transaction(stores, mode);
    } catch (error) {
      // Once IndexedDB closed the connection, say why instead of its
      // InvalidStateError.
      done(idbError(error, this.#gone));
      return;
    }
    let failure = null;
    let value;
    const fail = (error) => {
      failure = error;
      try {
        tx.abort();
      } catch {
        // Already finished.
      }
    };
    tx.oncomplete = () => done(undefined, value);
    tx.onabort = () => done(failure ?? idbError(tx.error ?? new DOMException("The transaction was aborted", "AbortError"), this.#gone));
    try {
      body(tx, fail, (result) => (value = result));
    } catch (error) {
      fail(error);
    }
  }

  // #start as a promise.
  #run(mode, body, stores = STORES) {
    return new Promise((resolve, reject) => {
      this.#start(mode, body, stores, (error, value) => (error === undefined ? resolve(value) : reject(error)));
    });
  }

  readSince(after) {
    return this.#run("readonly", (tx, fail, settle) => readSince(tx, after, settle, fail));
  }

  // The pages stored under `ids`, in one read-only transaction: bytes, or
  // null for an id the store does not hold (a checkpoint replaced it).
  readPages(ids) {
    return this.#run(
      "readonly",
      (tx, fail, settle) => {
        const pages = new Array(ids.length).fill(null);
        const store = tx.objectStore("pages");
        ids.forEach((id, i) => {
          store.get(id).onsuccess = (event) => {
            const page = event.target.result;
            if (page === undefined) return;
            if (!(page instanceof Uint8Array)) {
              fail(corrupt(`a snapshot page is ${describe(page)}`));
              return;
            }
            pages[i] = page;
          };
        });
        settle(pages);
      },
      ["pages"],
    );
  }

  // A catching-up write: reads what was committed after `after`, hands it
  // to `prepare`, and stores what that returns (`[first, records,
  // messages]`, see `store`), all in one transaction on every store.
  write(after, prepare) {
    return this.#run("readwrite", (tx, fail) => {
      readSince(tx, after, (since) => {
        let appended;
        try {
          appended = prepare(since);
        } catch (error) {
          fail(error);
          return;
        }
        store(tx, ...appended);
      }, fail);
    });
  }

  // A blind write, prepared already (see `store`). It locks only the
  // stores it writes (`queued`: whether it enqueues), which IndexedDB starts
  // faster. It ends with a call to the `onAppended` function rather than a
  // promise, which costs the caller in wasm less.
  append(queued, first, records, messages, ticket) {
    const body = (tx) => {
      store(tx, first, records, messages);
      // Every request is made: commit now rather than after the requests'
      // success events come back, a round trip to the browser process less.
      // A failing request still aborts the transaction.
      try {
        tx.commit?.();
      } catch {
        // It has ended already (aborted): `onabort` says why.
      }
    };
    this.#start("readwrite", body, queued ? ["log", "queue"] : "log", (error) => this.#appended(ticket, error));
  }

  // `complete(ticket, error)`, error undefined on success.
  onAppended(complete) {
    this.#appended = complete;
  }

  // A checkpoint (docs/storage.md): in one transaction, hands `plan` the
  // snapshot's version, its index and the newest committed version, and
  // writes what it returns: null for nothing, or [version, index, ids,
  // pages, deleted] (new pages under new ids, the new index, the ids it no
  // longer lists), dropping the log up to `version`. Resolves to whether
  // it wrote.
  checkpoint(plan) {
    return this.#run("readwrite", (tx, fail, settle) => {
      settle(false);
      const meta = tx.objectStore("meta");
      meta.get("snapshot").onsuccess = (event) => {
        const snapshot = event.target.result ?? 0;
        meta.get("index").onsuccess = (event) => {
          const index = event.target.result;
          if (!isVersion(snapshot) || !(index instanceof Uint8Array)) {
            fail(corrupt(`its snapshot version is ${describe(snapshot)} and its index ${describe(index)}`));
            return;
          }
          newestVersion(tx, (newest) => {
            let written;
            try {
              written = plan(snapshot, index, newest);
            } catch (error) {
              fail(error);
              return;
            }
            if (written === null) return;
            const [version, newIndex, ids, pages, deleted] = written;
            // (The transaction may end under these requests: an abort, or
            // the connection closing for another page's upgrade.)
            try {
              const store = tx.objectStore("pages");
              // `add`: a page id is never written twice (a clash aborts).
              pages.forEach((page, i) => store.add(page, ids[i]));
              for (const id of deleted) store.delete(id);
              tx.objectStore("log").delete(IDBKeyRange.upperBound(version));
              meta.put(version, "snapshot");
              meta.put(newIndex, "index");
              settle(true);
            } catch (error) {
              fail(error);
            }
          });
        };
      };
    });
  }

  // Leases the first due message nobody else holds a live lease on; or
  // answers when the next one is due (a delivery time or a lease's end).
  // A lease that ends later than this instance's would (a clock that went
  // back, a corrupt row) is no lease. Rows that are no message webkv wrote
  // are set aside (see #setAside); messages of another format are left for
  // the newer webkv that wrote them.
  takeMessage(now, until) {
    const found = [];
    const latest = until + (until - now);
    const taking = this.#run("readwrite", (tx, fail, settle) => {
      let next = Infinity;
      settle({ nextDue: null });
      tx.objectStore("queue").openCursor().onsuccess = (event) => {
        const cursor = event.target.result;
        if (cursor === null) {
          settle({ nextDue: next === Infinity ? null : next });
          return;
        }
        const key = cursor.key;
        const row = cursor.value;
        const problem = queueRowProblem(key, row);
        if (problem !== null) {
          found.push([key, problem]);
          cursor.continue();
          return;
        }
        const due = key[0];
        if (due > now) {
          settle({ nextDue: Math.min(next, due) });
          return;
        }
        if (row.bytes[0] !== MESSAGE_FORMAT) {
          this.#newerMessage(key, row.bytes[0]);
          cursor.continue();
          return;
        }
        const leased = typeof row.owner === "string" && typeof row.until === "number" && row.until > now && row.until <= latest;
        if (leased && row.owner !== this.#id) {
          next = Math.min(next, row.until);
          cursor.continue();
          return;
        }
        if (leased) {
          // This instance is delivering it already.
          cursor.continue();
          return;
        }
        cursor.update({ bytes: row.bytes, owner: this.#id, until });
        settle({ key: cursor.key, bytes: row.bytes });
      };
    }, QUEUE);
    return taking.finally(() => {
      if (found.length > 0) this.#setAside(found);
    });
  }

  // A message the wasm side could not decode (`why`): set aside.
  discardMessage(key, why) {
    return this.#setAside([[key, why]]);
  }

  // Moves queue rows that can never be delivered out of the queue, into
  // `meta` under ["quarantine", "queue", key] as { key, value, problem, at }
  // (nothing reads them there; deleteKv removes them with the rest), and
  // reports them. Deleting would lose what may be someone's data; leaving
  // them would have every listener trip over them again.
  #setAside(found) {
    const fresh = found.filter(([key]) => {
      const text = keyText(key);
      if (this.#settingAside.has(text)) return false;
      this.#settingAside.add(text);
      return true;
    });
    if (fresh.length === 0) return Promise.resolve();
    const at = Date.now();
    let moved = 0;
    return this.#run("readwrite", (tx) => {
      const queue = tx.objectStore("queue");
      const meta = tx.objectStore("meta");
      for (const [key, problem] of fresh) {
        queue.get(key).onsuccess = (event) => {
          const value = event.target.result;
          if (value === undefined) return;
          meta.put({ key, value, problem, at }, ["quarantine", "queue", key]);
          queue.delete(key);
          moved++;
        };
      }
    }, ["meta", "queue"]).then(
      () => {
        if (moved === 0) return;
        const which = fresh.slice(0, 3).map(([key, problem]) => `${keyText(key)}: ${problem}`).join("; ");
        this.#storedReport.report(
          `moved ${moved} corrupt queue message(s) of database "${this.#name}" out of the queue, to its meta store under ["quarantine", "queue", key] (${which}${fresh.length > 3 ? "; ..." : ""})`,
        );
      },
      (error) => this.#storedReport.report(`could not move corrupt queue messages aside: ${error.message}`),
    ).finally(() => {
      for (const [key] of fresh) this.#settingAside.delete(keyText(key));
    });
  }

  // A queue row of a format this webkv does not know: reported once.
  #newerMessage(key, format) {
    const text = keyText(key);
    if (this.#newerMessages.has(text) || this.#newerMessages.size >= 1_000) return;
    this.#newerMessages.add(text);
    this.#storedReport.report(`left queue message ${text} of database "${this.#name}" alone: its format (${format}) is a newer webkv's`);
  }

  renewLease(key, until) {
    return this.#run("readwrite", (tx) => {
      const queue = tx.objectStore("queue");
      queue.get(key).onsuccess = (event) => {
        const row = event.target.result;
        if (row?.owner === this.#id) queue.put({ ...row, until }, key);
      };
    }, QUEUE);
  }

  // Removes a message, or moves it to `due` with new bytes and no lease;
  // only while this instance still holds its lease (a late answer after the
  // lease lapsed and another instance took the message changes nothing).
  settleMessage(key, due, bytes) {
    return this.#run("readwrite", (tx) => {
      const queue = tx.objectStore("queue");
      queue.get(key).onsuccess = (event) => {
        if (event.target.result?.owner !== this.#id) return;
        queue.delete(key);
        if (bytes !== undefined) queue.put({ bytes, owner: null, until: 0 }, [due, key[1], key[2]]);
      };
    }, QUEUE);
  }

  close() {
    this.#db?.close();
    this.#storedReport.close();
  }
}
