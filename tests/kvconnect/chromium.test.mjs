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

// Both browser entries, each with its `webkv/kv-connect` (package.json's
// exports): browser.js with kv-connect-browser.js, which fetches the KV
// Connect build's .wasm; browser-inline.js with kv-connect.js, which
// carries it inlined. The default browser build has no KV Connect client.
for (const [entry, kvConnect] of [["browser.js", "kv-connect-browser.js"], ["browser-inline.js", "kv-connect.js"]]) {
  test(`${entry}: a page reads and writes denokv through the CORS proxy without seeing the token`, async () => {
    const page = await browser.newPage();
    const bodies = [];
    const requested = [];
    page.on("request", (request) => requested.push(new URL(request.url()).pathname));
    page.on("response", async (response) => {
      if (response.url().startsWith(proxy.url)) bodies.push(await response.body().catch(() => Buffer.alloc(0)));
    });
    await page.goto(`http://127.0.0.1:${web.address().port}/`);
    const remoteFiles = () => requested.filter((path) => /\/pkg\/webkv_remote/.test(path));
    const memoryOnly = await page.evaluate(async (entry) => {
      const { openKv } = await import(`/pkg/${entry}`);
      const kv = await openKv(":memory:");
      await kv.set(["local"], 1);
      const value = (await kv.get(["local"])).value;
      kv.close();
      return value;
    }, entry);
    assert.equal(memoryOnly, 1);
    const without = await page.evaluate(async ([entry, proxyUrl]) => {
      const { openKv } = await import(`/pkg/${entry}`);
      return openKv(proxyUrl, { accessToken: "placeholder-from-the-page" }).then(
        () => "opened",
        (error) => `${error.constructor.name}: ${error.message}`,
      );
    }, [entry, proxy.url]);
    assert.equal(
      without,
      `TypeError: openKv(${JSON.stringify(proxy.url)}): the KV Connect client is not loaded. In browsers it is a wasm ` +
        'of its own (~180 KB gzipped) that pages opt into: add `import "webkv/kv-connect";` once, before the first ' +
        "openKv of a URL",
    );
    assert.deepEqual(remoteFiles(), [], "no KV Connect code is loaded without webkv/kv-connect");
    const result = await page.evaluate(async ([entry, kvConnect, proxyUrl]) => {
      const { openKv, KvU64 } = await import(`/pkg/${entry}`);
      await import(`/pkg/${kvConnect}`);
      const kv = await openKv(proxyUrl, { accessToken: "placeholder-from-the-page" });
      const set = await kv.set([entry, "a"], { when: new Date(0), tags: new Set(["x"]) });
      const got = await kv.get([entry, "a"]);
      await kv.atomic().sum([entry, "count"], 2n).commit();
      await kv.atomic().sum([entry, "count"], 3n).commit();
      const count = (await kv.get([entry, "count"])).value;
      const stale = await kv.atomic().check({ key: [entry, "a"], versionstamp: null }).set([entry, "a"], 1).commit();
      const keys = [];
      for await (const listed of kv.list({ prefix: [entry] })) keys.push(listed.key[1]);
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
    }, [entry, kvConnect, proxy.url]);
    assert.deepEqual(result, {
      setOk: true,
      sameStamp: true,
      when: 0,
      tags: ["x"],
      count: "5",
      staleOk: false,
      keys: ["a", "count"],
    });
    assert.deepEqual(
      remoteFiles().sort(),
      entry === "browser.js"
        ? ["/pkg/webkv_remote.js", "/pkg/webkv_remote_bg.wasm"]
        : ["/pkg/webkv_remote.js", "/pkg/webkv_remote_inline.js"],
    );
    assert.ok(bodies.length >= 5, "the page's requests went through the proxy");
    for (const body of bodies) {
      assert.ok(!body.includes(server.token), "the real access token never reaches the page");
    }
  });
}

// A KV Connect build whose .wasm did not arrive (a dropped connection) is
// loaded again by the next open, instead of failing every open after it.
test("browser.js: a failed load of the KV Connect wasm is tried again by the next open", async () => {
  const page = await browser.newPage();
  let refused = 0;
  await page.route("**/pkg/webkv_remote_bg.wasm", (route) => {
    if (refused++ === 0) return route.fulfill({ status: 503, body: "unavailable" });
    return route.continue();
  });
  await page.goto(`http://127.0.0.1:${web.address().port}/`);
  const result = await page.evaluate(async (proxyUrl) => {
    const { openKv } = await import("/pkg/browser.js");
    await import("/pkg/kv-connect-browser.js");
    const first = await openKv(proxyUrl, { accessToken: "placeholder-from-the-page" }).then(
      (kv) => (kv.close(), "opened"),
      (error) => `${error.constructor.name}: ${error.message}`,
    );
    const kv = await openKv(proxyUrl, { accessToken: "placeholder-from-the-page" });
    await kv.set(["retry"], 1);
    const second = (await kv.get(["retry"])).value;
    kv.close();
    return { first, second };
  }, proxy.url);
  assert.match(result.first, /failed to fetch Wasm: 503/);
  assert.equal(result.second, 1);
  assert.equal(refused, 2, "the second open fetched the .wasm again");
});

// A browser without DecompressionStream (Safari before 16.4, Firefox before
// 113) cannot inflate the wasm builds inlined in browser-inline.js and
// kv-connect.js. Each error names the file to serve and the setWasmSource
// to call, and with both called the page works, local and remote.
test("browser-inline.js and kv-connect.js without DecompressionStream: a TypeError naming the fix, then setWasmSource of each build works", async () => {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    delete globalThis.DecompressionStream;
  });
  await page.goto(`http://127.0.0.1:${web.address().port}/`);
  const result = await page.evaluate(async (proxyUrl) => {
    const failure = (error) => `${error.constructor.name}: ${error.message}`;
    const webkv = await import("/pkg/browser-inline.js");
    const kvConnect = await import("/pkg/kv-connect.js");
    const local = await webkv.openKv(":memory:").then(() => "opened", failure);
    webkv.setWasmSource("/pkg/webkv_wasm_bg.wasm");
    const kv = await webkv.openKv(":memory:");
    await kv.set(["local"], 1);
    const localValue = (await kv.get(["local"])).value;
    kv.close();
    const remote = await webkv.openKv(proxyUrl, { accessToken: "placeholder-from-the-page" }).then(() => "opened", failure);
    kvConnect.setWasmSource(new URL("/pkg/webkv_remote_bg.wasm", location.href));
    const remoteKv = await webkv.openKv(proxyUrl, { accessToken: "placeholder-from-the-page" });
    await remoteKv.set(["no-decompression-stream"], "through the fetched KV Connect wasm");
    const remoteValue = (await remoteKv.get(["no-decompression-stream"])).value;
    remoteKv.close();
    return { local, localValue, remote, remoteValue };
  }, proxy.url);
  const missing = "TypeError: webkv: this browser has no DecompressionStream (Chrome 80, Firefox 113, Safari 16.4 have it); ";
  assert.equal(result.local, `${missing}serve webkv_wasm_bg.wasm and call setWasmSource(its URL) from "webkv" before openKv`);
  assert.equal(result.localValue, 1);
  assert.equal(
    result.remote,
    `${missing}serve webkv_remote_bg.wasm and call setWasmSource(its URL) from "webkv/kv-connect" before the first openKv of a URL`,
  );
  assert.equal(result.remoteValue, "through the fetched KV Connect wasm");
});
