// A browser page reaching a real denokv through scripts/kv-proxy.mjs: the
// page (served from one origin) opens `openKv(proxyUrl)` with a placeholder
// token, the proxy (another origin, started with --allow-origin for the
// page's origin) adds CORS and the real token, and the real token never
// appears in anything the page receives.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../chromium.mjs";
import { startDenokv } from "./denokv.mjs";
import { startKvProxy } from "../../scripts/kv-proxy.mjs";
import { startServer } from "../../www/serve.mjs";

let server;
let proxy;
let web;
let browser;

before(async () => {
  server = await startDenokv();
  web = await startServer(0);
  proxy = await startKvProxy({ target: server.url, token: server.token, port: 0, allowOrigins: [`http://127.0.0.1:${web.address().port}`] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  web?.close();
  await proxy?.stop();
  await server?.stop();
});

test("a page reads and writes denokv through the CORS proxy without seeing the token", async () => {
  const page = await browser.newPage();
  const bodies = [];
  page.on("response", async (response) => {
    if (response.url().startsWith(proxy.url)) bodies.push(await response.body().catch(() => Buffer.alloc(0)));
  });
  await page.goto(`http://127.0.0.1:${web.address().port}/`);
  const result = await page.evaluate(async (proxyUrl) => {
    const { openKv, KvU64 } = await import("/pkg/browser.js");
    const kv = await openKv(proxyUrl, { accessToken: "placeholder-from-the-page" });
    const set = await kv.set(["browser", "a"], { when: new Date(0), tags: new Set(["x"]) });
    const got = await kv.get(["browser", "a"]);
    await kv.atomic().sum(["browser", "count"], 2n).commit();
    await kv.atomic().sum(["browser", "count"], 3n).commit();
    const count = (await kv.get(["browser", "count"])).value;
    const stale = await kv.atomic().check({ key: ["browser", "a"], versionstamp: null }).set(["browser", "a"], 1).commit();
    const keys = [];
    for await (const entry of kv.list({ prefix: ["browser"] })) keys.push(entry.key[1]);
    kv.close();
    return {
      setOk: set.ok,
      sameStamp: got.versionstamp === set.versionstamp,
      when: got.value.when.getTime(),
      tags: [...got.value.tags],
      count: count instanceof KvU64 ? String(count.value) : "not a KvU64",
      staleOk: stale.ok,
      keys,
    };
  }, proxy.url);
  assert.deepEqual(result, {
    setOk: true,
    sameStamp: true,
    when: 0,
    tags: ["x"],
    count: "5",
    staleOk: false,
    keys: ["a", "count"],
  });
  assert.ok(bodies.length >= 5, "the page's requests went through the proxy");
  for (const body of bodies) {
    assert.ok(!body.includes(server.token), "the real access token never reaches the page");
  }
});
