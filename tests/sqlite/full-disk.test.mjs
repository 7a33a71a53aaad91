// A full disk: commits fail with SQLite's error, as in real Deno, nothing
// acknowledged is lost, nothing half-written is left, and the database works
// again once there is space. The disk is a real 1 MiB tmpfs, mounted in an
// unprivileged user and mount namespace (`unshare -Urm`), where writing
// past its size fails with ENOSPC.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openKv } from "webkv";
import { command, lines, tempDir } from "./helpers.mjs";

const canMount = (() => {
  try {
    // Over the temporary directory, in a namespace of its own: nothing
    // outside sees the mount.
    execFileSync("unshare", ["-Urm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", tmpdir()], {
      stdio: "ignore",
    });
    return true;
  } catch {
    return false;
  }
})();

function fillDisk(t, runtime) {
  const dir = tempDir(t);
  const mnt = join(dir, "mnt");
  mkdirSync(mnt);
  const out = join(dir, "copy.db");
  const [bin, argv] = command(runtime, "full-disk.js", [mnt, runtime === "deno-kv" ? "deno-kv" : "webkv", out]);
  const script = `mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"`;
  const stdout = execFileSync("unshare", ["-Urm", "sh", "-c", script, "sh", mnt, bin, ...argv], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { stdout, out };
}

for (const runtime of ["deno-kv", "node24", "bun", "deno"]) {
  test(`a full disk (${runtime}): a clear error, no acknowledged commit lost, none torn, working again with space`, {
    skip: canMount ? false : "needs `unshare -Urm` (unprivileged user and mount namespaces)",
  }, async (t) => {
    const { stdout, out } = fillDisk(t, runtime);
    // Real Deno's error for the same situation.
    assert.deepEqual(lines(stdout, "error"), ["TypeError: database or disk is full"]);
    const acked = new Set(lines(stdout, "ack").map(Number));
    const issued = Number(stdout.match(/^full after (\d+) commits$/m)[1]);
    assert.ok(acked.size >= 10, `${acked.size} commits went through before the disk was full`);
    assert.ok(issued - acked.size >= 11, `${issued - acked.size} commits failed`);
    assert.deepEqual(lines(stdout, "after ack"), ["0", "1", "2", "3", "4"]);
    assert.match(stdout, /^done$/m);

    const kv = await openKv(out);
    t.after(() => kv.close());
    const a = new Map();
    for await (const e of kv.list({ prefix: ["a"] })) a.set(e.key[1], e.value);
    const b = new Map();
    for await (const e of kv.list({ prefix: ["b"] })) b.set(e.key[1], e.value);
    assert.deepEqual([...a.keys()].sort((x, y) => x - y), [...acked].sort((x, y) => x - y), "exactly the acknowledged commits");
    assert.deepEqual([...b.keys()].sort((x, y) => x - y), [...acked].sort((x, y) => x - y), "both halves of each");
    for (const i of acked) {
      assert.equal(a.get(i), `${i}:`.padEnd(3000, "x"));
      assert.equal(b.get(i), i);
    }
    const after = await kv.getMany([0, 1, 2, 3, 4].map((k) => ["after", k]));
    assert.deepEqual(after.map((e) => e.value), [0, 1, 2, 3, 4]);
  });
}
