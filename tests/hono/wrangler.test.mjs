// The README's Hono example app (examples/hono-app.js, `export default app`)
// as a Worker project runs it: real `wrangler dev`, which bundles `hono`
// and `webkv/hono` (the package's workerd entry and its .wasm) with its own
// esbuild, with webkv installed from the packed tarball. The default
// database, `openKv()`, is in memory in workerd.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packAndInstall } from "../packaging/pack.mjs";
import { startWrangler } from "../smoke/wrangler.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const packed = packAndInstall("wrangler-hono");
const app = join(packed.runDir, "app");
let wrangler = null;

before(async () => {
  mkdirSync(join(app, "node_modules"), { recursive: true });
  cpSync(join(root, "examples/hono-app.js"), join(app, "hono-app.js"));
  writeFileSync(join(app, "wrangler.toml"), 'name = "webkv-hono"\nmain = "hono-app.js"\ncompatibility_date = "2026-11-01"\n');
  cpSync(packed.installed, join(app, "node_modules/webkv"), { recursive: true });
  cpSync(join(root, "node_modules/hono"), join(app, "node_modules/hono"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "webkv-hono", private: true, type: "module" }));
  wrangler = await startWrangler({
    app,
    persistTo: join(packed.runDir, "state"),
    configHome: join(packed.runDir, "config"),
    // Hono's own 404 for a route the app does not have.
    ready: async (response) => response.status === 404 && (await response.text()) === "404 Not Found",
  });
});

after(async () => {
  await wrangler?.stop();
  rmSync(packed.runDir, { recursive: true, force: true });
});

async function request(path, { body, cookie } = {}) {
  const response = await fetch(wrangler.base + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

test("wrangler dev runs the README's Hono app: a session kept with expireIn, a sum rate limiter, logout", async () => {
  // The six logins below must fall in one of the app's one-minute windows:
  // start anew if this one has less than 15 s left.
  const leftInWindow = 60_000 - (Date.now() % 60_000);
  if (leftInWindow < 15_000) await new Promise((resolve) => setTimeout(resolve, leftInWindow + 50));
  const login = await request("/login", { body: { user: "ada" } });
  assert.equal(login.status, 200, JSON.stringify(login.json) + wrangler.output());
  assert.deepEqual(login.json, { user: "ada" });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  assert.match(cookie, /^session=[0-9a-f-]{36}$/);

  const me = await request("/me", { cookie });
  assert.equal(me.status, 200);
  assert.equal(me.json.user, "ada");
  assert.ok(Math.abs(Date.parse(me.json.since) - Date.now()) < 60_000, me.json.since);

  // Five logins per user name per minute: the first was one of them.
  for (let i = 2; i <= 5; i++) assert.equal((await request("/login", { body: { user: "ada" } })).status, 200);
  const limited = await request("/login", { body: { user: "ada" } });
  assert.equal(limited.status, 429);
  assert.deepEqual(limited.json, { error: "too many attempts" });
  assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  assert.equal((await request("/login", { body: { user: "grace" } })).status, 200, "another name has its own count");

  assert.deepEqual((await request("/logout", { body: {}, cookie })).json, { ok: true });
  assert.equal((await request("/me", { cookie })).status, 401);
  assert.doesNotMatch(wrangler.output(), /uncaught|exception/i, wrangler.output());
});
