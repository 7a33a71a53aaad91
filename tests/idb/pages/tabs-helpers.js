// In-browser helpers of tabs.test.mjs (watch across tabs and workers, durable
// queues), for pages and workers. Pages report to Node through a function
// the test exposes as `self.report(event)` (Playwright's exposeFunction): a
// handler awaits it, so Node has received an event before the code after it
// runs, which makes Node's arrival order causal across tabs.
import { describe } from "./helpers.js";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads kv.watch(keys, options) until it ends, pushing { t: Date.now(),
 * value, versionstamp } (of the first key) into `sink` and calling
 * `onEmit(item)` for each emission. Resolves once the first emission (the
 * current value) arrived; the reading goes on in the background.
 */
export function collectWatch(kv, keys, options, sink, onEmit = () => {}) {
  const reader = kv.watch(keys, options).getReader();
  let first;
  const started = new Promise((resolve) => (first = resolve));
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const item = { t: Date.now(), value: value[0].value, versionstamp: value[0].versionstamp };
      sink.push(item);
      onEmit(item);
      first();
    }
  })().catch((error) => console.error(`watch reader failed: ${error?.stack ?? error}`));
  return started;
}

/**
 * Sets ["w"] to from, from + 1, ..., from + n - 1, one at a time, sleeping
 * `gapMs` after each (0: back to back). Returns [{ value, versionstamp, t }]
 * with t = Date.now() right after each set resolved.
 */
export async function setSeries(kv, from, n, gapMs) {
  const out = [];
  for (let value = from; value < from + n; value++) {
    const r = await kv.set(["w"], value);
    const t = Date.now();
    if (!r.ok) throw new Error(`set ["w"] ${value}: ${JSON.stringify(r)}`);
    out.push({ value, versionstamp: r.versionstamp, t });
    if (gapMs > 0) await sleep(gapMs);
  }
  return out;
}

/** A queue payload: an object with a Date and a Uint8Array (and the id). */
export function payload(id) {
  return {
    id,
    at: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789) + id.length),
    bytes: new Uint8Array([0, 1, 2, 254, 255, id.length]),
    text: `message ${id}`,
  };
}

/**
 * The rows of the `queue` store of the IndexedDB database `webkv:<name>`
 * (docs/storage.md, "Layout"): [{ key, owner, until }], or null if there is
 * no such database or store (the `memory` implementation). A probe of the
 * stored state, independent of the listeners.
 */
export async function queueRows(name, prefix = "webkv:") {
  const dbName = prefix + name;
  if (!(await indexedDB.databases()).some((d) => d.name === dbName)) return null;
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.transaction.abort(); // never create it
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    if (!db.objectStoreNames.contains("queue")) return null;
    return await new Promise((resolve, reject) => {
      const rows = [];
      const tx = db.transaction("queue", "readonly");
      tx.objectStore("queue").openCursor().onsuccess = (event) => {
        const cursor = event.target.result;
        if (cursor === null) return;
        rows.push({ key: cursor.key, owner: cursor.value.owner, until: cursor.value.until });
        cursor.continue();
      };
      tx.oncomplete = () => resolve(rows);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/**
 * Starts kv.listenQueue with a handler that reports each attempt to Node:
 * { kind: "start", id, t, value: describe(msg) } when it begins and
 * { kind: "end", id, t, outcome } just before it returns or throws (both
 * awaited). `behavior`:
 * - "ok": optionally sleeps `workMs` (plus up to `jitterMs`), records the id
 *   as handled in the database with a commit guarded by ["handled", id]
 *   being absent (reporting "duplicate" if the guard fails), and returns;
 * - "fail-once": the first attempt of a message, in whichever tab (decided
 *   by a guarded commit of ["failed", id]), throws; later ones act as "ok";
 * - "throw": always throws;
 * - "hang": never returns.
 * Resolves once listenQueue has been called; window.listening is its promise.
 */
export function listen(kv, { behavior = "ok", workMs = 0, jitterMs = 0 } = {}) {
  const report = self.report;
  const handler = async (msg) => {
    const id = msg?.id ?? null;
    await report({ kind: "start", id, t: Date.now(), value: describe(msg) });
    if (behavior === "hang") return new Promise(() => {});
    let outcome = "ok";
    try {
      if (behavior === "throw") {
        outcome = "throw";
        throw new Error(`handler fails on purpose (${id})`);
      }
      if (behavior === "fail-once") {
        const first = await kv.atomic().check({ key: ["failed", id], versionstamp: null }).set(["failed", id], true).commit();
        if (first.ok) {
          outcome = "throw";
          throw new Error(`first attempt of ${id} fails on purpose`);
        }
      }
      const pause = workMs + Math.floor(Math.random() * (jitterMs + 1));
      if (pause > 0) await sleep(pause);
      const r = await kv.atomic().check({ key: ["handled", id], versionstamp: null }).set(["handled", id], Date.now()).commit();
      if (!r.ok) {
        outcome = "duplicate";
        await report({ kind: "duplicate", id, t: Date.now() });
      }
    } finally {
      await report({ kind: "end", id, t: Date.now(), outcome });
    }
  };
  self.listening = kv.listenQueue(handler);
  self.listening.catch((error) => console.error(`listenQueue rejected: ${error?.stack ?? error}`));
}
