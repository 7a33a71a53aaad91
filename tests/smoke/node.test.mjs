// Node 20: import `webkv` by package name, resolved through pkg/package.json
// "exports" (the "node" condition), as an app with webkv in node_modules would.
// tests/smoke/node_modules/webkv is a symlink to pkg/ made by link-pkg.mjs
// (run.sh calls it; this file does too, so `node --test` works alone).
import { spawn } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { linkPkg } from "./link-pkg.mjs";
import { runScenario } from "./scenario.js";
import { assertChecks } from "./checks.mjs";

linkPkg();

test("node: `webkv` resolves through the node export condition", () => {
  const resolved = fileURLToPath(import.meta.resolve("webkv"));
  assert.equal(resolved, fileURLToPath(new URL("../../pkg/node.js", import.meta.url)));
});

test("node: scenario", async (t) => {
  const webkv = await import("webkv");
  await assertChecks(t, await runScenario(webkv, "node"), "node");
});

test("node: a second openKv gets an independent in-memory database", async () => {
  const { openKv } = await import("webkv");
  const a = await openKv(":memory:");
  const b = await openKv(":memory:");
  await a.set(["k"], 1);
  assert.deepEqual((await b.get(["k"])).value, null);
  assert.deepEqual((await a.get(["k"])).value, 1);
  a.close();
  b.close();
});

/** Runs timers-child.mjs `mode` in Node; resolves { code, out, closedAt, exitedAt }. */
function runChild(mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("./timers-child.mjs", import.meta.url)), mode], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    let closedAt = null;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (closedAt === null && out.includes("closed")) closedAt = Date.now();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, out, closedAt, exitedAt: Date.now() });
    });
  });
}

test("node: after close(), a listener's delayed message leaves no timer: the process exits at once", async () => {
  const { code, signal, out, closedAt, exitedAt } = await runChild("close");
  assert.ok(closedAt !== null, `the child closed its database: ${JSON.stringify(out)}`);
  assert.ok(exitedAt - closedAt < 2000, `the process lived ${exitedAt - closedAt} ms after close() (${signal ?? code})`);
  assert.equal(code, 0);
  assert.ok(!out.includes("delivered"));
});

test("node: after a watch waiting for an expiry is cancelled and the database closed, the process exits at once", async () => {
  const { code, signal, out, closedAt, exitedAt } = await runChild("watch");
  assert.ok(closedAt !== null, `the child closed its database: ${JSON.stringify(out)}`);
  assert.ok(exitedAt - closedAt < 2000, `the process lived ${exitedAt - closedAt} ms after close() (${signal ?? code})`);
  assert.equal(code, 0);
});

test("node: a 26-day expiry and a 26-day delay wait quietly (no timer loop, no memory growth)", async () => {
  const { code, out } = await runChild("long");
  assert.equal(code, 0, out);
  const { timers, emitted, grew } = JSON.parse(out.trim().split("\n").at(-1));
  assert.equal(emitted, 0, "the raw watch saw nothing new");
  assert.ok(timers <= 2, `${timers} timers started in one second`);
  assert.equal(grew, 0, "wasm memory did not grow");
});

test("node: a wasm load that failed is tried again by the next openKv, not kept as every open's answer", async () => {
  // A copy of the package whose .wasm cannot be read at first (a directory
  // in its place: EISDIR, which is no missing file), then is put back.
  const { cpSync, mkdtempSync, mkdirSync, renameSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "webkv-retry-"));
  try {
    cpSync(fileURLToPath(new URL("../../pkg/", import.meta.url)), dir, { recursive: true, dereference: true });
    const wasm = join(dir, "webkv_server_bg.wasm");
    renameSync(wasm, `${wasm}.away`);
    mkdirSync(wasm);
    const { openKv } = await import(join(dir, "node.js"));
    await assert.rejects(() => openKv(":memory:"), { code: "EISDIR" });
    rmSync(wasm, { recursive: true });
    renameSync(`${wasm}.away`, wasm);
    const kv = await openKv(":memory:");
    await kv.set(["k"], 1);
    assert.equal((await kv.get(["k"])).value, 1);
    kv.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
