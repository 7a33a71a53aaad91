// webkv's KV Connect client in Node 20 (fetch) behind servers that redirect, with a real denokv
// behind them:
//   - same-origin redirects (307 on the metadata exchange, 308 on a data-path call) are followed
//     and the database works (this used to fail with "Cannot perform
//     ArrayBuffer.prototype.slice on a detached ArrayBuffer": undici had consumed the body);
//   - a redirect to another origin fails with a clear error, and that origin never sees a
//     request, so neither the access token nor the data-path token (which denokv makes the
//     same) reaches it.
// Deno's http1.js path has the same tests in http1.test.js.
//
//   node --test tests/kvconnect/redirects.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import * as webkv from "../../pkg/node.js";
import { startDenokv } from "./denokv.mjs";

let denokv;
const servers = [];

/** A server on 127.0.0.1 answering with `handle(req, body, res)`; it records every request. */
async function listen(handle) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      requests.push({ path: req.url, authorization: req.headers.authorization ?? null });
      handle(req, Buffer.concat(chunks), res);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

/** Forwards a request to denokv at `path`. */
async function forward(req, body, res, path) {
  const headers = {};
  for (const name of ["authorization", "content-type", "x-denokv-database-id", "x-denokv-version"]) {
    if (req.headers[name]) headers[name] = req.headers[name];
  }
  const answer = await fetch(denokv.url + path, { method: "POST", headers, body });
  const bytes = Buffer.from(await answer.arrayBuffer());
  res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "" }).end(bytes);
}

before(async () => {
  denokv = await startDenokv();
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections?.();
    server.close();
  }
  await denokv?.stop();
});

test("same-origin redirects (307 on the metadata exchange, 308 on a read) are followed", async () => {
  let redirectedRead = false;
  const front = await listen((req, body, res) => {
    if (req.url === "/") return res.writeHead(307, { location: "/kv/" }).end();
    if (req.url === "/kv/") return forward(req, body, res, "/");
    if (req.url === "/v2/snapshot_read" && !redirectedRead) {
      redirectedRead = true;
      return res.writeHead(308, { location: "/v2/snapshot_read?again" }).end();
    }
    return forward(req, body, res, req.url.replace(/\?.*/, ""));
  });
  const kv = await webkv.openKv(front.url, { accessToken: denokv.token });
  try {
    await kv.set(["redirects", "same-origin"], "followed");
    assert.equal((await kv.get(["redirects", "same-origin"])).value, "followed");
    await kv.delete(["redirects", "same-origin"]);
  } finally {
    kv.close();
  }
  assert.deepEqual(front.requests.slice(0, 2).map((r) => r.path), ["/", "/kv/"]);
  assert.ok(front.requests.some((r) => r.path === "/v2/snapshot_read?again"), "the read went where it was sent");
  assert.equal(front.requests[1].authorization, `Bearer ${denokv.token}`, "the token went along, within the origin");
});

test("a redirect of the metadata exchange to another origin is refused; that origin sees nothing", async () => {
  const other = await listen((req, body, res) => forward(req, body, res, req.url));
  const front = await listen((req, body, res) => res.writeHead(307, { location: `${other.url}/` }).end());
  await assert.rejects(webkv.openKv(front.url, { accessToken: denokv.token }), (error) => {
    assert.equal(error.constructor, TypeError);
    assert.equal(
      error.message,
      `Could not open Deno KV database: '${front.url}/' redirected to '${other.url}/', another origin. ` +
        "webkv follows redirects only within an origin, so that no token is sent to another server: " +
        `open '${other.url}/' directly if you trust it`,
    );
    return true;
  });
  assert.equal(front.requests.length, 1, "not retried");
  assert.deepEqual(other.requests, [], "the other origin never saw a request");
});

test("a redirect of a data-path call to another origin is refused; that origin sees nothing", async () => {
  const other = await listen((req, body, res) => forward(req, body, res, req.url));
  const front = await listen((req, body, res) => {
    if (req.url === "/v2/atomic_write") return res.writeHead(308, { location: `${other.url}/v2/atomic_write` }).end();
    return forward(req, body, res, req.url);
  });
  const kv = await webkv.openKv(front.url, { accessToken: denokv.token });
  try {
    await assert.rejects(kv.set(["redirects", "cross-origin"], 1), /redirected to 'http:\/\/127\.0\.0\.1:\d+\/v2\/atomic_write', another origin/);
    assert.deepEqual(other.requests, [], "the other origin never saw the data-path token");
    assert.equal((await kv.get(["redirects", "cross-origin"])).value, null, "nothing written");
  } finally {
    kv.close();
  }
});
