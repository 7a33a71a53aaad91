// The webkv/hono checks, run by hono.test.mjs against the test app (app.js)
// in one runtime. `request(path, init)` answers like fetch: over HTTP for
// Deno, Bun and workerd, through app.request in Node. A real denokv (its
// URL and token) serves the KV Connect checks, each through its own fault
// proxy (tests/kvconnect/fault_proxy.mjs), whose log shows how many times
// the database was opened: every open of a KV Connect database is one POST
// of its metadata exchange.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFaultProxy } from "../kvconnect/fault_proxy.mjs";
import * as webkv from "../../pkg/node.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Metadata exchanges the proxy saw (answered by denokv or by a rule). */
function opens(proxy) {
  return proxy.log.filter((entry) => entry.method === "POST" && entry.path === "/").length;
}

export async function runChecks(t, { request, denokv, runtime }) {
  const proxies = [];
  const newProxy = async () => {
    const proxy = await startFaultProxy({ target: denokv.url });
    proxies.push(proxy);
    return proxy;
  };
  const json = async (path, init = {}) => {
    const response = await request(path, init);
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`${init.method ?? "GET"} ${path}: ${response.status}, not JSON: ${text}`);
    }
    return { status: response.status, body, headers: response.headers };
  };
  const remoteHeaders = (proxy, token = denokv.token) => ({ "x-kv-url": proxy.url, ...(token === null ? {} : { "x-kv-token": token }) });
  const expectOk = (results, what) => {
    for (const { status, body } of results) assert.equal(status, 200, `${what}: ${JSON.stringify(body)}`);
  };

  try {
    await t.test("the same argument gives the same middleware; bad arguments fail at once", async () => {
      const { status, body } = await json("/identity");
      assert.equal(status, 200);
      assert.deepEqual(body, {
        runtime,
        samePath: true,
        sameAsOptions: true,
        defaultIsKvMiddleware: true,
        otherPathOther: true,
        otherTokenOther: true,
        urlIsItsHref: true,
        methods: ["function", "function", "function"],
        badPath: "TypeError: createKvMiddleware: expected a path, a URL, or { path, accessToken }",
        badOption: 'TypeError: createKvMiddleware: unknown option "pth" (expected path, accessToken)',
        notOptions: "TypeError: createKvMiddleware: expected a path, a URL, or { path, accessToken }",
      });
    });

    await t.test("concurrent first requests share one database (in memory: no hit lost)", async () => {
      // Each request adds 1: had each first request opened a database of its
      // own, the counter would miss the hits made in the others.
      const hits = await Promise.all(Array.from({ length: 20 }, () => json("/mem/hit", { method: "POST" })));
      expectOk(hits, "POST /mem/hit");
      assert.deepEqual((await json("/mem/hits")).body, { hits: "20", isKv: true });
    });

    await t.test("two requests see the same data", async () => {
      const put = await json("/mem/set/greeting", { method: "PUT", body: "hello from one request" });
      assert.equal(put.status, 200);
      const got = await json("/mem/get/greeting");
      assert.deepEqual(got.body, { value: "hello from one request", versionstamp: put.body.versionstamp });
    });

    await t.test("KV Connect: opened once under 10 concurrent first requests, then shared", async () => {
      const proxy = await newProxy();
      const headers = remoteHeaders(proxy);
      const hits = await Promise.all(Array.from({ length: 10 }, () => json("/remote/hit", { method: "POST", headers })));
      expectOk(hits, "POST /remote/hit");
      assert.equal(opens(proxy), 1, `metadata exchanges: ${JSON.stringify(proxy.log.map((e) => `${e.method} ${e.path}`))}`);
      assert.deepEqual((await json("/remote/hits", { headers })).body, { hits: "10", isKv: true });
      assert.equal(opens(proxy), 1, "a later request reuses the open database");
      // The hits are in denokv itself, as another client sees them.
      const kv = await webkv.openKv(denokv.url, { accessToken: denokv.token });
      try {
        assert.equal((await kv.get(["hits"])).value?.value, 10n);
      } finally {
        kv.close();
      }
    });

    await t.test("a failed open is not cached: every waiting request gets the error, the next one opens it", async () => {
      const proxy = await newProxy();
      // The server refuses the first metadata exchange, as denokv refuses a
      // wrong token; the three first requests wait on that one open.
      proxy.addRule({ path: "/", method: "POST", action: "401", times: 1 });
      const headers = remoteHeaders(proxy);
      const failed = await Promise.all(Array.from({ length: 3 }, () => json("/remote/hits", { headers })));
      const message =
        `webkv/hono: could not open the KV Connect database at ${proxy.url} for c.var.kv: TypeError: Could not open Deno KV database: ` +
        // The URL as Deno's client normalizes it (a trailing slash).
        `the metadata endpoint at '${new URL(proxy.url).href}' responded with status 401 Unauthorized: Invalid access token.`;
      for (const { status, body } of failed) {
        assert.equal(status, 503, JSON.stringify(body));
        assert.equal(body.name, "KvOpenError");
        assert.equal(body.error, message);
        assert.ok(!JSON.stringify(body).includes(denokv.token), "the error does not show the token");
      }
      assert.equal(opens(proxy), 1, "one open for the three concurrent requests");
      const retried = await json("/remote/hits", { headers });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(retried.body.hits, "10");
      assert.equal(opens(proxy), 2, "the next request opened it again");
    });

    await t.test("a KV Connect URL without a token fails with openKv's reason, every time", async () => {
      // Deno without --allow-env cannot read the variable at all, and says so.
      const reason = runtime === "deno"
        ? 'NotCapable: Requires env access to "DENO_KV_ACCESS_TOKEN", run again with the --allow-env flag'
        : "TypeError: Missing DENO_KV_ACCESS_TOKEN environment variable. Please set it to your access token from https://dash.deno.com/account.";
      const proxy = await newProxy();
      for (let i = 0; i < 2; i++) {
        const { status, body } = await json("/remote/hits", { headers: remoteHeaders(proxy, null) });
        assert.equal(status, 503);
        assert.deepEqual(body, {
          name: "KvOpenError",
          error: `webkv/hono: could not open the KV Connect database at ${proxy.url} for c.var.kv: ${reason}`,
          cause: reason,
        });
      }
      assert.equal(opens(proxy), 0, "nothing reached the server");
    });

    await t.test("a path: a SQLite file where the runtime has one, else a clear reason, every time", async () => {
      const dir = mkdtempSync(join(tmpdir(), "webkv-hono-"));
      const path = join(dir, "app.sqlite");
      const headers = { "x-kv-url": path };
      const nodeHasSqlite = await import("node:sqlite").then(() => true, () => false);
      const reason = {
        workerd: /^TypeError: openKv\(".*"\): workerd has no SQLite file to keep a database in\. Inside a Durable Object use openKv\(ctx\.storage\)/,
        // Run with --allow-net only.
        deno: /^TypeError: Cannot open .*app\.sqlite: Requires read access to ".*app\.sqlite", run again with the --allow-read flag$/,
        node: nodeHasSqlite ? null : /^TypeError: openKv\(".*"\) keeps the database in a SQLite file, which needs node:sqlite: Node v\d+\.\d+\.\d+ has none/,
        bun: null,
      }[runtime];
      try {
        if (reason === null) {
          expectOk([await json("/remote/hit", { method: "POST", headers })], "POST /remote/hit on a file");
          assert.deepEqual((await json("/remote/hits", { headers })).body, { hits: "1", isKv: true });
          assert.ok(existsSync(path), "the database is a file");
          return;
        }
        for (let i = 0; i < 2; i++) {
          const { status, body } = await json("/remote/hits", { headers });
          assert.equal(status, 503);
          assert.equal(body.name, "KvOpenError");
          assert.match(body.cause, reason);
          assert.equal(body.error, `webkv/hono: could not open the database ${JSON.stringify(path)} for c.var.kv: ${body.cause}`);
        }
      } finally {
        if (reason === null) await json("/close", { method: "POST", headers });
        rmSync(dir, { recursive: true, force: true });
      }
    });

    await t.test("close() closes the database; the next request opens it again", async () => {
      const closedMem = await json("/close?which=mem", { method: "POST" });
      assert.equal(closedMem.status, 200, JSON.stringify(closedMem.body));
      // (Deno's own message for a closed database.)
      assert.equal(closedMem.body.afterClose, "BadResource: Bad resource ID", "the Kv the requests had is closed");
      // In memory, a reopened database starts empty.
      assert.deepEqual((await json("/mem/hits")).body, { hits: "0", isKv: true });
      assert.deepEqual((await json("/mem/get/greeting")).body, { value: null, versionstamp: null });

      const proxy = await newProxy();
      const headers = remoteHeaders(proxy);
      assert.equal((await json("/remote/hits", { headers })).body.hits, "10");
      const closedRemote = await json("/close?which=remote", { method: "POST", headers });
      assert.equal(closedRemote.body.afterClose, "BadResource: Bad resource ID");
      assert.equal(opens(proxy), 1);
      // On the server the data stays; the next request connects again.
      assert.equal((await json("/remote/hits", { headers })).body.hits, "10");
      assert.equal(opens(proxy), 2);
    });

    await t.test("the README's example: expireIn sessions", async () => {
      const login = await request("/example/login", { method: "POST", body: JSON.stringify({ user: "ada" }) });
      assert.equal(login.status, 200, await login.clone().text());
      const setCookie = login.headers.get("set-cookie") ?? "";
      const cookie = /^session=[0-9a-f-]{36}/.exec(setCookie)?.[0];
      assert.ok(cookie, `a session cookie: ${setCookie}`);
      assert.match(setCookie, /Max-Age=1;.*HttpOnly/);
      const me = await json("/example/me", { headers: { cookie } });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.user, "ada");
      assert.equal((await json("/example/me")).status, 401, "no cookie, no session");
      await sleep(1700); // sessionTtlMs is 1500 ms
      const expired = await json("/example/me", { headers: { cookie } });
      assert.deepEqual([expired.status, expired.body], [401, { error: "not logged in" }], "the session expired");

      const again = await request("/example/login", { method: "POST", body: JSON.stringify({ user: "grace" }) });
      const cookie2 = /^session=[0-9a-f-]{36}/.exec(again.headers.get("set-cookie") ?? "")?.[0];
      assert.equal((await json("/example/me", { headers: { cookie: cookie2 } })).status, 200);
      assert.equal((await json("/example/logout", { method: "POST", headers: { cookie: cookie2 } })).status, 200);
      assert.equal((await json("/example/me", { headers: { cookie: cookie2 } })).status, 401, "logged out");
    });

    await t.test("the README's example: a sum rate limiter, per user and window", async () => {
      const windowMs = 3000; // loginWindowMs in app.js; loginLimit is 3
      const login = (user) => json("/example/login", { method: "POST", body: JSON.stringify({ user }) });
      const counters = async () => (await json("/example-db/ratelimit")).body.keys.filter((key) => key[2] === "linus");
      // Start at the beginning of a window, so that four logins fall in one.
      await sleep(windowMs - (Date.now() % windowMs) + 50);
      const window = Math.floor(Date.now() / windowMs);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await login("linus"));
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 429]);
      assert.deepEqual(results[3].body, { error: "too many attempts" });
      const retryAfter = Number(results[3].headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 3, `retry-after ${retryAfter}`);
      assert.equal((await login("margaret")).status, 200, "another user is not limited");
      assert.deepEqual(await counters(), [["ratelimit", "login", "linus", window]]);
      // The next window starts from zero, and its commit deletes the old counter.
      await sleep((window + 1) * windowMs - Date.now() + 50);
      assert.equal((await login("linus")).status, 200, "a new window");
      assert.deepEqual(await counters(), [["ratelimit", "login", "linus", window + 1]]);
      const bad = await json("/example/login", { method: "POST", body: "not json" });
      assert.deepEqual([bad.status, bad.body], [400, { error: "user required" }]);
    });
  } finally {
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  }
}
