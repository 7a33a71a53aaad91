// In-browser helpers shared by the pages and the worker of tests/idb.
import { KvU64 } from "./impl.js";

/**
 * A JSON-safe description of a value that keeps what Playwright's
 * serialization would blur: Map, Set, Date, Uint8Array, bigint, KvU64,
 * -0, NaN, undefined and prototypes.
 */
export function describe(v) {
  if (v === null) return { t: "null" };
  switch (typeof v) {
    case "undefined": return { t: "undefined" };
    case "boolean": return { t: "boolean", v };
    case "string": return { t: "string", v };
    case "number": return { t: "number", v: Object.is(v, -0) ? "-0" : String(v) };
    case "bigint": return { t: "bigint", v: String(v) };
  }
  if (v instanceof KvU64) return { t: "KvU64", v: String(v.value) };
  if (v instanceof Date) return { t: "Date", v: v.getTime() };
  if (v instanceof Uint8Array) return { t: "Uint8Array", v: Array.from(v) };
  if (v instanceof Map) return { t: "Map", v: [...v].map(([k, x]) => [describe(k), describe(x)]) };
  if (v instanceof Set) return { t: "Set", v: [...v].map(describe) };
  if (Array.isArray(v)) return { t: "Array", v: v.map(describe) };
  const proto = Object.getPrototypeOf(v);
  return {
    t: "Object",
    proto: proto === Object.prototype ? "Object" : proto === null ? "null" : String(proto?.constructor?.name),
    v: Object.entries(v).map(([k, x]) => [k, describe(x)]),
  };
}

/** { key, value: describe(value), versionstamp } for each key, read with kv.get. */
export async function readEntries(kv, keys) {
  const out = [];
  for (const key of keys) {
    const e = await kv.get(key);
    out.push({ key: e.key, value: describe(e.value), versionstamp: e.versionstamp });
  }
  return out;
}

/** Resolves on the first message on BroadcastChannel `name` (the listener is attached now). */
export function waitMessage(name) {
  const bc = new BroadcastChannel(name);
  return new Promise((resolve) => {
    bc.onmessage = ({ data }) => {
      bc.close();
      resolve(data);
    };
  });
}

/**
 * n check-guarded increments of ["c"], retrying on ok: false. Returns the
 * events in order: ["get", versionstamp], ["ok", versionstamp, value,
 * checkedVersionstamp] or ["conflict", checkedVersionstamp].
 */
export async function increments(kv, n, closeAfter = false) {
  const events = [];
  let done = 0;
  let attempts = 0;
  while (done < n) {
    if (++attempts > n * 100) throw new Error(`${n * 100} attempts for ${n} increments (${done} done)`);
    const e = await kv.get(["c"]);
    events.push(["get", e.versionstamp]);
    const value = (e.value ?? 0) + 1;
    const r = await kv.atomic().check(e).set(["c"], value).commit();
    if (r.ok) {
      done++;
      events.push(["ok", r.versionstamp, value, e.versionstamp]);
    } else {
      events.push(["conflict", e.versionstamp]);
    }
  }
  if (closeAfter) kv.close();
  return events;
}

// ------------------------------------------------------------ crash test

/**
 * One crash-test commit: ["log", i] = i, ["pair", i] = i, ["count"] += 1
 * (sum(key, 1n), as in Deno: the stored value is a KvU64), guarded by
 * ["log", i] being absent.
 */
export function crashCommit(kv, i) {
  return kv.atomic()
    .check({ key: ["log", i], versionstamp: null })
    .set(["log", i], i)
    .set(["pair", i], i)
    .sum(["count"], 1n)
    .commit();
}

/** The crash-test state: [[i, value]...] of ["log"] and ["pair"], and ["count"] described. */
export async function crashState(kv) {
  const log = [];
  for await (const e of kv.list({ prefix: ["log"] })) log.push([e.key[1], e.value]);
  const pair = [];
  for await (const e of kv.list({ prefix: ["pair"] })) pair.push([e.key[1], e.value]);
  const count = await kv.get(["count"]);
  return { log, pair, count: describe(count.value), stored: await storedShape("crash") };
}

/** What IndexedDB itself holds for a database: for failure reports. */
async function storedShape(name) {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(`webkv:${name}`);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    const stores = [...db.objectStoreNames];
    if (stores.length === 0) return { version: db.version, stores };
    const tx = db.transaction(stores, "readonly");
    const shape = { version: db.version, stores };
    const done = new Promise((resolve) => (tx.oncomplete = resolve));
    if (stores.includes("meta")) tx.objectStore("meta").get("snapshot").onsuccess = (e) => (shape.snapshot = e.target.result);
    for (const store of stores) tx.objectStore(store).count().onsuccess = (e) => (shape[`${store}Count`] = e.target.result);
    if (stores.includes("log")) {
      tx.objectStore("log").getAllKeys().onsuccess = (e) => {
        const keys = e.target.result;
        shape.logKeys = keys.length > 6 ? [...keys.slice(0, 3), "…", ...keys.slice(-3)] : keys;
      };
    }
    await done;
    return shape;
  } finally {
    db.close();
  }
}

/** Yields one macrotask (no timer clamping), so the page stays responsive under a fast loop. */
const channel = new MessageChannel();
const waiters = [];
channel.port1.onmessage = () => waiters.shift()?.();
function macrotask() {
  return new Promise((resolve) => {
    waiters.push(resolve);
    channel.port2.postMessage(0);
  });
}

/**
 * Starts (and does not await) the commit loop from i = start, logging
 * "ack:<i>" to the console as soon as commit i resolved with ok: true.
 */
export function startCrashLoop(kv, start) {
  (async () => {
    for (let i = start; ; i++) {
      const r = await crashCommit(kv, i);
      if (!r.ok) throw new Error(`crash loop: commit ${i} was refused`);
      console.log(`ack:${i}`);
      await macrotask();
    }
  })().catch((error) => console.error(`crash loop stopped: ${error?.stack ?? error}`));
}
