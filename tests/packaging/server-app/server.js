// A server app as bundlers.test.mjs builds it for Node and Bun (esbuild
// --platform=node, `bun build --target=node|bun`), with no webkv-specific
// configuration, and runs it copied alone into an empty directory: no
// node_modules, no .wasm file beside it.
//
//   node server.mjs <directory for the SQLite files> [<KV Connect URL>]
//   (the URL's token in DENO_KV_ACCESS_TOKEN)
//
// Prints one line of JSON: what each database gave back (SERVER_EXPECTED).
import { Hono } from "hono";
import { KvU64, openKv } from "webkv";
// A bare import, as code written for browsers has it: a bundler that took
// the entry for side-effect free would drop it, with a warning.
import "webkv/kv-connect";
import { createKvMiddleware } from "webkv/hono";
import { join } from "node:path";

const [dir, remoteUrl] = process.argv.slice(2);
const result = {};

/** set, get and sum on `kv`, under `prefix`. */
async function roundTrip(kv, prefix) {
  await kv.set([...prefix, "a"], { n: 1 });
  await kv.atomic().sum([...prefix, "count"], 2n).commit();
  const count = (await kv.get([...prefix, "count"])).value;
  return { value: (await kv.get([...prefix, "a"])).value, count: count instanceof KvU64 ? String(count.value) : "not a KvU64" };
}

const memory = await openKv(":memory:");
result.memory = await roundTrip(memory, ["m"]);
memory.close();

// A SQLite file: written, closed, and read again by a second open.
const path = join(dir, "x.sqlite");
const file = await openKv(path);
result.sqlite = await roundTrip(file, ["f"]);
file.close();
const reopened = await openKv(path);
result.reopened = (await reopened.get(["f", "a"])).value;
reopened.close();

// webkv/hono's middleware, in a Hono app bundled with it.
const app = new Hono().use(createKvMiddleware(join(dir, "hono.sqlite")));
app.post("/hit", async (c) => {
  await c.var.kv.atomic().sum(["hits"], 1n).commit();
  return c.json(String((await c.var.kv.get(["hits"])).value.value));
});
await app.request("/hit", { method: "POST" });
result.hono = await (await app.request("/hit", { method: "POST" })).json();

if (remoteUrl) {
  const remote = await openKv(remoteUrl);
  result.remote = await roundTrip(remote, ["packaging-server", crypto.randomUUID()]);
  remote.close();
}

console.log(JSON.stringify(result));
