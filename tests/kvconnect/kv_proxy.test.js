// scripts/kv-proxy.mjs, the CORS proxy that lets browser pages reach denokv: preflights, CORS
// headers for the allowed origin only, server-side token injection (the page's bearer is a
// placeholder and the page never sees a usable token), endpoints pointing back through the
// proxy, and streaming watch. Attacks on it (raw request lines, Host, limits, https targets)
// are in kv_proxy_hardening.test.mjs (node --test).
//
//   deno test --unstable-kv -A tests/kvconnect/kv_proxy.test.js

import { assert, assertEquals, assertStrictEquals } from "../conformance/assert.js";
import { getServer, openDenoRemote, openWebkvRemote, wipe, withTimeout } from "./common.js";
import { freePort, spawnTracked } from "./denokv.mjs";
import process from "node:process";

const server = await getServer();
const PLACEHOLDER = "placeholder-token-from-the-page";
const PAGE = "http://page.example";

const port = await freePort();
const proxyProc = spawnTracked(
  `kv-proxy-${port}`,
  process.env.NODE ?? "node",
  [
    new URL("../../scripts/kv-proxy.mjs", import.meta.url).pathname,
    "--target",
    server.url,
    "--token",
    server.token,
    "--port",
    String(port),
    "--allow-origin",
    PAGE,
  ],
  { stdio: "pipe" },
);
const proxyUrl = await new Promise((resolve, reject) => {
  let buf = "";
  proxyProc.child.stdout.on("data", (c) => {
    buf += c;
    const m = /listening on (\S+)/.exec(buf);
    if (m) resolve(m[1]);
  });
  proxyProc.whenExited.then(() => reject(new Error(`kv-proxy exited; log ${proxyProc.logPath}`)));
});
function test(name, fn) {
  Deno.test({
    name: `[kv-proxy] ${name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

const KV_HEADERS = ["authorization", "content-type", "x-denokv-database-id", "x-denokv-version"];

test("answers CORS preflights for the KV Connect headers", async () => {
  const res = await fetch(proxyUrl + "/v2/snapshot_read", {
    method: "OPTIONS",
    headers: {
      origin: PAGE,
      "access-control-request-method": "POST",
      "access-control-request-headers": KV_HEADERS.join(","),
    },
  });
  await res.body?.cancel();
  assertStrictEquals(res.status, 204);
  assertStrictEquals(res.headers.get("access-control-allow-origin"), PAGE);
  assert(/origin/i.test(res.headers.get("vary")), "Vary: Origin");
  assert(/POST/.test(res.headers.get("access-control-allow-methods")));
  const allowed = res.headers.get("access-control-allow-headers").toLowerCase().split(/\s*,\s*/);
  for (const h of KV_HEADERS) assert(allowed.includes(h), `allows ${h}: ${allowed}`);
});

test("metadata: placeholder bearer accepted, no usable token leaks, endpoints lead back to the proxy", async () => {
  const res = await fetch(proxyUrl, {
    method: "POST",
    headers: { origin: PAGE, authorization: `Bearer ${PLACEHOLDER}`, "content-type": "application/json" },
    body: JSON.stringify({ supportedVersions: [1, 2, 3] }),
  });
  const text = await res.text();
  assertStrictEquals(res.status, 200, text);
  assertStrictEquals(res.headers.get("access-control-allow-origin"), PAGE);
  assert(!text.includes(server.token), "the real token does not appear in the metadata");
  const meta = JSON.parse(text);
  assert(meta.token.startsWith("kv-proxy-"), meta.token);
  for (const ep of meta.endpoints) {
    const resolved = new URL(ep.url, proxyUrl + "/");
    assertStrictEquals(resolved.origin, new URL(proxyUrl).origin, `endpoint ${ep.url} goes through the proxy`);
  }
  // without the proxy, the placeholder is refused
  const direct = await fetch(server.url, {
    method: "POST",
    headers: { authorization: `Bearer ${PLACEHOLDER}`, "content-type": "application/json" },
    body: JSON.stringify({ supportedVersions: [1, 2, 3] }),
  });
  assertStrictEquals(direct.status, 401);
  assertStrictEquals(direct.headers.get("access-control-allow-origin"), null, "denokv itself sends no CORS headers");
  await direct.body?.cancel();
});

async function metadataThroughProxy() {
  const res = await fetch(proxyUrl, {
    method: "POST",
    headers: { origin: PAGE, authorization: `Bearer ${PLACEHOLDER}`, "content-type": "application/json" },
    body: JSON.stringify({ supportedVersions: [2, 3] }),
  });
  assertStrictEquals(res.status, 200);
  return await res.json();
}

test("errors from denokv carry CORS headers too", async () => {
  const meta = await metadataThroughProxy();
  const res = await fetch(proxyUrl + "/v2/snapshot_read", {
    method: "POST",
    headers: { origin: PAGE, authorization: `Bearer ${meta.token}` },
    body: new Uint8Array(0),
  });
  await res.body?.cancel();
  assertStrictEquals(res.status, 400); // no x-denokv-version header: denokv's own 400
  assertStrictEquals(res.headers.get("access-control-allow-origin"), PAGE);
});

test("the data path needs a token the proxy issued: a placeholder gets 401 (with CORS, so the page can refresh)", async () => {
  const res = await fetch(proxyUrl + "/v2/snapshot_read", {
    method: "POST",
    headers: { origin: PAGE, authorization: `Bearer ${PLACEHOLDER}`, "x-denokv-version": "3" },
    body: new Uint8Array(0),
  });
  await res.body?.cancel();
  assertStrictEquals(res.status, 401);
  assertStrictEquals(res.headers.get("access-control-allow-origin"), PAGE);
});

test("a page on another origin is refused (403, no CORS headers) and its preflight gets no allow headers", async () => {
  const res = await fetch(proxyUrl, {
    method: "POST",
    headers: { origin: "http://other.example", authorization: `Bearer ${PLACEHOLDER}`, "content-type": "application/json" },
    body: JSON.stringify({ supportedVersions: [2, 3] }),
  });
  const text = await res.text();
  assertStrictEquals(res.status, 403);
  assert(!text.includes(server.token));
  assertStrictEquals(res.headers.get("access-control-allow-origin"), null);
  const pre = await fetch(proxyUrl, {
    method: "OPTIONS",
    headers: { origin: "http://other.example", "access-control-request-method": "POST" },
  });
  await pre.body?.cancel();
  assertStrictEquals(pre.headers.get("access-control-allow-origin"), null);
  assertStrictEquals(pre.headers.get("access-control-allow-headers"), null);
});

test("real Deno works through the proxy with a placeholder token (set, get, list, atomic, watch)", async () => {
  const kv = await openDenoRemote(proxyUrl, PLACEHOLDER);
  const behind = await openDenoRemote(server.url, server.token);
  try {
    await wipe(kv);
    await kv.set(["p", 1], "one");
    await kv.atomic().set(["p", 2], "two").sum(["p", "n"], 5n).commit();
    assertStrictEquals((await kv.get(["p", 1])).value, "one");
    const keys = [];
    for await (const e of kv.list({ prefix: ["p"] })) keys.push(e.key);
    assertEquals(keys, [["p", "n"], ["p", 1], ["p", 2]]); // strings sort before numbers
    assertStrictEquals((await behind.get(["p", 2])).value, "two", "written to the real server");
    // watch is a long-lived stream: it must come through unbuffered
    const reader = kv.watch([["p", "w"]]).getReader();
    assertStrictEquals((await withTimeout(reader.read(), 5000, "initial watch")).value[0].versionstamp, null);
    await behind.set(["p", "w"], "changed");
    assertStrictEquals((await withTimeout(reader.read(), 5000, "watch update")).value[0].value, "changed");
    await reader.cancel();
  } finally {
    kv.close();
    behind.close();
  }
});

test("webkv works through the proxy with a placeholder token", async () => {
  const kv = await openWebkvRemote(proxyUrl, PLACEHOLDER);
  try {
    await wipe(kv);
    await kv.set(["w"], "from webkv");
    assertStrictEquals((await kv.get(["w"])).value, "from webkv");
  } finally {
    kv.close();
  }
});

test("(stop the proxy and any server this file started)", async () => {
  await proxyProc.stop();
  await server.stop();
});
