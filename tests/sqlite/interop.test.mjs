// Files written by webkv (in Node 24 and 22, Bun and Deno) are read by real
// Deno.openKv, and files written by real Deno are read by webkv: every value
// encoding, versionstamps, expiry and a delayed queue message.
import assert from "node:assert/strict";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { canon, canonKey, sampleValues } from "./scripts/canon.js";
import { spawn } from "node:child_process";
import { DENOKV, lines, NODES, run, sleep, tempDir } from "./helpers.mjs";
import { KvU64 } from "webkv";

const expectedValues = new Map(sampleValues(KvU64).map(([k, v]) => [canonKey(k), canon(v)]));

function check(written, read, from, { queue = true } = {}) {
  const stamps = new Map(lines(written, "stamp").map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
  const entries = new Map(
    lines(read, "entry").map((l) => {
      const [key, rest] = l.split(" = ");
      const at = rest.lastIndexOf(" @ ");
      return [key, { value: rest.slice(0, at), versionstamp: rest.slice(at + 3) }];
    }),
  );
  for (const [key, value] of expectedValues) {
    assert.equal(entries.get(key)?.value, value, `${key} as ${from} wrote it`);
    assert.equal(entries.get(key)?.versionstamp, stamps.get(key), `${key}'s versionstamp`);
  }
  const stamped = [...stamps.keys()].find((k) => k.startsWith('["vs"'));
  assert.equal(entries.get(stamped)?.value, '"stamped"', "the commitVersionstamp key");
  assert.ok(!entries.has('["expired"]'), "an expired entry is not read");
  assert.equal(entries.get('["expires later"]')?.value, '"here"');
  assert.equal(entries.size, expectedValues.size + 2, [...entries.keys()].join("\n"));
  const versions = [...stamps.values()];
  assert.deepEqual([...versions].sort(), versions, "versionstamps increase commit by commit");
  if (queue) assert.match(lines(read, "message")[0], new RegExp(`^\\{"from":"${from}","n":42n\\} after \\d+$`));
}

const WEBKV_RUNTIMES = [...NODES, "bun", "deno"];

for (const writer of WEBKV_RUNTIMES) {
  test(`webkv in ${writer} writes a file that real Deno reads`, async (t) => {
    const file = join(tempDir(t), "data.db");
    const written = await run(writer, "write.js", [file, "webkv"]);
    assert.match(written, /done/);
    const read = await run("deno-kv", "read.js", [file, "deno-kv"]);
    check(written, read, "webkv");
  });
}

test(`real Deno writes a file that webkv reads in ${WEBKV_RUNTIMES.join(", ")}`, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "deno.db");
  const written = await run("deno-kv", "write.js", [file, "deno-kv"]);
  for (const reader of WEBKV_RUNTIMES) {
    // Each reader gets its own copy: reading takes the queue message.
    const copy = join(dir, `${reader}.db`);
    copyFileSync(file, copy);
    if (existsSync(file + "-wal")) copyFileSync(file + "-wal", copy + "-wal");
    const read = await run(reader, "read.js", [copy, "webkv"]);
    try {
      check(written, read, "deno-kv");
    } catch (err) {
      err.message = `webkv in ${reader}: ${err.message}`;
      throw err;
    }
  }
});

test("denokv serves a file webkv wrote to real Deno's KV Connect client", async (t) => {
  const file = join(tempDir(t), "served.db");
  const written = await run("node24", "write.js", [file, "webkv"]);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const token = "webkv-sqlite-test-token";
  const server = spawn(DENOKV, ["--sqlite-path", file, "serve", "--access-token", token, "--addr", `127.0.0.1:${port}`], {
    stdio: "ignore",
  });
  t.after(() => server.kill("SIGKILL"));
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await sleep(50);
    }
  }
  const read = await run("deno-kv", "read.js", [`http://127.0.0.1:${port}`, "deno-kv", 10], {
    env: { DENO_KV_ACCESS_TOKEN: token },
  });
  assert.equal(lines(read, "entry").length, expectedValues.size + 2, read);
  check(written, read, "webkv", { queue: false });
});
