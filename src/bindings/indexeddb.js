// The browser side of a durable database: IndexedDB transactions, the Web
// Lock that makes one instance the owner, and the BroadcastChannel the
// instances announce their commits on. The protocol above these primitives
// is Rust (src/backend/durable); docs/storage.md describes both.
//
// Layout (IndexedDB database "webkv:<name>", version = layout):
//         "snapshot" -> version       the version the pages hold
//   log   version    -> Uint8Array[]  the commit records of one write
//                                     transaction, keyed by the first one's
//                                     version
//   pages index      -> Uint8Array    the snapshot: sorted entries, in order
//   queue [due, version, n] -> { bytes, owner, until }  a queue message and
//                      the lease on it (the instance delivering it, until when)
// Layout 1 had no snapshot and no queue (meta and log only); it is upgraded
// in place.

export const LAYOUT = 2;
const STORES = ["meta", "log", "pages", "queue"];
// Queue deliveries touch only the queue, so they never wait for commits.
const QUEUE = ["queue"];
const PREFIX = "webkv:";

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

function upgrade(db, tx, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore("meta");
    db.createObjectStore("log");
  }
  if (oldVersion < 2) {
    db.createObjectStore("pages");
    db.createObjectStore("queue");
    tx.objectStore("meta").put(0, "snapshot");
  }
}

function openDatabase(name) {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(PREFIX + name, LAYOUT);
    } catch (error) {
      reject(idbError(error));
      return;
    }
    request.onupgradeneeded = (event) => upgrade(request.result, request.transaction, event.oldVersion);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => {
      const error = request.error;
      if (error?.name === "VersionError") {
        reject(new Error(`The database "${name}" was written by a newer webkv (its layout is newer than ${LAYOUT})`));
      } else {
        reject(idbError(error));
      }
    };
  });
}

export async function openIdbHost(name) {
  const host = new IdbHost(name);
  // Ask for the lock (if it is free) while the database opens: the first
  // read, which must come after the lock, then waits for both at once.
  host.prefetchLock();
  try {
    host.attach(await openDatabase(name));
  } catch (error) {
    host.close();
    throw error;
  }
  return host;
}

export function deleteIdb(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(PREFIX + name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(idbError(request.error));
  });
}

// Reads, inside `tx`, what was committed after `after`; calls `done` with
// { snapshotVersion, pages (null if the log reaches back), log }.
function readSince(tx, after, done) {
  const result = { snapshotVersion: 0, pages: null, log: [] };
  tx.objectStore("meta").get("snapshot").onsuccess = (event) => {
    const snapshot = event.target.result ?? 0;
    let waiting = 1;
    const finish = () => --waiting === 0 && done(result);
    if (after < snapshot) {
      waiting++;
      result.snapshotVersion = snapshot;
      tx.objectStore("pages").getAll().onsuccess = (event) => {
        result.pages = event.target.result;
        finish();
      };
    }
    const from = Math.max(after, snapshot);
    tx.objectStore("log").getAll(IDBKeyRange.lowerBound(from, true)).onsuccess = (event) => {
      result.log = event.target.result.flatMap(records);
      finish();
    };
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

// How long commits wait to be announced together.
const ANNOUNCE_MS = 8;


class IdbHost {
  #db;
  #lockName;
  #channel = null;
  #events = [];
  #waiter = null;
  #hold = null;
  #abort = new AbortController();
  #closed = false;
  #gone = false;
  #announcing = null;
  #announceTimer;
  // Whether another instance has been heard from. Until one has, nobody
  // listens, and announcing (a BroadcastChannel post and a timer every few
  // ms, which sequential commits pay for) is skipped.
  #peers = false;
  // Who holds a queue lease: this instance, among every tab and worker.
  #id = typeof crypto?.randomUUID === "function" ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;

  #prefetchedLock = null;
  #appended = null;

  constructor(name) {
    this.#lockName = PREFIX + name;
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(PREFIX + name);
      this.#channel.onmessage = (event) => this.#heard(event.data);
      // Before this instance reads the store: whoever commits unannounced
      // before hearing this, commits before that read (see docs/storage.md).
      this.#post({ type: "hello" });
    }
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

  prefetchLock() {
    if (this.canOwn()) this.#prefetchedLock = this.#requestIfAvailable();
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
    return this.#run("readonly", (tx, fail, settle) => readSince(tx, after, settle));
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
      });
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

  compact(version, pages) {
    return this.#run("readwrite", (tx, fail, settle) => {
      settle(false);
      newestVersion(tx, (newest) => {
        if (newest !== version) return;
        const store = tx.objectStore("pages");
        store.clear();
        pages.forEach((page, index) => store.put(page, index));
        tx.objectStore("log").delete(IDBKeyRange.upperBound(version));
        tx.objectStore("meta").put(version, "snapshot");
        settle(true);
      });
    });
  }

  // Leases the first due message nobody else holds a live lease on; or
  // answers when the next one is due (a delivery time or a lease's end).
  takeMessage(now, until) {
    return this.#run("readwrite", (tx, fail, settle) => {
      let next = Infinity;
      settle({ nextDue: null });
      tx.objectStore("queue").openCursor().onsuccess = (event) => {
        const cursor = event.target.result;
        if (cursor === null) {
          settle({ nextDue: next === Infinity ? null : next });
          return;
        }
        const due = cursor.key[0];
        const row = cursor.value;
        if (due > now) {
          settle({ nextDue: Math.min(next, due) });
          return;
        }
        if (row.owner !== null && row.owner !== this.#id && row.until > now) {
          next = Math.min(next, row.until);
          cursor.continue();
          return;
        }
        if (row.owner === this.#id && row.until > now) {
          // This instance is delivering it already.
          cursor.continue();
          return;
        }
        cursor.update({ bytes: row.bytes, owner: this.#id, until });
        settle({ key: cursor.key, bytes: row.bytes });
      };
    }, QUEUE);
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

  canOwn() {
    return typeof navigator !== "undefined" && typeof navigator.locks?.request === "function";
  }

  #holdLock() {
    return new Promise((release) => {
      this.#hold = release;
      if (this.#closed) this.release();
    });
  }

  tryAcquire() {
    const prefetched = this.#prefetchedLock;
    this.#prefetchedLock = null;
    return prefetched ?? this.#requestIfAvailable();
  }

  #requestIfAvailable() {
    return new Promise((resolve, reject) => {
      navigator.locks
        .request(this.#lockName, { ifAvailable: true }, (lock) => {
          resolve(lock !== null);
          return lock === null ? undefined : this.#holdLock();
        })
        .catch(reject);
    });
  }

  acquire() {
    // Someone else holds the lock, or did.
    this.#meetPeers();
    return new Promise((resolve, reject) => {
      // The owner gives the lock up when it hears this; repeat it in case
      // the owner took the lock after the first one.
      const want = () => this.#post({ type: "want" });
      want();
      const repeat = setInterval(want, 50);
      navigator.locks
        .request(this.#lockName, { signal: this.#abort.signal }, () => {
          clearInterval(repeat);
          resolve();
          return this.#holdLock();
        })
        .catch((error) => {
          clearInterval(repeat);
          reject(this.#closed ? new Error("The database was closed") : idbError(error));
        });
    });
  }

  release() {
    const release = this.#hold;
    this.#hold = null;
    release?.();
  }

  #heard(message) {
    if (message?.type === "hello") {
      // A newcomer, who must learn that others listen.
      this.#peers = true;
      this.#post({ type: "here" });
      return;
    }
    this.#meetPeers();
    this.#push(message);
  }

  // The first sign of another instance: from now on commits are announced,
  // and "here" tells the others to read what this one may have committed
  // unannounced before (they hear it after those commits are durable).
  #meetPeers() {
    if (this.#peers) return;
    this.#peers = true;
    this.#post({ type: "here" });
  }

  // After close there is nobody to tell; a closed channel would throw.
  #post(message) {
    if (!this.#closed) this.#channel?.postMessage(message);
  }

  // Whether an announcement is worth building: someone else listens.
  hasPeers() {
    return this.#peers;
  }

  // Posting costs the page ~0.1 ms, as much as a tenth of a commit: the
  // commits of a few milliseconds go out together, after they answered.
  // Watchers in other tabs still hear within ANNOUNCE_MS plus delivery.
  announce(records) {
    if (!this.#peers) return;
    if (this.#announcing === null) {
      this.#announcing = [];
      this.#announceTimer = setTimeout(() => this.#flushAnnouncements(), ANNOUNCE_MS);
    }
    this.#announcing.push(...records);
  }

  #flushAnnouncements() {
    clearTimeout(this.#announceTimer);
    const records = this.#announcing;
    this.#announcing = null;
    if (records !== null) this.#post({ type: "commit", records });
  }

  announceQueued() {
    if (this.#peers) this.#post({ type: "queued" });
  }

  #push(event) {
    if (this.#waiter !== null) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter(event);
    } else {
      this.#events.push(event);
    }
  }

  nextEvent() {
    if (this.#events.length > 0) return Promise.resolve(this.#events.shift());
    if (this.#closed) return Promise.resolve({ type: "closed" });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  close() {
    if (this.#closed) return;
    // Commits that answered before close are still news to the others.
    this.#flushAnnouncements();
    this.#closed = true;
    this.#abort.abort();
    this.release();
    this.#channel?.close();
    this.#db?.close();
    this.#push({ type: "closed" });
  }
}
