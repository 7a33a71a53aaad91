// Several processes and handles on one file: one serializable history.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { openKv } from "webkv";
import { NODES, run, tempDir } from "./helpers.mjs";

for (const node of NODES) {
  test(`webkv (${node}) and real Deno doing 2 x 500 check-guarded increments end at exactly 1000`, async (t) => {
    const file = join(tempDir(t), "counter.db");
    // Create the file first so that both start on the same database.
    const kv = await openKv(file);
    kv.close();
    const [a, b] = await Promise.all([
      run(node, "incr.js", [file, "webkv", 500]),
      run("deno-kv", "incr.js", [file, "deno-kv", 500]),
    ]);
    const again = await openKv(file);
    t.after(() => again.close());
    assert.equal((await again.get(["counter"])).value, 1000, `webkv: ${a} deno: ${b}`);
    // webkv waits for the lock instead of failing.
    assert.match(a, /locked=0$/m);
  });
}

test("two webkv processes (Node 24 and Bun) doing 2 x 500 increments end at exactly 1000", async (t) => {
  const file = join(tempDir(t), "counter.db");
  const [a, b] = await Promise.all([
    run("node24", "incr.js", [file, "webkv", 500]),
    run("bun", "incr.js", [file, "webkv", 500]),
  ]);
  const kv = await openKv(file);
  t.after(() => kv.close());
  assert.equal((await kv.get(["counter"])).value, 1000, `node: ${a} bun: ${b}`);
  assert.match(a + b, /locked=0\n.*locked=0/s);
});

test("two handles on one file in one process see each other's writes at once, and watches", async (t) => {
  const dir = tempDir(t);
  const a = await openKv(join(dir, "shared.db"));
  // Another spelling of the same file.
  const b = await openKv(join(dir, ".", "x", "..", "shared.db"));
  t.after(() => {
    for (const kv of [a, b]) {
      try {
        kv.close();
      } catch {}
    }
  });
  const stream = b.watch([["w"]]).getReader();
  assert.equal((await stream.read()).value[0].value, null);
  const { versionstamp } = await a.set(["w"], "from a");
  assert.deepEqual(await b.get(["w"]), { key: ["w"], value: "from a", versionstamp });
  const seen = await stream.read();
  assert.equal(seen.value[0].value, "from a", "b's watch sees a's commit");
  await b.set(["x"], 2);
  assert.equal((await a.get(["x"])).value, 2);
  // Closing one handle leaves the other working.
  a.close();
  assert.equal((await b.get(["x"])).value, 2);
  await b.set(["y"], 3);
  stream.cancel();
});

test("a commit of another process reaches a watch within a couple of seconds", async (t) => {
  const file = join(tempDir(t), "watch.db");
  const kv = await openKv(file);
  t.after(() => kv.close());
  const stream = kv.watch([["counter"]]).getReader();
  assert.equal((await stream.read()).value[0].value, null);
  await run("deno-kv", "incr.js", [file, "deno-kv", 1]);
  const started = Date.now();
  const seen = await stream.read();
  assert.equal(seen.value[0].value, 1);
  assert.ok(Date.now() - started < 3000);
  stream.cancel();
});
