// Durable queues, expiry across a reopen, and what keeps a process alive.
import assert from "node:assert/strict";
import { once } from "node:events";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { openKv } from "webkv";
import { lines, NODES, run, sleep, start, tempDir } from "./helpers.mjs";

for (const node of NODES) {
  test(`a delayed message survives its process, delivered once, on time, to the next listener (${node})`, async (t) => {
    const file = join(tempDir(t), "q.db");
    const enqueueOut = await run(node, "enqueue.js", [file, "webkv", 1500, "later"]);
    const enqueuing = Number(lines(enqueueOut, "enqueuing")[0]);
    const enqueued = Number(lines(enqueueOut, "enqueued")[0]);
    const db = new DatabaseSync(file);
    const [row] = db.prepare("select ts, backoff_schedule, keys_if_undelivered from queue").all();
    db.close();
    assert.ok(row.ts >= enqueuing + 1500 && row.ts <= enqueued + 1500, "ts is the absolute due time");
    assert.equal(row.backoff_schedule, "[100,1000,5000,30000,60000]");
    assert.equal(row.keys_if_undelivered, "[]");

    const listener = start(node, "listen.js", [file, 1]);
    let out = "";
    listener.stdout.on("data", (d) => (out += d));
    const [code] = await once(listener, "exit");
    assert.equal(code, 0, out);
    const [message] = lines(out, "message");
    const [text, at] = message.split(" ");
    assert.equal(text, "later");
    assert.ok(Number(at) >= row.ts, `not before its delay: ${row.ts - Number(at)} ms early`);
    assert.ok(Number(at) < enqueued + 1500 + 2500, `on time: ${Number(at) - enqueued} ms`);
    // close() left no timer: the process ended at once, listenQueue resolved.
    const closed = Number(lines(out, "closed")[0]);
    assert.ok(lines(out, "listenQueue").length === 1, out);
    assert.ok(Date.now() - closed < 400, `exited ${Date.now() - closed} ms after close`);
    const again = new DatabaseSync(file);
    assert.equal(again.prepare("select count(*) as n from queue").get().n, 0);
    assert.equal(again.prepare("select count(*) as n from queue_running").get().n, 0);
    again.close();
  });
}

test("a message real Deno enqueued is delivered to webkv, and the reverse", async (t) => {
  const dir = tempDir(t);
  await run("deno-kv", "enqueue.js", [join(dir, "a.db"), "deno-kv", 300, "from-deno"]);
  const listener = start("deno", "listen.js", [join(dir, "a.db"), 1]);
  let out = "";
  listener.stdout.on("data", (d) => (out += d));
  assert.equal((await once(listener, "exit"))[0], 0);
  assert.match(out, /^message from-deno /m);

  await run("node24", "enqueue.js", [join(dir, "b.db"), "webkv", 300, "from-webkv"]);
  const read = await run("deno-kv", "read.js", [join(dir, "b.db"), "deno-kv", 5000]);
  assert.match(read, /^message "from-webkv" after/m);
});

test("listenQueue keeps the process alive while the database is open", async (t) => {
  const file = join(tempDir(t), "alive.db");
  const listener = start("node24", "listen.js", [file, 1]);
  let out = "";
  listener.stdout.on("data", (d) => (out += d));
  await sleep(2500);
  assert.equal(listener.exitCode, null, "still listening with nothing to deliver");
  await run("bun", "enqueue.js", [file, "webkv", 0, "wake"]);
  const [code] = await once(listener, "exit");
  assert.equal(code, 0);
  assert.match(out, /^message wake /m);
});

test("a failing handler is retried on its backoff schedule, then the message goes to keysIfUndelivered", async (t) => {
  const file = join(tempDir(t), "retry.db");
  const kv = await openKv(file);
  let closed = false;
  t.after(() => closed || kv.close());
  await kv.enqueue({ job: 7 }, { backoffSchedule: [50, 200], keysIfUndelivered: [["dead", 1n], ["dead", 2n]] });
  const attempts = [];
  const db = new DatabaseSync(file);
  const done = new Promise((resolve) => {
    kv.listenQueue((message) => {
      attempts.push(Date.now());
      // While the handler runs, the message is leased in queue_running.
      const running = db.prepare("select deadline, backoff_schedule from queue_running").all();
      assert.equal(running.length, 1);
      assert.ok(running[0].deadline > Date.now());
      if (attempts.length === 3) setTimeout(resolve, 200);
      throw new Error(`fail ${message.job}`);
    });
  });
  await done;
  assert.equal(attempts.length, 3);
  assert.ok(attempts[1] - attempts[0] >= 50 && attempts[2] - attempts[1] >= 200, attempts.join());
  for (const id of [1n, 2n]) assert.deepEqual((await kv.get(["dead", id])).value, { job: 7 });
  assert.equal(db.prepare("select count(*) as n from queue").get().n, 0);
  assert.equal(db.prepare("select count(*) as n from queue_running").get().n, 0);
  db.close();
  // Real Deno reads the undelivered value.
  kv.close();
  closed = true;
  const read = await run("deno-kv", "read.js", [file, "deno-kv", 10]);
  assert.match(read, /^entry \["dead",1n\] = \{"job":7\} @ /m);
});

test("queue rows another program wrote wrong are set aside with a warning, and the messages behind them are delivered", async (t) => {
  const file = join(tempDir(t), "corrupt-queue.db");
  let kv = await openKv(file);
  await kv.set(["kept"], "yes");
  kv.close();
  // In front of the good messages: rows real Deno 2.9 panics on.
  const db = new DatabaseSync(file);
  db.exec(`insert into queue values (1, x'ff', x'00', '[]', '[]');
    insert into queue values (2, 'bad-schedule', x'ff0f4902', 'garbage', '[]');
    insert into queue values (3, 'text-payload', 'text', '[]', '[]');
    insert into queue_running values (4, 'dead-and-bad', x'ff0f4902', '[1e400]', '[]');`);
  db.close();
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(" "));
  t.after(() => (console.warn = warn));
  kv = await openKv(file);
  let closed = false;
  t.after(() => closed || kv.close());
  await kv.enqueue("first");
  const delivered = [];
  const done = new Promise((resolve) =>
    kv.listenQueue((message) => {
      delivered.push(message);
      if (delivered.length === 2) resolve();
    }),
  );
  await kv.enqueue("second");
  await Promise.race([done, sleep(5000)]);
  assert.deepEqual(delivered, ["first", "second"]);
  // The first report is printed at once, the next ones summed up later.
  assert.match(warnings[0] ?? "", /^webkv: the queue message .* cannot be delivered: .* webkv_queue_set_aside/);
  const check = new DatabaseSync(file);
  const setAside = check.prepare("select from_table, id, reason from webkv_queue_set_aside order by ts").all();
  check.close();
  assert.deepEqual(
    setAside.map((row) => [row.from_table, row.reason]),
    [
      ["queue", "its id is not text"],
      ["queue", "its backoff schedule is not a JSON list of milliseconds"],
      ["queue", "its payload is not bytes"],
      ["queue_running", "its backoff schedule is not a JSON list of milliseconds"],
    ],
  );
  // The extra table is no obstacle to real Deno.
  kv.close();
  closed = true;
  const read = await run("deno-kv", "read.js", [file, "deno-kv", 10]);
  assert.match(read, /^entry \["kept"\] = "yes" @ /m);
});

test("an entry expires across a reopen: invisible at once, deleted from the file on open", async (t) => {
  const file = join(tempDir(t), "exp.db");
  let kv = await openKv(file);
  await kv.set(["short"], 1, { expireIn: 300 });
  await kv.set(["long"], 2, { expireIn: 3_600_000 });
  await kv.set(["forever"], 3);
  assert.equal((await kv.get(["short"])).value, 1);
  await sleep(350);
  // Gone from reads the moment it expires (Deno would show it up to ~60 s).
  assert.equal((await kv.get(["short"])).value, null);
  assert.deepEqual((await Array.fromAsync(kv.list({ prefix: [] }))).map((e) => e.key[0]), ["forever", "long"]);
  kv.close();
  const db = new DatabaseSync(file);
  assert.equal(db.prepare("select count(*) as n from kv where expiration_ms >= 0").get().n, 2, "still a row until swept");
  const { version } = db.prepare("select version from data_version").get();
  db.close();
  kv = await openKv(file);
  t.after(() => kv.close());
  assert.deepEqual((await Array.fromAsync(kv.list({ prefix: [] }))).map((e) => e.key[0]), ["forever", "long"]);
  const after = new DatabaseSync(file);
  assert.equal(after.prepare("select count(*) as n from kv").get().n, 2, "the open deleted the expired row");
  assert.equal(after.prepare("select version from data_version").get().version, version + 1, "as Deno: +1");
  after.close();
  // An expired entry counts as missing for a check.
  await kv.set(["short2"], 1, { expireIn: 50 });
  await sleep(80);
  assert.equal((await kv.atomic().check({ key: ["short2"], versionstamp: null }).commit()).ok, true);
});
