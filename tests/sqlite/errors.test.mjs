// Clear errors that change nothing: a corrupt file, a locked file, bad
// paths, and a runtime without SQLite.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openKv } from "webkv";
import { DatabaseSync } from "node:sqlite";
import { command, lines, NODE24, run, scripts, tempDir } from "./helpers.mjs";
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";

test("a corrupt file gives a clear error and is left as it was", async (t) => {
  const file = join(tempDir(t), "corrupt.db");
  const garbage = new Uint8Array(8192).map((_, i) => (i * 7919) % 251);
  writeFileSync(file, garbage);
  await assert.rejects(openKv(file), (err) => {
    assert.ok(err instanceof TypeError);
    assert.equal(err.message, `Cannot open ${file}: file is not a database`);
    return true;
  });
  assert.deepEqual(new Uint8Array(readFileSync(file)), garbage);
  assert.ok(!existsSync(file + "-wal"));
});

test("rows another program wrote get real Deno's answers: undecodable values, unknown encodings, negative versions", async (t) => {
  const file = join(tempDir(t), "rows.db");
  const made = await openKv(file);
  await made.set(["made"], 1);
  made.close();
  const db = new DatabaseSync(file);
  const put = db.prepare("insert into kv (k, v, v_encoding, version, expiration_ms) values (?, ?, ?, ?, -1)");
  const key = (name) => new Uint8Array([2, ...new TextEncoder().encode(name), 0]);
  put.run(key("bad-tag"), new Uint8Array([0xff, 0x0f, 0x99]), 1, 5);
  put.run(key("cut-short"), new Uint8Array([0xff, 0x0f, 0x22, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61]), 1, 5);
  put.run(key("encoding-99"), new Uint8Array([1]), 99, 5);
  put.run(key("negative-version"), new Uint8Array([0xff, 0x0f, 0x49, 0x02]), 1, -5);
  db.close();
  const keys = ["bad-tag", "cut-short", "encoding-99", "negative-version"].map((k) => JSON.stringify([k]));
  const expected = await run("deno-kv", "get.js", [file, "deno-kv", ...keys]);
  assert.deepEqual(lines(expected, "error").length, 3, expected);
  for (const runtime of ["node24", "bun", "deno"]) {
    assert.equal(await run(runtime, "get.js", [file, "webkv", ...keys]), expected, runtime);
  }
});

test("a file locked by another process: a commit waits, then fails clearly and writes nothing", async (t) => {
  const file = join(tempDir(t), "locked.db");
  const kv = await openKv(file);
  t.after(() => kv.close());
  await kv.set(["k"], "before");
  const holder = spawn(NODE24, [join(scripts, "hold-lock.mjs"), file], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => holder.kill("SIGKILL"));
  await new Promise((resolve) => holder.stdout.once("data", resolve));
  // Reads do not wait for a writer (WAL).
  assert.equal((await kv.get(["k"])).value, "before");
  const started = Date.now();
  await assert.rejects(kv.set(["k"], "during"), { name: "TypeError", message: "database is locked" });
  assert.ok(Date.now() - started >= 4500, "waited for the busy timeout");
  holder.kill("SIGKILL");
  await new Promise((resolve) => holder.once("exit", resolve));
  assert.equal((await kv.get(["k"])).value, "before");
  // Once the lock is gone, commits go through.
  await kv.set(["k"], "after");
  assert.equal((await kv.get(["k"])).value, "after");
});

test("a lock held briefly is waited for instead of failing", async (t) => {
  const file = join(tempDir(t), "brief.db");
  const kv = await openKv(file);
  t.after(() => kv.close());
  const holder = spawn(NODE24, [join(scripts, "hold-lock.mjs"), file], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => holder.stdout.once("data", resolve));
  t.after(() => holder.kill("SIGKILL"));
  // SQLite waits for the lock inside the (synchronous) call, so the lock is
  // released from outside: another process kills the holder in 0.5 s.
  spawn("sh", ["-c", `sleep 0.5; kill -9 ${holder.pid}`]);
  const started = Date.now();
  const { ok } = await kv.set(["k"], 1);
  assert.equal(ok, true);
  assert.ok(Date.now() - started >= 300, "it did wait");
});

test("Deno's path rules: empty and ':'-prefixed names are refused, './:x' is a file", async (t) => {
  await assert.rejects(openKv(""), { name: "TypeError", message: "Filename cannot be empty" });
  await assert.rejects(openKv(":foo"), {
    name: "TypeError",
    message: "Filename cannot start with ':' unless prefixed with './'",
  });
  const dir = tempDir(t);
  const kv = await openKv(join(dir, ":x"));
  await kv.set(["a"], 1);
  kv.close();
  assert.ok(existsSync(join(dir, ":x")));
});

test("without node:sqlite (Node 20) a path is an error naming the alternatives, never a memory database", (t) => {
  const out = execFileSync("node", [join(scripts, "open-path.mjs"), join(tempDir(t), "x.db")], { encoding: "utf8" });
  assert.match(out, /^TypeError: openKv\(".*x\.db"\) keeps the database in a SQLite file, which needs node:sqlite/);
  assert.match(out, /openKv\(\) or openKv\(":memory:"\)/);
  assert.match(out, /KV Connect server such as denokv/);
});

// In an unprivileged user namespace this (root) process loses its power to
// write files it may not write (root ignores a file's mode): a 0444 file is
// then read-only to it.
const canUnshare = (() => {
  try {
    execFileSync("unshare", ["-U", "true"]);
    return true;
  } catch {
    return false;
  }
})();

test("a read-only file opens read-only as in Deno: reads work, writes fail with Deno's error, nothing changes", {
  skip: canUnshare ? false : "needs `unshare -U` (unprivileged user namespaces)",
}, async (t) => {
  const file = join(tempDir(t), "ro.db");
  const kv = await openKv(file);
  await kv.set(["k"], 1);
  kv.close();
  chmodSync(file, 0o444);
  const digest = () => createHash("sha256").update(readFileSync(file)).digest("hex");
  const before = digest();
  const outputs = {};
  for (const runtime of ["deno-kv", "node24", "bun", "deno"]) {
    const [bin, argv] = command(runtime, "readonly.js", [file, runtime === "deno-kv" ? "deno-kv" : "webkv"]);
    outputs[runtime] = execFileSync("unshare", ["-U", bin, ...argv], { encoding: "utf8" });
  }
  assert.equal(
    outputs["deno-kv"],
    "read 1\n" + "TypeError: Can not write to a read-only database.\n".repeat(3),
    "real Deno's behaviour",
  );
  for (const runtime of ["node24", "bun", "deno"]) assert.equal(outputs[runtime], outputs["deno-kv"], runtime);
  assert.equal(digest(), before);
  // SQLite may leave an empty WAL beside a WAL-mode file it read: no data.
  assert.ok(!existsSync(file + "-wal") || statSync(file + "-wal").size === 0);
});
