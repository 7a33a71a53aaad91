#!/usr/bin/env node
// kv-proxy: lets a browser page use a `denokv` server (KV Connect) through webkv.
//
//   node scripts/kv-proxy.mjs --target http://127.0.0.1:4512 --token $TOKEN --port 8787
//   (or: npm run kv-proxy -- --target ... --token ... --port ...)
//
// Then, in the page:  const kv = await openKv("http://127.0.0.1:8787", { accessToken: "placeholder" });
//
// Why: `denokv serve` sends no CORS headers, so a browser cannot call it directly, and
// the access token must not be shipped to the page. This proxy
//   - answers CORS preflights (OPTIONS) and adds CORS headers to every answer, allowing the
//     headers KV Connect sends: Authorization, Content-Type, x-denokv-database-id,
//     x-denokv-version;
//   - injects the real access token server-side: the page may send any placeholder bearer
//     token, it is replaced before the request reaches denokv;
//   - rewrites the metadata exchange response (POST to the target's path): the real data-path
//     token in it is replaced by an opaque proxy token (so the page never sees a usable
//     token; denokv 0.14 hands out the access token itself there), and endpoint URLs are made
//     to point back through this proxy. denokv 0.14 answers relative URLs ("/v2"), which
//     already resolve against the proxy; absolute URLs on the target's origin are rewritten;
//   - streams data-path answers through unbuffered (watch is a long-lived stream);
//   - speaks HTTP/1.1 (browsers, fetch) and cleartext HTTP/2 with prior knowledge (real Deno's
//     KV Connect client uses that for http:// URLs) on the same port.
//
// Options (flags, or the environment variable in brackets):
//   --target URL      the denokv URL                      [KV_PROXY_TARGET] default http://127.0.0.1:4512
//   --token TOKEN     denokv's --access-token             [KV_PROXY_TOKEN, DENO_KV_ACCESS_TOKEN]
//   --port N          port to listen on                   [KV_PROXY_PORT]   default 8787 (0: any free port)
//   --host H          address to bind                     [KV_PROXY_HOST]   default 127.0.0.1
//   --allow-origin O  Access-Control-Allow-Origin value   [KV_PROXY_ALLOW_ORIGIN] default "*"
// Prints `kv-proxy listening on http://HOST:PORT -> TARGET` once ready. Anyone who can reach
// the proxy can use the database with its token: keep it on 127.0.0.1 (the default) or put
// real authentication in front of it.

import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { randomBytes } from "node:crypto";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ALLOWED_HEADERS = "Authorization, Content-Type, x-denokv-database-id, x-denokv-version";

/**
 * Starts the proxy. Returns { url, port, stop() }.
 */
export async function startKvProxy({ target, token, port = 8787, host = "127.0.0.1", allowOrigin = "*" }) {
  if (!target) throw new Error("kv-proxy: --target is required");
  if (!token) throw new Error("kv-proxy: --token (or KV_PROXY_TOKEN / DENO_KV_ACCESS_TOKEN) is required");
  const targetUrl = new URL(target);
  const metadataPath = targetUrl.pathname || "/";
  // proxy token handed to the page -> real data-path token from the metadata
  const issued = new Map();
  let latestReal = null;

  const cors = (req) => ({
    "access-control-allow-origin": allowOrigin,
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": "86400",
    ...(allowOrigin === "*" ? {} : { vary: "Origin" }),
  });

  const fail = (req, res, status, text) => {
    res.writeHead(status, { ...cors(req), "content-type": "text/plain; charset=utf-8" });
    res.end(text);
  };

  async function handle(req, res) {
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors(req));
      res.end();
      return;
    }
    if (req.method !== "POST") {
      fail(req, res, 405, "kv-proxy: only POST (KV Connect) and OPTIONS are supported");
      return;
    }
    const url = new URL(req.url, "http://x");
    const isMetadata = url.pathname === metadataPath;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k.startsWith(":") || HOP_BY_HOP.has(k)) continue;
      if (["host", "origin", "referer", "cookie", "authorization", "content-length"].includes(k)) continue;
      headers[k] = v;
    }
    if (isMetadata) {
      headers.authorization = `Bearer ${token}`;
    } else {
      const sent = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
      headers.authorization = `Bearer ${issued.get(sent) ?? latestReal ?? token}`;
    }
    const body = await readBody(req);
    const upstream = http.request(new URL(url.pathname + url.search, targetUrl), {
      method: "POST",
      headers: { ...headers, "content-length": body.length },
    });
    upstream.on("error", (e) => {
      if (!res.headersSent) fail(req, res, 502, `kv-proxy: ${targetUrl.origin} unreachable: ${e.message}`);
      else res.destroy();
    });
    upstream.on("response", async (up) => {
      const out = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
      if (isMetadata && up.statusCode === 200) {
        const text = (await readBody(up)).toString("utf8");
        let meta;
        try {
          meta = JSON.parse(text);
        } catch {
          fail(req, res, 502, "kv-proxy: the metadata response is not JSON");
          return;
        }
        const self = `http://${req.headers.host ?? req.headers[":authority"]}`;
        meta.endpoints = (meta.endpoints ?? []).map((ep) => {
          if (/^https?:\/\//i.test(ep.url)) {
            const u = new URL(ep.url);
            if (u.origin === targetUrl.origin) return { ...ep, url: self + u.pathname.replace(/\/$/, "") + u.search };
          }
          return ep;
        });
        if (typeof meta.token === "string") {
          const mine = `kv-proxy-${randomBytes(12).toString("hex")}`;
          issued.set(mine, meta.token);
          if (issued.size > 1000) issued.delete(issued.keys().next().value);
          latestReal = meta.token;
          meta.token = mine;
        }
        const json = Buffer.from(JSON.stringify(meta));
        delete out["content-length"];
        res.writeHead(200, { ...out, ...cors(req), "content-length": json.length });
        res.end(json);
        return;
      }
      res.writeHead(up.statusCode, { ...out, ...cors(req) });
      up.pipe(res);
      res.on("close", () => up.destroy());
    });
    upstream.end(body);
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) fail(req, res, 500, `kv-proxy: ${e?.message ?? e}`);
      else res.destroy();
    });
  };
  const sockets = new Set();
  const server = dualProtocolServer(onRequest, sockets);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}${metadataPath === "/" ? "" : metadataPath}`,
    port: actual,
    stop: () =>
      new Promise((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * HTTP/1.1 and h2c on one port: the first bytes decide (the HTTP/2 preface
 * starts "PRI "). Deno's KV client speaks h2c to http:// URLs; fetch speaks
 * HTTP/1.1. Open sockets are tracked in `sockets` so a stop can end them.
 */
export function dualProtocolServer(onRequest, sockets = new Set()) {
  const h1 = http.createServer(onRequest);
  const h2 = http2.createServer(onRequest);
  return net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (chunk) => {
      socket.pause();
      socket.unshift(chunk);
      (chunk.subarray(0, 4).toString("latin1") === "PRI " ? h2 : h1).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
  });
}

// Connection-level headers: never forwarded (and illegal in HTTP/2).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"]);

function readBody(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log("usage: node scripts/kv-proxy.mjs --target http://127.0.0.1:4512 --token TOKEN [--port 8787] [--host 127.0.0.1] [--allow-origin '*']");
    process.exit(0);
  }
  const arg = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const env = process.env;
  try {
    const proxy = await startKvProxy({
      target: arg("--target") ?? env.KV_PROXY_TARGET ?? "http://127.0.0.1:4512",
      token: arg("--token") ?? env.KV_PROXY_TOKEN ?? env.DENO_KV_ACCESS_TOKEN,
      port: Number(arg("--port") ?? env.KV_PROXY_PORT ?? 8787),
      host: arg("--host") ?? env.KV_PROXY_HOST ?? "127.0.0.1",
      allowOrigin: arg("--allow-origin") ?? env.KV_PROXY_ALLOW_ORIGIN ?? "*",
    });
    console.log(`kv-proxy listening on ${proxy.url} -> ${arg("--target") ?? env.KV_PROXY_TARGET ?? "http://127.0.0.1:4512"}`);
    const stop = () => proxy.stop().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
