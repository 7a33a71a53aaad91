// SIGKILL in the middle of acknowledged commits loses none of them and
// leaves none partly applied.
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { lines, sleep, start, tempDir } from "./helpers.mjs";

const ROUNDS = 12;

test(`SIGKILL at random times (${ROUNDS} rounds) loses no acknowledged commit and tears none`, async (t) => {
  const file = join(tempDir(t), "crash.db");
  let next = 0;
  let acknowledged = -1;
  for (let round = 0; round < ROUNDS; round++) {
    const child = start("node24", "commits.js", [file, next]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    // Wait for the first acknowledgement (the wasm is loaded), then kill at a random moment.
    while (!out.includes("ack ")) await sleep(5);
    await sleep(20 + Math.random() * 250);
    child.kill("SIGKILL");
    await exited;
    const acks = lines(out, "ack").map(Number);
    assert.ok(acks.length > 0);
    acknowledged = Math.max(acknowledged, acks.at(-1));

    const db = new DatabaseSync(file);
    const keys = db.prepare("select k from kv").all().map((r) => r.k);
    const ids = { a: new Set(), b: new Set(), c: new Set() };
    // Keys are ["a"|"b"|"c", i] with i a double: 0x02 <name> 0x00 0x21 <8 bytes>.
    for (const k of keys) {
      const name = String.fromCharCode(k[1]);
      if (k[2] !== 0 || !(name in ids)) continue;
      const bytes = Uint8Array.from(k.subarray(4, 12));
      bytes[0] ^= 0x80;
      ids[name].add(new DataView(bytes.buffer).getFloat64(0));
    }
    const count = db.prepare("select v from kv where k = ?").get(Uint8Array.from([2, ...Buffer.from("count"), 0]));
    db.close();
    const applied = ids.a.size;
    assert.deepEqual([...ids.b].sort(), [...ids.a].sort(), "a and b written together");
    assert.deepEqual([...ids.c].sort(), [...ids.a].sort(), "a and c written together");
    assert.equal(Number(new DataView(count.v.buffer, count.v.byteOffset).getBigUint64(0, true)), applied, "the counter matches");
    for (let i = 0; i <= acknowledged; i++) assert.ok(ids.a.has(i), `acknowledged commit ${i} is in the file`);
    // At most the one commit in flight at the kill is there unacknowledged.
    assert.ok(applied <= acknowledged + 2, `${applied} applied, ${acknowledged + 1} acknowledged`);
    next = applied;
  }
  assert.ok(acknowledged > ROUNDS * 5, `${acknowledged + 1} commits acknowledged over ${ROUNDS} kills`);
});
