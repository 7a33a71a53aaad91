// The Durable Object example (docs/examples/durable-object/) as its README
// runs it: `wrangler dev` (real wrangler, which bundles the Worker with its
// own esbuild and runs it in workerd through miniflare), with webkv
// installed from the packed tarball, not from the repo's pkg/. Requests go
// through the Worker to the object; its state lives in --persist-to and must
// survive a restart of wrangler.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packAndInstall } from "../packaging/pack.mjs";
import { startWrangler } from "../smoke/wrangler.mjs";
import { objects } from "./workerd.mjs";

const example = fileURLToPath(new URL("../../docs/examples/durable-object/", import.meta.url));
const packed = packAndInstall("wrangler-durable-object");
const app = join(packed.runDir, "app");
let wrangler = null;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The Worker's own usage text (404), not wrangler's or a proxy's error page.
const start = () =>
  startWrangler({
    app,
    persistTo: join(packed.runDir, "state"),
    configHome: join(packed.runDir, "config"),
    ready: async (response) => (await response.text()).startsWith("usage: /<object name>/"),
  });

const { ok, waitFor } = objects(() => wrangler);

before(async () => {
  mkdirSync(join(app, "node_modules"), { recursive: true });
  for (const file of ["worker.js", "wrangler.toml"]) cpSync(join(example, file), join(app, file));
  cpSync(packed.installed, join(app, "node_modules/webkv"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "webkv-durable-object", private: true, type: "module" }));
  wrangler = await start();
});

after(async () => {
  await wrangler?.stop();
  rmSync(packed.runDir, { recursive: true, force: true });
});

test("wrangler dev runs the example: set and get, concurrent guarded increments, a KvU64 sum, a delayed message retried and delivered", async () => {
  const set = await ok("ada", "set", { key: ["greeting"], value: "hello" });
  assert.equal(set.ok, true);
  assert.match(set.versionstamp, /^[0-9a-f]{20}$/);
  const got = await ok("ada", "get", { key: ["greeting"] });
  assert.deepEqual(got, { key: ["greeting"], value: "hello", versionstamp: set.versionstamp });

  const n = 20;
  const increments = await Promise.all(
    Array.from({ length: n }, () => ok("ada", "increment", { key: ["visits"], thinkMs: 5 })),
  );
  assert.deepEqual(
    increments.map((r) => r.value).sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i + 1),
  );
  assert.ok(increments.some((r) => r.attempts > 1), `no check failed, so nothing interleaved: ${JSON.stringify(increments)}`);

  await Promise.all([ok("ada", "sum", { key: ["total"], by: 5 }), ok("ada", "sum", { key: ["total"], by: 7 })]);
  assert.deepEqual((await ok("ada", "get", { key: ["total"] })).value, { u64: "12" });

  // Another name is another object, with a database of its own.
  assert.equal((await ok("grace", "get", { key: ["greeting"] })).value, null);

  const enqueued = Date.now();
  await ok("ada", "enqueue", { message: { id: "m1", failTimes: 1 }, delay: 500, backoffSchedule: [300] });
  const delivered = await waitFor(async () => (await ok("ada", "get", { key: ["delivered", "m1"] })).value, 20_000, "m1");
  assert.equal(delivered.attempts, 2);
  assert.ok(delivered.at - enqueued >= 800, `delivered ${delivered.at - enqueued} ms after the enqueue`);
});

test("after wrangler dev restarts on the same --persist-to, the data is there and a message delayed across the restart is delivered", async () => {
  await ok("ada", "enqueue", { message: { id: "across" }, delay: 1500 });
  await wrangler.stop();
  await sleep(1500);
  wrangler = await start();
  assert.equal((await ok("ada", "get", { key: ["greeting"] })).value, "hello");
  assert.equal((await ok("ada", "get", { key: ["visits"] })).value, 20);
  assert.deepEqual((await ok("ada", "get", { key: ["total"] })).value, { u64: "12" });
  assert.equal((await ok("ada", "get", { key: ["delivered", "m1"] })).value.attempts, 2);
  const across = await waitFor(async () => (await ok("ada", "get", { key: ["delivered", "across"] })).value, 20_000, "across");
  assert.equal(across.attempts, 1);
});
