// scripts/kv-proxy.mjs under attack: exact request lines and HTTP/2 :path values sent over
// raw sockets, foreign Origins and Host names, oversized and slow requests, and an https://
// target. Most tests use a scripted target (it records what it receives) and a second local
// listener that must never receive anything; the watch and https tests use a real denokv and
// real Deno.
//
//   node --test tests/kvconnect/kv_proxy_hardening.test.mjs
//
// Every server binds 127.0.0.1 and is stopped at the end; the timeouts are made short through
// startKvProxy's options so the whole file takes seconds.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { startKvProxy } from "../../scripts/kv-proxy.mjs";
import { denokvBinary, startDenokv } from "./denokv.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TOKEN = "the-real-access-token-0123456789";
const DATA_TOKEN = "the-real-data-path-token-abcdef";
const PAGE = "http://page.example:8000";
const LIMIT = 64 * 1024;
const TIMEOUTS = { headersTimeout: 400, requestTimeout: 600, idleTimeout: 400 };
const DENO = process.env.DENO ?? path.join(root, "node_modules/@deno/linux-x64-glibc/deno");

const listen = (server) => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** A scripted KV Connect target: metadata on its path, "target:<path>" elsewhere; records every request. */
async function scriptedTarget() {
  const t = { requests: [], mode: "normal", metadataPaths: ["/"] };
  t.server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      t.requests.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      if (t.metadataPaths.includes(req.url)) {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end("Invalid access token.");
        const base = req.url === "/" ? "" : req.url.replace(/\/$/, "");
        let meta = {
          version: 3,
          databaseId: "00000000-0000-0000-0000-000000000000",
          endpoints: [{ url: `${base}/v2`, consistency: "strong" }],
          token: DATA_TOKEN,
          expiresAt: new Date(Date.now() + 86400_000).toISOString(),
        };
        if (t.mode === "foreign-endpoint") {
          meta.endpoints = [{ url: "http://elsewhere.example/v2", consistency: "strong" }, ...meta.endpoints];
        }
        if (t.mode === "bad-endpoints") meta = { ...meta, endpoints: "nope" };
        if (t.mode === "leaky") meta = { ...meta, databaseId: TOKEN };
        res.writeHead(200, { "content-type": "application/json", "set-cookie": "a=b", "access-control-allow-origin": "*" });
        return res.end(JSON.stringify(meta));
      }
      if (t.mode === "die") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write("partial");
        return setTimeout(() => res.socket.destroy(), 50);
      }
      if (t.mode === "stream") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write("first");
        t.streamClosed = new Promise((r) => res.on("close", r));
        return;
      }
      res.writeHead(200, { "content-type": "text/plain", "set-cookie": "session=upstream", "access-control-allow-origin": "*" });
      res.end(`target:${req.url}`);
    });
  });
  t.port = await listen(t.server);
  t.url = `http://127.0.0.1:${t.port}`;
  return t;
}

/** A listener that must never be reached: records every byte it gets. */
async function tripwire() {
  const w = { received: "", connections: 0 };
  w.server = net.createServer((s) => {
    w.connections++;
    s.on("data", (d) => (w.received += d.toString("latin1")));
    s.on("error", () => {});
    setTimeout(() => s.destroy(), 200);
  });
  w.port = await listen(w.server);
  return w;
}

/**
 * Sends exact bytes on a fresh connection; resolves when the server closes it or after
 * `waitMs` (then `closed` is false). `status` is the first response's status code or null.
 */
function raw(port, data, { waitMs = 3000, trickle = null } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, "127.0.0.1");
    let text = "";
    let timer = null;
    let trickleTimer = null;
    const done = (closed) => {
      clearTimeout(timer);
      clearInterval(trickleTimer);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : null, closed, ms: Date.now() - started });
    };
    s.on("data", (d) => (text += d.toString("latin1")));
    s.on("error", () => {});
    s.on("close", () => done(true));
    s.write(data);
    if (trickle) trickleTimer = setInterval(() => !s.destroyed && s.write(trickle.data), trickle.everyMs);
    timer = setTimeout(() => done(false), waitMs);
  });
}

/** One HTTP/2 (h2c, prior knowledge) request; `error` set if the stream or session failed. */
function h2(port, headers, body = "") {
  return new Promise((resolve) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const out = { status: null, headers: {}, body: "", error: null };
    const finish = () => {
      client.destroy();
      resolve(out);
    };
    client.on("error", (e) => {
      out.error ??= e;
      finish();
    });
    const req = client.request({ ":method": "POST", ":authority": `127.0.0.1:${port}`, ...headers });
    req.on("response", (h) => {
      out.status = h[":status"];
      out.headers = h;
    });
    req.on("data", (d) => (out.body += d));
    req.on("error", (e) => (out.error ??= e));
    req.on("close", finish);
    req.end(body);
    setTimeout(finish, 3000).unref();
  });
}

function post(port, target, { host = `127.0.0.1:${port}`, headers = [], body = "" } = {}) {
  const lines = [`POST ${target} HTTP/1.1`, `Host: ${host}`, ...headers, `Content-Length: ${Buffer.byteLength(body)}`, "Connection: close"];
  return raw(port, `${lines.join("\r\n")}\r\n\r\n${body}`);
}

const headerOf = (text, name) => new RegExp(`^${name}: (.*)$`, "im").exec(text.split("\r\n\r\n")[0])?.[1]?.trim() ?? null;
function bodyOf(text) {
  let body = text.slice(text.indexOf("\r\n\r\n") + 4);
  if (!/chunked/i.test(headerOf(text, "transfer-encoding") ?? "")) return body;
  let out = "";
  for (;;) {
    const eol = body.indexOf("\r\n");
    const size = parseInt(body.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    body = body.slice(eol + 2 + size + 2);
  }
}

/** Does the metadata exchange (no Origin) and returns the proxy token. */
async function proxyToken(port, metadataPath = "/") {
  const r = await post(port, metadataPath, { body: '{"supportedVersions":[2,3]}', headers: ["Content-Type: application/json"] });
  assert.equal(r.status, 200, r.text);
  return JSON.parse(bodyOf(r.text)).token;
}

let target;
let wire;
let proxy;
const logs = [];

before(async () => {
  target = await scriptedTarget();
  wire = await tripwire();
  proxy = await startKvProxy({ target: target.url, token: TOKEN, port: 0, allowOrigins: [PAGE], maxBodyBytes: LIMIT, ...TIMEOUTS, log: (l) => logs.push(l) });
});

after(async () => {
  await proxy?.stop();
  target?.server.close();
  target?.server.closeAllConnections();
  wire?.server.close();
});

describe("forwarding only to the target, inside its path", () => {
  const evilTargets = (E) => [
    `/..//127.0.0.1:${E}/x`,
    `/../127.0.0.1:${E}/x`,
    `http://x//127.0.0.1:${E}/`,
    `http://127.0.0.1:${E}/v2/snapshot_read`,
    `//127.0.0.1:${E}/v2/snapshot_read`,
    `/%2F%2F127.0.0.1:${E}/x`,
    `/%2e%2e//127.0.0.1:${E}/x`,
    `/v2/%2E%2E/%2e%2e//127.0.0.1:${E}/x`,
    `/v2/..%2f..%2f/127.0.0.1:${E}/x`,
    `/\\\\127.0.0.1:${E}/x`,
    `/%5C%5C127.0.0.1:${E}/x`,
    `/v2/./snapshot_read`,
    `/v2;/../x`,
    `/v2/snapshot_read?next=//127.0.0.1:${E}/`,
    `/v2/snapshot_read%00`,
    `/v2/%252e%252e/x`,
    `/v2/%zz`,
    `*`,
  ];

  test("the data path and the metadata path are forwarded, with the right tokens", async () => {
    const mine = await proxyToken(proxy.port);
    assert.match(mine, /^kv-proxy-/);
    assert.equal(target.requests.at(-1).headers.authorization, `Bearer ${TOKEN}`);
    const r = await post(proxy.port, "/v2/snapshot_read", { headers: [`Authorization: Bearer ${mine}`] });
    assert.equal(r.status, 200, r.text);
    assert.equal(bodyOf(r.text), "target:/v2/snapshot_read");
    assert.equal(target.requests.at(-1).headers.authorization, `Bearer ${DATA_TOKEN}`);
  });

  test("HTTP/1.1: request targets that would leave the target are refused, nothing reaches another listener", async () => {
    const mine = await proxyToken(proxy.port);
    const before = target.requests.length;
    for (const t of evilTargets(wire.port)) {
      const r = await post(proxy.port, t, { headers: [`Authorization: Bearer ${mine}`] });
      assert.ok(r.status >= 400 && r.status < 500, `${t}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    await delay(50);
    assert.equal(wire.connections, 0, `another listener was reached: ${wire.received}`);
    assert.ok(!wire.received.includes(TOKEN) && !wire.received.includes(DATA_TOKEN));
    assert.deepEqual(target.requests.slice(before).map((r) => r.url), [], "nothing forwarded");
  });

  test("h2c: the same :path values are refused, nothing reaches another listener", async () => {
    const mine = await proxyToken(proxy.port);
    const before = target.requests.length;
    for (const p of evilTargets(wire.port)) {
      const r = await h2(proxy.port, { ":path": p, authorization: `Bearer ${mine}` });
      // nghttp2 itself resets streams whose :path does not start with "/"
      assert.ok(r.error || (r.status >= 400 && r.status < 500), `${p}: ${r.status} ${r.body}`);
    }
    const ok = await h2(proxy.port, { ":path": "/v2/snapshot_read", authorization: `Bearer ${mine}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "target:/v2/snapshot_read");
    await delay(50);
    assert.equal(wire.connections, 0, `another listener was reached: ${wire.received}`);
    assert.deepEqual(target.requests.slice(before).map((r) => r.url), ["/v2/snapshot_read"]);
  });

  test("a target with a path: requests outside its directory are refused", async () => {
    target.metadataPaths.push("/kv/");
    const p = await startKvProxy({ target: `${target.url}/kv/`, token: TOKEN, port: 0, ...TIMEOUTS, log: () => {} });
    try {
      const mine = await proxyToken(p.port, "/kv/");
      const before = target.requests.length;
      for (const t of ["/other", "/v2/snapshot_read", "/kv/../v2/x", "/kv"]) {
        const r = await post(p.port, t, { headers: [`Authorization: Bearer ${mine}`] });
        assert.ok(r.status >= 400 && r.status < 500, `${t}: ${r.status}`);
      }
      assert.equal(target.requests.length, before, "nothing forwarded");
      const r = await post(p.port, "/kv/v2/snapshot_read", { headers: [`Authorization: Bearer ${mine}`] });
      assert.equal(bodyOf(r.text), "target:/kv/v2/snapshot_read");
    } finally {
      await p.stop();
    }
  });
});

describe("CORS and Host", () => {
  test("by default no foreign origin: 403, not forwarded, preflights get no allow headers; no Origin and same origin work", async () => {
    const p = await startKvProxy({ target: target.url, token: TOKEN, port: 0, ...TIMEOUTS, log: () => {} });
    try {
      const before = target.requests.length;
      const foreign = await post(p.port, "/", { headers: ["Origin: http://evil.example"], body: "{}" });
      assert.equal(foreign.status, 403, foreign.text);
      assert.equal(headerOf(foreign.text, "access-control-allow-origin"), null);
      const pre = await raw(p.port, `OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n`);
      assert.equal(headerOf(pre.text, "access-control-allow-origin"), null, pre.text);
      assert.equal(headerOf(pre.text, "access-control-allow-headers"), null, pre.text);
      assert.equal(target.requests.length, before, "the foreign request was not forwarded");

      assert.equal((await post(p.port, "/", { body: '{"supportedVersions":[3]}' })).status, 200);
      const same = await post(p.port, "/", { headers: [`Origin: http://127.0.0.1:${p.port}`], body: '{"supportedVersions":[3]}' });
      assert.equal(same.status, 200, same.text);
    } finally {
      await p.stop();
    }
  });

  test("an allowed origin is echoed with Vary: Origin; other origins and null are refused", async () => {
    const ok = await post(proxy.port, "/", { headers: [`Origin: ${PAGE}`], body: '{"supportedVersions":[3]}' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(headerOf(ok.text, "access-control-allow-origin"), PAGE);
    assert.match(headerOf(ok.text, "vary"), /origin/i);
    assert.equal(headerOf(ok.text, "set-cookie"), null, "upstream cookies are not passed on");
    const pre = await raw(proxy.port, `OPTIONS /v2/snapshot_read HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nOrigin: ${PAGE}\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n`);
    assert.equal(pre.status, 204);
    assert.equal(headerOf(pre.text, "access-control-allow-origin"), PAGE);
    const before = target.requests.length;
    for (const origin of ["http://page.example:8001", "https://page.example:8000", "null", `${PAGE}.evil.example`]) {
      const r = await post(proxy.port, "/", { headers: [`Origin: ${origin}`], body: "{}" });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
      assert.equal(headerOf(r.text, "access-control-allow-origin"), null);
    }
    assert.equal(target.requests.length, before);
  });

  test("'*' must be explicit and prints a warning", async () => {
    const lines = [];
    const p = await startKvProxy({ target: target.url, token: TOKEN, port: 0, allowOrigins: ["*"], ...TIMEOUTS, log: (l) => lines.push(l) });
    try {
      assert.ok(lines.some((l) => /WARNING/.test(l) && /any website/i.test(l)), lines.join("\n"));
      const r = await post(p.port, "/", { headers: ["Origin: http://anything.example"], body: '{"supportedVersions":[3]}' });
      assert.equal(r.status, 200);
      assert.equal(headerOf(r.text, "access-control-allow-origin"), "http://anything.example");
    } finally {
      await p.stop();
    }
  });

  test("Host and :authority must be a name the proxy listens on (DNS rebinding)", async () => {
    const before = target.requests.length;
    for (const host of ["evil.example", `evil.example:${proxy.port}`, `127.0.0.1.evil.example:${proxy.port}`, "", "a b"]) {
      const r = await post(proxy.port, "/", { host, body: "{}" });
      assert.ok(r.status === 421 || r.status === 400, `Host ${host}: ${r.status}`);
    }
    const r2 = await h2(proxy.port, { ":path": "/", ":authority": `evil.example:${proxy.port}` }, "{}");
    assert.equal(r2.status, 421);
    assert.equal(target.requests.length, before, "nothing forwarded");
    for (const host of [`localhost:${proxy.port}`, `[::1]:${proxy.port}`, `LOCALHOST:${proxy.port}`, "127.0.0.1"]) {
      const r = await post(proxy.port, "/", { host, body: '{"supportedVersions":[3]}' });
      assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
    }
    const p = await startKvProxy({ target: target.url, token: TOKEN, port: 0, allowHosts: ["kv.internal"], ...TIMEOUTS, log: () => {} });
    try {
      assert.equal((await post(p.port, "/", { host: `kv.internal:${p.port}`, body: '{"supportedVersions":[3]}' })).status, 200);
    } finally {
      await p.stop();
    }
  });
});

describe("limits", () => {
  test("an oversized body gets 413 and nothing is forwarded (Content-Length, chunked, HTTP/2)", async () => {
    const mine = await proxyToken(proxy.port);
    const before = target.requests.length;
    const big = "x".repeat(LIMIT + 1);
    const r1 = await post(proxy.port, "/v2/atomic_write", { headers: [`Authorization: Bearer ${mine}`], body: big });
    assert.equal(r1.status, 413, r1.text.slice(0, 200));
    const chunked = `POST /v2/atomic_write HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nAuthorization: Bearer ${mine}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      `${(LIMIT / 2).toString(16)}\r\n${"y".repeat(LIMIT / 2)}\r\n`.repeat(3) + "0\r\n\r\n";
    const r2 = await raw(proxy.port, chunked);
    assert.equal(r2.status, 413, r2.text.slice(0, 200));
    const r3 = await h2(proxy.port, { ":path": "/v2/atomic_write", authorization: `Bearer ${mine}` }, big);
    assert.equal(r3.status, 413);
    await delay(50);
    assert.equal(target.requests.length, before, "nothing forwarded");
    // at the limit it goes through
    const r4 = await post(proxy.port, "/v2/atomic_write", { headers: [`Authorization: Bearer ${mine}`], body: "z".repeat(LIMIT) });
    assert.equal(r4.status, 200);
    assert.equal(target.requests.at(-1).body.length, LIMIT);
  });

  test("slowloris: headers that never finish are cut off (HTTP/1.1 and h2c), as are silent connections", async () => {
    const slow = await raw(proxy.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\n`, { trickle: { data: "X-Slow: 1\r\n", everyMs: 100 } });
    assert.ok(slow.closed, "the trickling HTTP/1.1 client was disconnected");
    assert.ok(slow.ms < 2000, `after ${slow.ms} ms`);
    const silent = await raw(proxy.port, "");
    assert.ok(silent.closed && silent.ms < 2000, `silent connection: closed=${silent.closed} after ${silent.ms} ms`);
    // h2: the preface and SETTINGS, then PING frames (activity) but never a request
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const ping = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const h2slow = await raw(proxy.port, Buffer.concat([preface, settings]), { trickle: { data: ping, everyMs: 100 } });
    assert.ok(h2slow.closed && h2slow.ms < 2000, `h2: closed=${h2slow.closed} after ${h2slow.ms} ms`);
  });

  test("a body that trickles in is cut off after the request timeout, nothing forwarded", async () => {
    const mine = await proxyToken(proxy.port);
    const before = target.requests.length;
    const r = await raw(proxy.port, `POST /v2/atomic_write HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nAuthorization: Bearer ${mine}\r\nContent-Length: 1000\r\n\r\n`, { trickle: { data: "a", everyMs: 100 } });
    assert.ok(r.closed && r.ms < 2500, `closed=${r.closed} after ${r.ms} ms`);
    assert.equal(target.requests.length, before);
  });

  test("an idle keep-alive connection is closed", async () => {
    const r = await raw(proxy.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nContent-Length: 2\r\n\r\n{}`);
    assert.ok(r.closed && r.ms < 2000, `closed=${r.closed} after ${r.ms} ms`);
  });
});

describe("tokens, headers and errors", () => {
  test("an unknown or placeholder bearer on the data path gets 401 and is not forwarded", async () => {
    await proxyToken(proxy.port); // a real token has been issued before
    const before = target.requests.length;
    for (const auth of ["Bearer placeholder-from-the-page", "Bearer kv-proxy-00000000000000000000000000000000", "", `Bearer ${TOKEN}`]) {
      const r = await post(proxy.port, "/v2/snapshot_read", { headers: auth ? [`Authorization: ${auth}`] : [] });
      assert.equal(r.status, 401, `${auth}: ${r.text}`);
    }
    assert.equal(target.requests.length, before);
  });

  test("only KV Connect headers are forwarded; upstream CORS and cookies are not passed back", async () => {
    const mine = await proxyToken(proxy.port);
    const r = await post(proxy.port, "/v2/snapshot_read", {
      headers: [
        `Authorization: Bearer ${mine}`,
        "Content-Type: application/x-protobuf",
        "x-denokv-version: 3",
        "Cookie: secret=1",
        "X-Forwarded-For: 10.0.0.1",
        "X-Forwarded-Host: evil.example",
        "Proxy-Authorization: Basic Zm9vOmJhcg==",
        "Accept-Encoding: gzip",
        "X-Anything: 1",
        "Connection: close, x-denokv-version",
        `Origin: ${PAGE}`,
      ],
    });
    assert.equal(r.status, 200, r.text);
    const sent = target.requests.at(-1).headers;
    for (const h of ["cookie", "x-forwarded-for", "x-forwarded-host", "proxy-authorization", "accept-encoding", "x-anything", "origin"]) {
      assert.equal(sent[h], undefined, `${h} was forwarded`);
    }
    assert.equal(sent["x-denokv-version"], "3");
    assert.equal(sent.host, `127.0.0.1:${target.port}`);
    assert.equal(headerOf(r.text, "access-control-allow-origin"), PAGE, "the proxy's CORS, not the target's '*'");
    assert.equal(headerOf(r.text, "set-cookie"), null);
  });

  test("CL + TE request smuggling is refused and nothing is forwarded", async () => {
    const mine = await proxyToken(proxy.port);
    const before = target.requests.length;
    const r = await raw(proxy.port, `POST /v2/atomic_write HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nAuthorization: Bearer ${mine}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST /v2/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.equal(r.status, 400, r.text);
    assert.equal(target.requests.length, before);
  });

  test("the metadata answer: endpoints elsewhere dropped, malformed or token-leaking answers refused", async () => {
    try {
      target.mode = "foreign-endpoint";
      const r = await post(proxy.port, "/", { body: "{}" });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(JSON.parse(bodyOf(r.text)).endpoints.map((e) => e.url), ["/v2"]);
      for (const mode of ["bad-endpoints", "leaky"]) {
        target.mode = mode;
        const bad = await post(proxy.port, "/", { body: "{}" });
        assert.equal(bad.status, 502, `${mode}: ${bad.text}`);
        assert.ok(!bad.text.includes(TOKEN) && !bad.text.includes(DATA_TOKEN), `${mode}: no token in the answer`);
      }
    } finally {
      target.mode = "normal";
    }
  });

  test("errors do not echo the target's address or any token", async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r)); // nothing listens there now
    const down = await startKvProxy({ target: `http://127.0.0.1:${port}`, token: TOKEN, port: 0, ...TIMEOUTS, log: () => {} });
    try {
      const r = await post(down.port, "/", { body: "{}" });
      assert.equal(r.status, 502);
      assert.ok(!r.text.includes(String(port)) && !/ECONNREFUSED/.test(r.text), r.text);
      assert.ok(!r.text.includes(TOKEN));
    } finally {
      await down.stop();
    }
  });
});

describe("hang-ups", () => {
  test("clients that hang up mid-body (HTTP/1.1 and h2c) do not take the proxy down, nothing is forwarded", async () => {
    const mine = await proxyToken(proxy.port);
    const before = target.requests.length;
    const s = net.connect(proxy.port, "127.0.0.1");
    s.on("error", () => {});
    s.write(`POST /v2/atomic_write HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nAuthorization: Bearer ${mine}\r\nContent-Length: 1000\r\n\r\npartial`);
    await delay(50);
    s.destroy();
    const client = http2.connect(`http://127.0.0.1:${proxy.port}`);
    client.on("error", () => {});
    const req = client.request({ ":method": "POST", ":path": "/v2/atomic_write", authorization: `Bearer ${mine}`, "content-length": "1000" });
    req.on("error", () => {});
    req.write("partial");
    await delay(50);
    client.destroy();
    await delay(100);
    assert.equal(target.requests.length, before);
    assert.equal((await post(proxy.port, "/", { body: "{}" })).status, 200, "still serving");
  });

  test("a target that dies mid-answer, and a client that leaves a streaming answer, are handled", async () => {
    const mine = await proxyToken(proxy.port);
    try {
      target.mode = "die";
      const r = await post(proxy.port, "/v2/watch", { headers: [`Authorization: Bearer ${mine}`] });
      assert.ok(r.closed, "the truncated answer ends the client's connection");
      target.mode = "stream";
      const s = net.connect(proxy.port, "127.0.0.1");
      s.on("error", () => {});
      const first = new Promise((resolve) => s.on("data", (d) => d.includes("first") && resolve()));
      s.write(`POST /v2/watch HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nAuthorization: Bearer ${mine}\r\nContent-Length: 0\r\n\r\n`);
      await first;
      s.destroy();
      await Promise.race([target.streamClosed, delay(2000).then(() => assert.fail("the upstream request was not closed"))]);
    } finally {
      target.mode = "normal";
    }
    assert.equal((await post(proxy.port, "/", { body: "{}" })).status, 200, "still serving");
  });
});

test("no internal error was logged by the shared proxy", () => {
  assert.deepEqual(logs.filter((l) => /internal error/.test(l)), []);
});

describe("command line", () => {
  const cli = (args, env = {}) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(root, "scripts/kv-proxy.mjs"), ...args], {
        env: { ...process.env, KV_PROXY_TOKEN: TOKEN, KV_PROXY_ALLOW_ORIGIN: "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve({ child, port: Number(m[1]), out, err: () => err });
      });
      child.stderr.on("data", (d) => (err += d));
      child.on("exit", (code) => resolve({ child, code, out, err: () => err }));
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    });

  test("--allow-origin is repeatable, KV_PROXY_ALLOW_ORIGIN is a list, '*' warns, unknown flags fail, --help says what is not protected", async () => {
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /does NOT protect/i);
    const unknown = await cli(["--target", target.url, "--allow-orign", PAGE]);
    assert.equal(unknown.code, 2);
    const nul = await cli(["--target", target.url, "--port", "0", "--allow-origin", "null"]);
    assert.equal(nul.code, 1);

    for (const [args, env] of [
      [["--allow-origin", "http://a.example", "--allow-origin=http://b.example:8000/"], {}],
      [[], { KV_PROXY_ALLOW_ORIGIN: "http://a.example, http://b.example:8000" }],
    ]) {
      const p = await cli(["--target", target.url, "--port", "0", ...args], env);
      try {
        assert.ok(p.port, p.err());
        for (const [origin, status] of [["http://a.example", 200], ["http://b.example:8000", 200], ["http://c.example", 403]]) {
          const r = await post(p.port, "/", { headers: [`Origin: ${origin}`], body: '{"supportedVersions":[3]}' });
          assert.equal(r.status, status, `${origin} with ${JSON.stringify([args, env])}`);
        }
      } finally {
        p.child.kill();
      }
    }
    // A body cap that is no number used to refuse every declared body and
    // read chunked ones without limit.
    for (const [args, env] of [[["--max-body-bytes", "abc"], {}], [["--max-body-bytes", "-1"], {}], [[], { KV_PROXY_MAX_BODY_BYTES: "2MB" }]]) {
      const bad = await cli(["--target", target.url, "--port", "0", ...args], env);
      bad.child.kill();
      assert.equal(bad.code, 1, JSON.stringify([args, env]));
      assert.match(bad.err(), /--max-body-bytes must be a positive integer/);
    }
    const star = await cli(["--target", target.url, "--port", "0", "--allow-origin", "*"]);
    try {
      assert.ok(star.port);
      await delay(50);
      assert.match(star.err(), /WARNING.*any website/i);
    } finally {
      star.child.kill();
    }
  });
});

// ------------------------------------------------------------------ real denokv and Deno

function haveDenokv() {
  try {
    return Boolean(denokvBinary());
  } catch {
    return false;
  }
}
const haveDeno = fs.existsSync(DENO);

/** Runs a Deno script (module text) with --unstable-kv; resolves with its parsed JSON stdout. */
function runDeno(script, env, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(DENO, ["eval", "--quiet", "--unstable-kv", script], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`deno exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1)));
      } catch {
        reject(new Error(`deno printed ${out} ${err}`));
      }
    });
  });
}

describe("with a real denokv", { skip: (!haveDenokv() && "denokv is not installed (bash scripts/setup.sh)") || (!haveDeno && "deno is not installed (npm install)") }, () => {
  let denokv;
  before(async () => {
    denokv = await startDenokv();
  });
  after(async () => {
    await denokv?.stop();
  });

  test("watch streams through the proxy (h2c from Deno, HTTP/1.1 raw) outlive every timeout", async () => {
    const p = await startKvProxy({ target: denokv.url, token: denokv.token, port: 0, headersTimeout: 300, requestTimeout: 300, idleTimeout: 300, log: () => {} });
    try {
      // HTTP/1.1: the metadata exchange, then a raw watch on ["p", "w"]
      const meta = JSON.parse(bodyOf((await post(p.port, "/", { body: '{"supportedVersions":[2,3]}' })).text));
      const key = Buffer.from([0x02, ...Buffer.from("p"), 0x00, 0x02, ...Buffer.from("w"), 0x00]);
      const watchKey = Buffer.concat([Buffer.from([0x0a, key.length]), key]);
      const watch = Buffer.concat([Buffer.from([0x0a, watchKey.length]), watchKey]);
      const h1watch = new Promise((resolve) => {
        const s = net.connect(p.port, "127.0.0.1");
        let text = "";
        s.on("data", (d) => {
          text += d.toString("latin1");
          if (text.includes("changed")) {
            s.destroy();
            resolve(text);
          }
        });
        s.on("close", () => resolve(text));
        s.on("error", () => {});
        s.write(`POST /v2/watch HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nAuthorization: Bearer ${meta.token}\r\n` +
          `Content-Type: application/x-protobuf\r\nx-denokv-version: ${meta.version}\r\nx-denokv-database-id: ${meta.databaseId}\r\n` +
          `Content-Length: ${watch.length}\r\n\r\n`);
        s.write(watch);
        setTimeout(() => s.destroy(), 15_000).unref();
      });
      // Deno through the proxy (h2c) watches the same key, waits past every timeout, then
      // writes it straight to denokv and sees the update.
      const result = await runDeno(`
        Deno.env.set("DENO_KV_ACCESS_TOKEN", "placeholder-token");
        const kv = await Deno.openKv(${JSON.stringify(p.url)});
        const reader = kv.watch([["p", "w"]]).getReader();
        const first = await reader.read();
        await new Promise((r) => setTimeout(r, 1500));
        Deno.env.set("DENO_KV_ACCESS_TOKEN", ${JSON.stringify(denokv.token)});
        const direct = await Deno.openKv(${JSON.stringify(denokv.url)});
        await direct.set(["p", "w"], "changed");
        const second = await reader.read();
        await reader.cancel();
        kv.close(); direct.close();
        console.log(JSON.stringify({ first: first.value[0].versionstamp, second: second.value[0].value }));`);
      assert.deepEqual(result, { first: null, second: "changed" });
      const text = await h1watch;
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.ok(text.includes("changed"), "the HTTP/1.1 watch saw the update after > 1.5 s of quiet");
    } finally {
      await p.stop();
    }
  });

  // openssl is no optional tool here: scripts/setup.sh needs it too.
  test("https:// target: TLS (SNI, custom CA) in front of denokv, real Deno round trip through the proxy", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kv-proxy-tls-"));
    const servers = [];
    const proxies = [];
    try {
      const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
      run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=webkv kv-proxy test CA");
      run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=localhost");
      fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
      run("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "1", "-extfile", "ext.cnf");
      const ca = fs.readFileSync(path.join(dir, "ca.pem"));
      // A TLS terminator: decrypts and pipes the bytes to denokv.
      const sni = [];
      const terminator = tls.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) }, (s) => {
        sni.push(s.servername || null);
        const up = net.connect(denokv.port, "127.0.0.1");
        s.on("error", () => up.destroy());
        up.on("error", () => s.destroy());
        s.pipe(up).pipe(s);
      });
      servers.push(terminator);
      const tlsPort = await listen(terminator);

      const p = await startKvProxy({ target: `https://127.0.0.1:${tlsPort}`, token: denokv.token, port: 0, ca, log: () => {} });
      proxies.push(p);
      const result = await runDeno(`
        Deno.env.set("DENO_KV_ACCESS_TOKEN", "placeholder-token");
        const kv = await Deno.openKv(${JSON.stringify(p.url)});
        await kv.set(["tls", "a"], "over https");
        const got = (await kv.get(["tls", "a"])).value;
        kv.close();
        Deno.env.set("DENO_KV_ACCESS_TOKEN", ${JSON.stringify(denokv.token)});
        const direct = await Deno.openKv(${JSON.stringify(denokv.url)});
        const behind = (await direct.get(["tls", "a"])).value;
        direct.close();
        console.log(JSON.stringify({ got, behind }));`);
      assert.deepEqual(result, { got: "over https", behind: "over https" });
      assert.ok(sni.length > 0 && sni.every((n) => n === null), "no SNI for an IP address");

      // by name: SNI carries it
      const byName = await startKvProxy({ target: `https://localhost:${tlsPort}`, token: denokv.token, port: 0, ca, log: () => {} });
      proxies.push(byName);
      sni.length = 0;
      const r = await post(byName.port, "/", { body: '{"supportedVersions":[2,3]}' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(sni, ["localhost"]);

      // without the CA the certificate is not trusted: 502, and nothing secret in the answer
      const untrusted = await startKvProxy({ target: `https://127.0.0.1:${tlsPort}`, token: denokv.token, port: 0, log: () => {} });
      proxies.push(untrusted);
      const bad = await post(untrusted.port, "/", { body: '{"supportedVersions":[2,3]}' });
      assert.equal(bad.status, 502, bad.text);
      assert.ok(!bad.text.includes(denokv.token));
    } finally {
      for (const p of proxies) await p.stop();
      for (const s of servers) s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
