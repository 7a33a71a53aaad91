// In-page helpers of hostile.test.mjs: raw IndexedDB and BroadcastChannel,
// to write what webkv itself never would (docs/storage.md, "Layout").

function open(dbName) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.transaction.abort(); // never create it
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function transaction(db, stores, mode, body) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    let result;
    body(tx, (value) => (result = value));
    tx.oncomplete = () => resolve(result);
    tx.onabort = () => reject(tx.error);
  });
}

/** Every row of `store` in database `dbName`: [{ key, value }]. */
export async function rows(dbName, store) {
  const db = await open(dbName);
  try {
    return await transaction(db, store, "readonly", (tx, settle) => {
      const out = [];
      settle(out);
      tx.objectStore(store).openCursor().onsuccess = (event) => {
        const cursor = event.target.result;
        if (cursor === null) return;
        out.push({ key: cursor.key, value: cursor.value });
        cursor.continue();
      };
    });
  } finally {
    db.close();
  }
}

/** Puts (value !== undefined) or deletes rows: { store: [[key, value], ...] }. */
export async function write(dbName, changes) {
  const db = await open(dbName);
  try {
    await transaction(db, Object.keys(changes), "readwrite", (tx) => {
      for (const [store, entries] of Object.entries(changes)) {
        for (const [key, value] of entries) {
          if (value === undefined) tx.objectStore(store).delete(key);
          else tx.objectStore(store).put(value, key);
        }
      }
    });
  } finally {
    db.close();
  }
}

const varint = (n) => {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
};

/** A commit record (src/core/record.rs) of `version` with no changes. */
export const emptyCommit = (version) => new Uint8Array([1, ...varint(version), 0]);

/**
 * Posts malformed messages on `channelName`: wrong shapes and types,
 * impossible or far-away versions, bytes that are no record, huge sizes,
 * unknown types. Returns how many.
 */
export function postMalformed(channelName) {
  const mib = new Uint8Array(1024 * 1024).fill(1);
  const messages = [
    null,
    undefined,
    0,
    "commit",
    [],
    {},
    new Uint8Array(8),
    new Date(),
    { type: 5 },
    { type: null },
    { type: ["commit"] },
    { type: "commit" },
    { type: "commit", records: null },
    { type: "commit", records: "abc" },
    { type: "commit", records: 12 },
    { type: "commit", records: {} },
    { type: "commit", records: { length: 2 ** 32 - 1 } },
    { type: "commit", records: [] },
    { type: "commit", records: [null] },
    { type: "commit", records: ["bytes"] },
    { type: "commit", records: [[1, 2, 3]] },
    { type: "commit", records: [new Uint16Array(4)] },
    { type: "commit", records: [new Uint8Array(0)] },
    { type: "commit", records: new Array(100_000) },
    { type: "commit", records: [new Uint8Array([1, 0xff])] },
    { type: "commit", records: [new Uint8Array([1, 5, 1])] },
    { type: "commit", records: [new Uint8Array([9, 1, 0])] },
    // Versions: overlong (a "negative" varint), past 2^53, far ahead, long past.
    { type: "commit", records: [new Uint8Array([1, ...new Array(10).fill(0xff), 0x01, 0])] },
    { type: "commit", records: [emptyCommit(2 ** 53 + 6)] },
    { type: "commit", records: [emptyCommit(1_000_000)] },
    { type: "commit", records: [emptyCommit(1), emptyCommit(1)] },
    { type: "commit", records: [emptyCommit(1_000_001), emptyCommit(5)] },
    // Sizes: one record of 3 MiB, and 64 MiB in one message.
    { type: "commit", records: [new Uint8Array(3 * 1024 * 1024).fill(1)] },
    { type: "commit", records: new Array(64).fill(mib) },
    { type: "commit", records: [emptyCommit(1)], version: -1 },
    { type: "queued", version: 1e308 },
    { type: "from-a-newer-webkv", records: [emptyCommit(2)] },
    { type: "hello", v: 99 },
  ];
  const channel = new BroadcastChannel(channelName);
  for (const message of messages) channel.postMessage(message);
  channel.close();
  return messages.length;
}

/**
 * Adds corrupt rows to the queue store of `dbName` next to its good ones
 * (written by webkv, due now): the first good row is re-leased to a bogus
 * owner until the end of time. Every corrupt row is due at once.
 */
export async function corruptQueue(dbName) {
  const good = await rows(dbName, "queue");
  const [first] = good;
  const bytes = first.value.bytes;
  const free = { owner: null, until: 0 };
  await write(dbName, {
    queue: [
      [first.key, { bytes, owner: { who: "nobody" }, until: 1e300 }],
      [[0, 1, 0], { bytes: -1, ...free }],
      [[0, 1, 1], { bytes: "abc", ...free }],
      [[0, 1, 2], null],
      [[0, 1, 3], { ...free }],
      [[0, 1, 4], { bytes: new Uint8Array([1, 0xff, 0xff]), ...free }],
      [[0, 1, 5], { bytes: new Uint8Array(0), ...free }],
      [[0, 1, 6], { bytes: [1, 2, 3], ...free }],
      [[0, 1, 7], { bytes: new Uint8Array(2 * 1024 * 1024).fill(1), ...free }],
      [[0, 1, 8], { bytes: new Uint8Array([7, 1, 2, 3]), ...free }],
      ["not-an-array", { bytes, ...free }],
      [[0.5, 1, 9], { bytes, ...free }],
      [[-5, 1, 10], { bytes, ...free }],
      [[0, 1], { bytes, ...free }],
    ],
  });
}

/** Corrupt meta, log and page records, by database name (see hostile.test.mjs). */
// A page index (src/core/page_index.rs) listing pages of one key each:
// [id, key, entries, size, newest version].
function pageIndex(version, pages) {
  const bytes = [1, ...varint(version), ...varint(pages.reduce((next, [id]) => Math.max(next, id + 1), 0)), ...varint(pages.length)];
  for (const [id, key, entries, size, newest] of pages) {
    const k = [...new TextEncoder().encode(key)];
    bytes.push(...varint(id), k.length, ...k, k.length, ...k, ...varint(entries), ...varint(size), ...varint(newest), 0);
  }
  return new Uint8Array(bytes);
}

export const CORRUPT_RECORDS = {
  "meta-not-a-number": { meta: [["snapshot", "x"]] },
  "meta-huge": { meta: [["snapshot", 1e300]] },
  "meta-negative": { meta: [["snapshot", -3]] },
  "log-not-bytes": { log: [[1, 5]] },
  "log-array-of-junk": { log: [[1, [null, "x", { length: 3 }]]] },
  "log-truncated": { log: [[1, new Uint8Array([1, 1, 1, 3, 0x6b])]] },
  "log-skips": { log: [[1, emptyCommit(1)], [2, emptyCommit(7)]] },
  "log-version-past-2^53": { log: [[1, emptyCommit(2 ** 53 + 6)]] },
  // Layout 3: the pages are found through the index in meta (format 1,
  // version, next page id, then per page its id, first and last key, entry
  // count, size, newest version and earliest expiry).
  "page-junk": { meta: [["snapshot", 1], ["index", pageIndex(1, [[0, "k", 1, 6, 1]])]], pages: [[0, new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0x0f])]], log: [[1, undefined]] },
  "page-not-bytes": { meta: [["snapshot", 1], ["index", pageIndex(1, [[0, "k", 1, 6, 1]])]], pages: [[0, { bytes: 1 }]], log: [[1, undefined]] },
  // A page holding an entry of version 9 in a snapshot of version 1 (its
  // index entry says 1).
  "page-from-the-future": {
    meta: [["snapshot", 1], ["index", pageIndex(1, [[0, "k", 1, 9, 1]])]],
    pages: [[0, new Uint8Array([1, 1, 1, 0x6b, 2, 1, 7, 9, 0])]],
    log: [[1, undefined]],
  },
  "index-not-bytes": { meta: [["snapshot", 1], ["index", "x"]], log: [[1, undefined]] },
  "index-junk": { meta: [["snapshot", 1], ["index", new Uint8Array([7, 1])]], log: [[1, undefined]] },
  "index-of-another-version": { meta: [["snapshot", 1], ["index", pageIndex(4, [])]], log: [[1, undefined]] },
  "index-lists-a-missing-page": { meta: [["snapshot", 1], ["index", pageIndex(1, [[3, "k", 1, 9, 1]])]], log: [[1, undefined]] },
  // A stored null is a value, not "absent" (docs/storage.md, "IndexedDB from
  // Rust"): a page or an index that is null is corrupt, and says so.
  "page-null": { meta: [["snapshot", 1], ["index", pageIndex(1, [[0, "k", 1, 6, 1]])]], pages: [[0, null]], log: [[1, undefined]] },
  "index-null": { meta: [["snapshot", 1], ["index", null]], log: [[1, undefined]] },
};
