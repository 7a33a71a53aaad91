// openKv(ctx.storage) in real workerd: the example Worker
// (docs/examples/durable-object/) with SQLite-backed Durable Object storage
// on disk in a temp directory, restarted between tests where it matters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { call, objects, startWorkerd, UNIQUE_KEY } from "./workerd.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const deno = join(here, "../../node_modules/@deno/linux-x64-glibc/deno");
const dir = mkdtempSync(join(tmpdir(), "webkv-do-"));
const storage = join(dir, "storage");
let workerd = null;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function restart() {
  await workerd?.stop();
  workerd = await startWorkerd(join(dir, "config"), storage);
}

const { ok, waitFor } = objects(() => workerd);

async function sql(object, query, params = []) {
  return await ok(object, "sql", { query, params });
}

before(restart);

after(async () => {
  await workerd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("list order, limits, cursors, checks, sum/min/max and Deno's error messages are real Deno's", async () => {
  const inObject = await ok("basics", "basics");
  const inDeno = JSON.parse(
    execFileSync(deno, ["run", "--unstable-kv", "-A", join(here, "deno_basics.js")], { encoding: "utf8" }),
  );
  assert.deepEqual(inObject, inDeno);
});

test("openKv in workerd: a path names the alternatives, :memory: works, a non-storage object and a class without SQLite are refused", async () => {
  const [, path] = await call(workerd.base, "-", "open", { path: "data.sqlite" });
  assert.match(path.error, /^TypeError: openKv\("data.sqlite"\): workerd has no SQLite file/);
  assert.match(path.error, /openKv\(ctx\.storage\)/);
  assert.match(path.error, /":memory:"/);
  assert.match(path.error, /KV Connect/);
  assert.deepEqual((await call(workerd.base, "-", "open", { path: ":memory:" }))[1], { value: 1 });
  const [, other] = await call(workerd.base, "-", "open", { path: "storage-like" });
  assert.match(other.error, /^TypeError: openKv\(storage\) takes a Durable Object's storage/);
  const [, plain] = await call(workerd.base, "-", "plain");
  assert.match(plain.error, /^TypeError: Cannot open the Durable Object's storage: SQL is not enabled for this Durable Object class/);
});

test("the object's storage holds Deno's tables", async () => {
  await ok("tables", "set", { key: ["a"], value: 1 });
  const tables = await sql("tables", "select name from sqlite_master where type = 'table' and name not like '_cf_%' order by name");
  assert.deepEqual(tables.flat(), ["data_version", "kv", "migration_state", "queue", "queue_running"]);
  assert.deepEqual(await sql("tables", "select k, version from migration_state"), [[0, 3]]);
});

test("concurrent check-guarded increments and concurrent sums never lose an update", async () => {
  const n = 40;
  const increments = await Promise.all(
    Array.from({ length: n }, () => ok("counter", "increment", { key: ["count"], thinkMs: 5 })),
  );
  const values = increments.map((r) => r.value).sort((a, b) => a - b);
  assert.deepEqual(values, Array.from({ length: n }, (_, i) => i + 1));
  // The requests did interleave: some checks failed and were retried.
  assert.ok(increments.some((r) => r.attempts > 1), JSON.stringify(increments));
  assert.equal((await ok("counter", "get", { key: ["count"] })).value, n);

  await Promise.all(Array.from({ length: n }, () => ok("counter", "sum", { key: ["total"], by: 1 })));
  assert.deepEqual((await ok("counter", "get", { key: ["total"] })).value, { u64: String(n) });
});

test("a commit that fails midway leaves the object's storage exactly as it was", async () => {
  await ok("midway", "set", { key: ["a"], value: "before" });
  await ok("midway", "sum", { key: ["c"], by: 1 });
  // The counter's row now claims an encoding no one knows: the sum reading
  // it fails after the atomic's set of ["a"] and the version bump ran.
  await sql("midway", "update kv set v_encoding = 99 where v_encoding = 2");
  const snapshot = async () => ({
    kv: await sql("midway", "select k, v, v_encoding, version, expiration_ms from kv order by k"),
    version: await sql("midway", "select version from data_version"),
    queue: await sql("midway", "select count(*) from queue"),
  });
  const before = await snapshot();
  const [status, result] = await call(workerd.base, "midway", "atomic", {
    mutations: [
      { type: "set", key: ["a"], value: "after" },
      { type: "set", key: ["b"], value: "new" },
      { type: "sum", key: ["c"], value: "1" },
    ],
  });
  assert.equal(status, 400);
  assert.equal(result.error, "TypeError: The value encoding 99 is unknown.");
  assert.deepEqual(await snapshot(), before);
  assert.equal((await ok("midway", "get", { key: ["a"] })).value, "before");
  // The database still commits.
  await ok("midway", "set", { key: ["a"], value: "later" });
  assert.equal((await ok("midway", "get", { key: ["a"] })).value, "later");
});

test("a failing message is retried on its backoffSchedule, then written to keysIfUndelivered", async () => {
  const started = Date.now();
  await ok("retries", "enqueue", { message: { id: "thrice", failTimes: 2 }, backoffSchedule: [300, 600] });
  const delivered = await waitFor(async () => (await ok("retries", "get", { key: ["delivered", "thrice"] })).value, 10_000, "delivery");
  assert.equal(delivered.attempts, 3);
  // Two waits of 300 and 600 ms came before the third delivery.
  assert.ok(delivered.at - started >= 900, `delivered after ${delivered.at - started} ms`);

  await ok("retries", "enqueue", {
    message: { id: "never", failTimes: 99 },
    backoffSchedule: [100, 100],
    keysIfUndelivered: [["dead", "never"]],
  });
  const dead = await waitFor(async () => (await ok("retries", "get", { key: ["dead", "never"] })).value, 10_000, "keysIfUndelivered");
  assert.deepEqual(dead, { id: "never", failTimes: 99 });
  assert.deepEqual((await ok("retries", "get", { key: ["attempts", "never"] })).value, { u64: "3" });
  assert.equal((await ok("retries", "get", { key: ["delivered", "never"] })).value, null);
  assert.deepEqual(await sql("retries", "select (select count(*) from queue) + (select count(*) from queue_running)"), [[0]]);
});

test("the object's own alarm and webkv's share the one alarm: both fire, in either order", async () => {
  // Its own first: webkv leaves the earlier alarm alone, and sets its own
  // once the object's has fired.
  const own = await ok("alarms", "own-alarm", { inMs: 800 });
  await ok("alarms", "enqueue", { message: { id: "after own" }, delay: 1600 });
  assert.equal(await ok("alarms", "alarm"), own.at);
  // Then webkv's first: it moves the alarm earlier, and the object's alarm()
  // sets its own again after webkv's part.
  await sleep(2000);
  const second = await ok("alarms", "own-alarm", { inMs: 2000 });
  await ok("alarms", "enqueue", { message: { id: "before own" }, delay: 500 });
  const read = async (key) => (await ok("alarms", "get", { key })).value;
  await waitFor(async () => (await read(["own alarm fired"]))?.at === second.at, 6000, "the second own alarm");
  const fired = await read(["own alarm fired"]);
  assert.ok(fired.firedAt >= second.at, JSON.stringify(fired));
  assert.ok((await read(["delivered", "after own"])).at >= own.at);
  const early = await read(["delivered", "before own"]);
  assert.ok(early.at < second.at, "webkv's message waited for the object's alarm");
});

test("a delivery cut off by a crash is delivered again after the restart, once its lease ran out", async () => {
  await ok("crash", "enqueue", { message: { id: "cut", firstTakesMs: 60_000 } });
  await waitFor(async () => (await ok("crash", "get", { key: ["attempts", "cut"] })).value, 5000, "the first attempt");
  const [[deadline]] = await sql("crash", "select deadline from queue_running");
  workerd.kill();
  await restart();
  await sleep(Math.max(0, deadline - Date.now()) + 2500);
  const asked = Date.now();
  const delivered = (await ok("crash", "get", { key: ["delivered", "cut"] })).value;
  assert.equal(delivered?.attempts, 2, `${JSON.stringify(delivered)}\n${workerd.output()}`);
  assert.ok(delivered.at >= deadline && delivered.at < asked, JSON.stringify({ delivered, deadline, asked }));
  assert.deepEqual(await sql("crash", "select (select count(*) from queue) + (select count(*) from queue_running)"), [[0]]);
});

let durableId = null;

test("values, versionstamps and expiry survive a restart; a delayed message and a retry are delivered after it by the alarm, once, on time", async () => {
  const plain = await ok("durable", "set", { key: ["plain"], value: { x: 1, s: "text" } });
  const counter = await ok("durable", "sum", { key: ["u"], by: 7 });
  await ok("durable", "set", { key: ["short"], value: "soon gone", expireIn: 1000 });
  const long = await ok("durable", "set", { key: ["long"], value: "stays", expireIn: 3_600_000 });
  // A retry too: the first delivery fails now, the second is due after
  // the restart.
  await ok("durable", "enqueue", { message: { id: "retried", failTimes: 1 }, backoffSchedule: [3500] });
  await waitFor(async () => (await ok("durable", "get", { key: ["attempts", "retried"] })).value, 5000, "a first attempt");
  await ok("durable", "enqueue", { message: { id: "late" }, delay: 4000 });
  const queued = await sql("durable", "select ts from queue order by ts");
  assert.equal(queued.length, 2);
  const due = queued[1][0];
  durableId = await ok("durable", "id");

  await restart();
  // Nothing touches the object until well after the message was due: only
  // its alarm can have started it.
  await sleep(Math.max(0, due - Date.now()) + 2000);
  const asked = Date.now();
  const delivered = (await ok("durable", "get", { key: ["delivered", "late"] })).value;
  assert.ok(delivered, `not delivered\n${workerd.output()}`);
  assert.equal(delivered.attempts, 1);
  assert.ok(delivered.at >= due, `delivered ${due - delivered.at} ms early`);
  assert.ok(delivered.at <= due + 1500, `delivered ${delivered.at - due} ms late`);
  assert.ok(delivered.at < asked, "delivered only when a request woke the object");
  const retried = (await ok("durable", "get", { key: ["delivered", "retried"] })).value;
  assert.equal(retried?.attempts, 2);
  assert.ok(retried.at >= queued[0][0] && retried.at < asked, JSON.stringify({ retried, queued, asked }));

  assert.deepEqual(await ok("durable", "get", { key: ["plain"] }), {
    key: ["plain"],
    value: { x: 1, s: "text" },
    versionstamp: plain.versionstamp,
  });
  assert.deepEqual(await ok("durable", "get", { key: ["u"] }), {
    key: ["u"],
    value: { u64: "7" },
    versionstamp: counter.versionstamp,
  });
  assert.equal((await ok("durable", "get", { key: ["short"] })).value, null);
  assert.equal((await ok("durable", "get", { key: ["long"] })).versionstamp, long.versionstamp);
  // Delivered once: a second restart delivers nothing again.
  await restart();
  await sleep(1000);
  assert.deepEqual((await ok("durable", "get", { key: ["attempts", "late"] })).value, { u64: "1" });
});

test("real Deno's Deno.openKv reads a copy of the object's SQLite file", async () => {
  assert.ok(durableId, "the restart test ran first");
  await workerd.stop();
  workerd = null;
  const file = join(storage, UNIQUE_KEY, `${durableId}.sqlite`);
  const copy = join(dir, "copy.sqlite");
  copyFileSync(file, copy);
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(file + suffix)) copyFileSync(file + suffix, copy + suffix);
  }
  const script =
    "const kv = await Deno.openKv(Deno.args[0]);" +
    "const out = { plain: (await kv.get(['plain'])).value, u: String((await kv.get(['u'])).value), keys: [] };" +
    "for await (const e of kv.list({ prefix: [] })) out.keys.push(e.key);" +
    "console.log(JSON.stringify(out)); kv.close();";
  const read = JSON.parse(execFileSync(deno, ["eval", "--unstable-kv", script, copy], { encoding: "utf8" }));
  assert.deepEqual(read.plain, { x: 1, s: "text" });
  assert.equal(read.u, "7");
  assert.deepEqual(read.keys, [
    ["attempts", "late"],
    ["attempts", "retried"],
    ["delivered", "late"],
    ["delivered", "retried"],
    ["long"],
    ["plain"],
    ["u"],
  ]);
});
