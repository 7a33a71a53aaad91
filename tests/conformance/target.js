// Selects the implementation under test from the KV_TARGET env var:
//   deno  (default): real Deno's Deno.openKv / Deno.KvU64 (run with --unstable-kv)
//   webkv:           the webkv npm package built into <repo>/pkg/
//   deno-remote:     real Deno's KV Connect client, Deno.openKv(KV_CONNECT_URL), token via
//                    DENO_KV_ACCESS_TOKEN (set here from KV_CONNECT_TOKEN)
//   webkv-remote:    webkv's KV Connect client, openKv(KV_CONNECT_URL, { accessToken })
//   webkv-sqlite:    the webkv package (pkg/deno.js) on SQLite files in Deno's format: every
//                    openKv(":memory:") opens a new file in a temporary directory (a fresh, empty
//                    database, like Deno's ":memory:"); needs --allow-read/--allow-write only
//   webkv-idb:       the package's browser build (pkg/browser.js) in a real Chromium page
//                    (tests/conformance/chromium/run.mjs); every openKv() opens a named,
//                    IndexedDB-backed database of its own (see openBrowserKv below)
// Every test file imports openKv/KvU64/TARGET from here and nothing else from
// the implementation, so the very same tests run against every target.
//
// Remote targets talk to one running `denokv` server (tests/kvconnect/run.sh starts it and
// sets KV_CONNECT_URL and KV_CONNECT_TOKEN). The tests assume that each openKv() gives a
// fresh, empty database, so for remote targets openKv() first deletes every key on the
// server (list everything, delete in atomics; the few keys over the 2048-byte write limit,
// which no client can delete, are removed from denokv's SQLite file, KV_CONNECT_SQLITE).
// That is safe because `deno test` runs test files one after another and the tests of a
// file sequentially, and nothing else uses that server meanwhile. The path argument
// (":memory:", a name) is ignored: there is only one remote database.

export const TARGET = Deno.env.get("KV_TARGET") || "deno";
/** True for the KV Connect targets. */
export const REMOTE = TARGET === "deno-remote" || TARGET === "webkv-remote";
/** True when the implementation is real Deno (local or remote). */
export const IS_DENO = TARGET === "deno" || TARGET === "deno-remote";

let impl;
if (TARGET === "deno" || TARGET === "deno-remote") {
  if (typeof Deno.openKv !== "function") {
    throw new Error("Deno.openKv is missing: run `deno test --unstable-kv`");
  }
  impl = { openKv: (path) => Deno.openKv(path), KvU64: Deno.KvU64 };
} else if (TARGET === "webkv" || TARGET === "webkv-remote") {
  // Dynamic import so the deno target works while pkg/ does not exist yet.
  const mod = await import(new URL("../../pkg/deno.js", import.meta.url).href);
  impl = { openKv: mod.openKv, KvU64: mod.KvU64 };
} else if (TARGET === "webkv-sqlite") {
  const mod = await import(new URL("../../pkg/deno.js", import.meta.url).href);
  const dir = Deno.makeTempDirSync({ prefix: "webkv-conformance-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  let files = 0;
  const fileFor = (path) => (path === ":memory:" ? `${dir}/db-${++files}.sqlite` : `${dir}/named-${encodeURIComponent(path)}`);
  impl = { openKv: (path) => mod.openKv(fileFor(path)), openKvAsIs: mod.openKv, KvU64: mod.KvU64 };
} else if (TARGET === "webkv-idb") {
  const mod = await import(new URL("../../pkg/browser.js", import.meta.url).href);
  impl = { openKv: mod.openKv, KvU64: mod.KvU64, deleteKv: mod.deleteKv };
} else {
  throw new Error(
    `Unknown KV_TARGET ${JSON.stringify(TARGET)} (expected "deno", "webkv", "webkv-sqlite", "deno-remote", "webkv-remote" or "webkv-idb")`,
  );
}

let remote = null;
if (REMOTE) {
  const url = Deno.env.get("KV_CONNECT_URL");
  const token = Deno.env.get("KV_CONNECT_TOKEN");
  if (!url || !token) {
    throw new Error(
      `KV_TARGET=${TARGET} needs KV_CONNECT_URL and KV_CONNECT_TOKEN (a running denokv): use tests/kvconnect/run.sh`,
    );
  }
  remote = { url, token };
  // Real Deno's remote client takes the token only from this variable.
  if (TARGET === "deno-remote") Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
}

const openRemote = () =>
  TARGET === "deno-remote" ? Deno.openKv(remote.url) : impl.openKv(remote.url, { accessToken: remote.token });

/** Deletes every key in the (remote) database. */
export async function wipe(kv) {
  let undeletable = 0;
  for (;;) {
    const keys = [];
    for await (const e of kv.list({ prefix: [] }, { batchSize: 500 })) keys.push(e.key);
    if (keys.length === undeletable) break;
    undeletable = 0;
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      try {
        const op = kv.atomic();
        for (const k of batch) op.delete(k);
        if (!(await op.commit()).ok) throw new Error("wipe: delete commit failed");
      } catch (e) {
        if (!/Key too large for write/.test(e?.message)) throw e;
        // A key longer than the 2048-byte write limit cannot be deleted through the API; the
        // one test that makes one ("commitVersionstamp: the size limit applies to the key
        // without the stamp") stores a 2048-byte key plus a versionstamp part.
        for (const k of batch) {
          try {
            await kv.delete(k);
          } catch (e2) {
            if (!/Key too large for write/.test(e2?.message)) throw e2;
            undeletable++;
          }
        }
      }
    }
  }
  if (undeletable > 0) await wipeUndeletable(undeletable);
}

// Keys the API cannot delete are removed from denokv's SQLite file directly (the runner
// exports its path as KV_CONNECT_SQLITE; SQLite's locking makes this safe while denokv runs).
async function wipeUndeletable(n) {
  const file = Deno.env.get("KV_CONNECT_SQLITE");
  if (!file) {
    throw new Error(`wipe: ${n} key(s) over 2048 bytes cannot be deleted through KV Connect; set KV_CONNECT_SQLITE`);
  }
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file);
  try {
    db.exec("DELETE FROM kv");
  } finally {
    db.close();
  }
}

/**
 * Opens a database; defaults to ":memory:", like the tests' Deno code. For remote targets it
 * opens the server's database and empties it first (see above).
 */
export const openKv = (path = ":memory:") =>
  REMOTE ? openFreshRemote() : TARGET === "webkv-idb" ? openBrowserKv(path) : impl.openKv(path);

async function openFreshRemote() {
  const kv = await openRemote();
  await wipe(kv);
  return kv;
}
export const KvU64 = impl.KvU64;

/** The implementation's own openKv, for tests of how it reads its path argument. */
export const openKvAsIs = (path, options) => (impl.openKvAsIs ?? impl.openKv)(path, options);

// webkv-idb: in a browser the package's openKv(name) opens a durable, IndexedDB-backed database,
// so the tests' databases get names of their own: every ":memory:" open gets a fresh unique name
// (like Deno's ":memory:", a new empty database each time), and any other path keeps one name for
// the rest of the test (reopening it reaches the same database). The runner calls
// cleanupBrowserKvs() after each test: it closes whatever the test left open and deletes the
// databases with the package's deleteKv, so the browser profile stays clean.
let browserKvCount = 0;
const browserKvNames = new Map(); // path -> name, for the current test
const browserKvsOpened = []; // { name, kv } opened by the current test

async function openBrowserKv(path) {
  let name = path === ":memory:" ? undefined : browserKvNames.get(path);
  if (name === undefined) {
    name = `conformance-${++browserKvCount}-${Math.random().toString(36).slice(2, 10)}`;
    if (path !== ":memory:") browserKvNames.set(path, name);
  }
  const kv = await impl.openKv(name);
  browserKvsOpened.push({ name, kv });
  return kv;
}

/**
 * webkv-idb only: closes the databases the finished test left open (close() of an already closed
 * one throws BadResource, which is expected) and deletes every database it opened (if the package
 * exports deleteKv). Returns the names the test used.
 */
export async function cleanupBrowserKvs() {
  const opened = browserKvsOpened.splice(0);
  browserKvNames.clear();
  for (const { kv } of opened) {
    try {
      kv.close();
    } catch (e) {
      if (e?.name !== "BadResource") throw e;
    }
  }
  const names = [...new Set(opened.map((o) => o.name))];
  if (typeof impl.deleteKv === "function") {
    for (const name of names) await impl.deleteKv(name);
  }
  return names;
}

/**
 * The [errorClass, message] a commit rejected by the server gives, where `text` is the server's
 * answer (denokv answers HTTP 400 with a plain-text body) and `localClass`/`text` is what a local
 * database throws:
 * - local targets: [localClass, text];
 * - deno-remote: real Deno wraps every 4xx in a plain Error:
 *   "KV Connect failed to call '<url>/v2/atomic_write' (status=400 Bad Request): <text>";
 * - webkv-remote: like local. denokv's text is exactly Deno's local message (for the errors both
 *   have), and webkv raises it as the same TypeError a local database would (see
 *   /work/shared/deno-kv-semantics.md, KV Connect), also for denokv-only texts.
 */
export function serverError(text, localClass = TypeError, endpoint = "atomic_write") {
  if (TARGET === "deno-remote") {
    return [Error, `KV Connect failed to call '${remote.url}/v2/${endpoint}' (status=400 Bad Request): ${text}`];
  }
  return [localClass, text];
}

/** Checks per atomic commit: Deno's 100, but denokv (and so every remote target) allows 10. */
export const MAX_CHECKS = REMOTE ? 10 : 100;

/** Runs `fn` with a fresh database and always closes it. */
export async function withKv(fn) {
  const kv = await openKv();
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}
