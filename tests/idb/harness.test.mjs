// Checks of the harness itself, independent of the package's backend: raw
// IndexedDB written by a page survives a reload, a new page, and a SIGKILL of
// the whole browser followed by a relaunch on the same profile; the kill is a
// real SIGKILL that leaves no process behind; the server serves the package.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { closeAll, launch, leftovers, makeProfile, startServer, waitReady } from "./harness.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(closeAll);

function get(path) {
  return new Promise((resolve, reject) => {
    const req = request(`${server.origin}${path}`, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, type: res.headers["content-type"] }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("server: serves the package and the pages from the repository root, nothing outside", { timeout: 10_000 }, async () => {
  assert.deepEqual(await get("/pkg/browser.js"), { status: 200, type: "text/javascript; charset=utf-8" });
  assert.deepEqual(await get("/pkg/webkv_wasm_bg.wasm"), { status: 200, type: "application/wasm" });
  assert.deepEqual(await get("/tests/idb/pages/page.html"), { status: 200, type: "text/html; charset=utf-8" });
  assert.equal((await get("/%2e%2e/%2e%2e/etc/passwd")).status, 404);
  assert.equal((await get("/nope.js")).status, 404);
});

// Raw IndexedDB in the page (page.html with the raw stand-in, whose modules
// do not touch the package's backend).
const url = () => `${server.origin}/tests/idb/pages/page.html?impl=raw`;

async function rawWrite(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open("harness-raw", 1);
      r.onupgradeneeded = () => r.result.createObjectStore("s");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    await new Promise((resolve, reject) => {
      const tx = db.transaction("s", "readwrite");
      tx.objectStore("s").put({ n: 42, big: 7n, when: new Date(86_400_000), bytes: new Uint8Array([1, 2, 3]) }, "k");
      tx.oncomplete = resolve;
      tx.onabort = () => reject(tx.error);
    });
    db.close();
  });
}

async function rawRead(page) {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes("harness-raw")) return { names };
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open("harness-raw", 1);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const v = await new Promise((resolve, reject) => {
      const r = db.transaction("s").objectStore("s").get("k");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    db.close();
    return { names, v: { n: v.n, big: String(v.big), when: v.when.getTime(), bytes: Array.from(v.bytes) } };
  });
}

const WRITTEN = { names: ["harness-raw"], v: { n: 42, big: "7", when: 86_400_000, bytes: [1, 2, 3] } };

test("raw IndexedDB survives reload, a new page, and SIGKILL of the browser + relaunch on the same profile", { timeout: 60_000 }, async (t) => {
  const profile = makeProfile("harness");
  let session = await launch(profile);
  const page = await session.openPage(url());
  await rawWrite(page);

  await page.reload();
  await waitReady(page);
  assert.deepEqual(await rawRead(page), WRITTEN, "after reload");

  await page.close();
  const page2 = await session.openPage(url());
  assert.deepEqual(await rawRead(page2), WRITTEN, "in a new page");

  const first = session;
  await first.kill();
  assert.deepEqual(first.exited, { code: null, signal: "SIGKILL" }, "the browser died of SIGKILL");
  assert.deepEqual(first.leftovers(), [], "no process of the killed browser is left");
  assert.deepEqual(leftovers(null, profile), [], "no process names the profile");

  session = await launch(profile);
  try {
    assert.notEqual(session.pid, first.pid);
    const page3 = await session.openPage(url());
    assert.deepEqual(await rawRead(page3), WRITTEN, "after SIGKILL and relaunch");
  } finally {
    await session.kill();
  }
  assert.deepEqual(session.leftovers(), []);

  await t.test("a fresh profile does not have it", async () => {
    const other = await launch(makeProfile("harness-fresh"));
    try {
      const p = await other.openPage(url());
      assert.deepEqual(await rawRead(p), { names: [] });
    } finally {
      await other.kill();
    }
  });
});

test("a write acknowledged just before SIGKILL is there after relaunch (raw IndexedDB, 3 rounds)", { timeout: 60_000 }, async () => {
  const profile = makeProfile("harness-kill");
  for (let round = 0; round < 3; round++) {
    const session = await launch(profile);
    try {
      const page = await session.openPage(url());
      if (round > 0) assert.deepEqual(await rawRead(page), WRITTEN, `round ${round}: after relaunch`);
      await rawWrite(page);
    } finally {
      await session.kill(); // right after the transaction's complete event
    }
  }
});
