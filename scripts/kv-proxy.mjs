#!/usr/bin/env node
// kv-proxy: lets a browser page use a `denokv` server (KV Connect) through webkv.
//
//   node scripts/kv-proxy.mjs --target http://127.0.0.1:4512 --port 8787 \
//     --allow-origin http://127.0.0.1:8000          # the origin of the page that uses it
//   (the token comes from KV_PROXY_TOKEN or DENO_KV_ACCESS_TOKEN, or --token TOKEN;
//    or: npm run kv-proxy -- --target ... --allow-origin ...)
//
// Then, in the page:  const kv = await openKv("http://127.0.0.1:8787", { accessToken: "placeholder" });
//
// Why: `denokv serve` sends no CORS headers, so a browser cannot call it directly, and
// the access token must not be shipped to the page. This proxy
//   - keeps the access token server-side: the page sends any placeholder bearer token on the
//     metadata exchange (POST to the target's path) and the proxy sends the real one; the
//     data-path token in the metadata answer is replaced by an opaque proxy token, and the
//     data path (/v2/...) is only forwarded with a proxy token this process issued (anything
//     else gets 401, which makes KV Connect clients redo the metadata exchange);
//   - forwards only to the target: every upstream request goes to the target's host and port,
//     with a request path that must be a plain path (no `//`, dot segments, backslashes,
//     encoded slashes or dots, query) inside the target's base path; anything else is refused
//     with 400/404 before anything is sent;
//   - answers CORS only for the origins given with --allow-origin (echoed, with Vary: Origin).
//     A request with any other Origin gets 403 and is not forwarded. Requests without an
//     Origin (Deno, Node and other non-browser clients) and same-origin requests are served.
//     `--allow-origin '*'` allows every origin and prints a warning;
//   - accepts only Host (HTTP/2: :authority) names it listens on: the bound address, plus
//     localhost, 127.0.0.1 and [::1] when bound to loopback (every local address when bound to
//     0.0.0.0/::), plus --allow-host names; anything else gets 421 (DNS rebinding);
//   - limits requests: bodies over --max-body-bytes (default 2 MiB, see MAX_BODY_BYTES) get
//     413 without being forwarded; headers must arrive within 10 s, a request body within 30 s,
//     and a connection with no request in flight is closed after 30 s idle. A response being
//     streamed (watch) is never cut by these timeouts;
//   - rewrites the metadata exchange answer: endpoint URLs are made to point back through
//     this proxy (denokv 0.14 answers relative URLs, "/v2"; absolute URLs on the target's
//     origin are rewritten; endpoints elsewhere are dropped);
//   - streams data-path answers through unbuffered (watch is a long-lived stream);
//   - speaks HTTP/1.1 (browsers, fetch) and cleartext HTTP/2 with prior knowledge (real Deno's
//     KV Connect client uses that for http:// URLs) on the same port; the target may be
//     http:// or https:// (TLS with SNI, verified against Node's CAs, NODE_EXTRA_CA_CERTS or
//     --ca).
//
// What it does NOT do: it does not authenticate the page's user. Anyone who can reach the
// proxy's port with a non-browser client, and every page on an allowed origin, gets full read
// and write access to the whole database with the proxy's token. Keep it bound to loopback
// (the default), allow only the origins you serve your own pages from, and never expose it on
// a network without real authentication in front of it.
//
// Options (flags, or the environment variable in brackets):
//   --target URL        the denokv URL, http:// or https://    [KV_PROXY_TARGET] default http://127.0.0.1:4512
//   --token TOKEN       denokv's --access-token                [KV_PROXY_TOKEN, DENO_KV_ACCESS_TOKEN]
//                       (prefer the environment: flags are visible to other local users in `ps`)
//   --port N            port to listen on                      [KV_PROXY_PORT]   default 8787 (0: any free port)
//   --host H            address to bind                        [KV_PROXY_HOST]   default 127.0.0.1
//   --allow-origin O    a page origin allowed to use the proxy [KV_PROXY_ALLOW_ORIGIN, comma-separated]
//                       repeatable; default: none. '*' allows every origin (with a warning)
//   --allow-host NAME   an extra Host name accepted            [KV_PROXY_ALLOW_HOST, comma-separated]
//                       repeatable (e.g. a name you reach the proxy by through a tunnel)
//   --ca FILE           extra CA certificate(s), PEM, for an https:// target [KV_PROXY_CA]
//   --max-body-bytes N  request body cap                       [KV_PROXY_MAX_BODY_BYTES] default 2097152
// Prints `kv-proxy listening on http://HOST:PORT -> TARGET` once ready.

import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import os from "node:os";
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ALLOWED_HEADERS = "Authorization, Content-Type, x-denokv-database-id, x-denokv-version";

// The largest request body forwarded. The biggest KV Connect request is an atomic write, and
// Deno KV's limits (ext/kv, and webkv's src/core/limits.rs) bound it: at most 1000 mutations
// plus enqueues, whose keys, values and enqueue payloads total at most 800 KiB; at most 100
// checks, whose keys count towards the 80 KiB total key size (as do the mutation keys and
// keys_if_undelivered), each with a 10-byte versionstamp; protobuf framing adds < 40 bytes per
// mutation/check/enqueue (tags, lengths, encoding, type, expiry, ≤ 5 backoff intervals), i.e.
// < 60 KiB. So an atomic write is < 800 + 80 + 60 KiB ≈ 0.92 MiB. A snapshot read is at most 10
// ranges of two ≤ 2049-byte keys (~41 KiB), a watch at most 10 keys, the metadata exchange a
// few bytes of JSON. 2 MiB leaves more than 2x margin over the largest valid request, and it
// is also what denokv itself accepts (axum's default body limit, 2 MiB): anything larger
// would be refused upstream anyway.
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
// The metadata answer is a few hundred bytes of JSON; more means something is wrong upstream.
const MAX_METADATA_BYTES = 64 * 1024;
// Proxy tokens handed out and not yet expired. Each metadata exchange adds one; the oldest is
// forgotten beyond this many (its client gets 401 and does a new exchange).
const MAX_ISSUED_TOKENS = 1000;

// Request headers forwarded to the target (everything else, cookies, forwarding headers,
// Accept-Encoding, hop-by-hop headers, is dropped; Authorization is set by the proxy).
const FORWARDED_REQUEST_HEADERS = ["content-type", "accept", "user-agent", "x-denokv-database-id", "x-denokv-version"];
// Response headers passed back to the client.
const FORWARDED_RESPONSE_HEADERS = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "cache-control",
  "retry-after",
  "www-authenticate",
  "date",
]);

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/**
 * Starts the proxy. Returns { url, port, stop() }.
 *
 * Options: target, token, port (8787; 0 = any free), host ("127.0.0.1"),
 *   allowOrigins: origins allowed to use the proxy from a browser ([]; "*" = every origin,
 *     with a warning). `allowOrigin` (a string or array) is accepted as an alias.
 *   allowHosts: extra Host names accepted ([]).
 *   ca: extra CA certificate(s) (PEM string/Buffer or array) for an https:// target.
 *   maxBodyBytes (MAX_BODY_BYTES), headersTimeout (10 s), requestTimeout (30 s: the whole
 *     request body), idleTimeout (30 s: a connection with no request in flight),
 *   maxConnections (512), log (a function taking a line; console.error).
 */
export async function startKvProxy({
  target,
  token,
  port = 8787,
  host = "127.0.0.1",
  allowOrigins,
  allowOrigin,
  allowHosts = [],
  ca,
  maxBodyBytes = MAX_BODY_BYTES,
  headersTimeout = 10_000,
  requestTimeout = 30_000,
  idleTimeout = 30_000,
  maxConnections = 512,
  log = (line) => console.error(line),
} = {}) {
  if (!target) throw new Error("kv-proxy: --target is required");
  // A limit that is not a number would compare false with every length:
  // every declared body refused, and every chunked one read without limit.
  for (const [name, value] of [
    ["--max-body-bytes", maxBodyBytes],
    ["headersTimeout", headersTimeout],
    ["requestTimeout", requestTimeout],
    ["idleTimeout", idleTimeout],
    ["maxConnections", maxConnections],
  ]) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`kv-proxy: ${name} must be a positive integer, not ${JSON.stringify(String(value))}`);
    }
  }
  if (!token) throw new Error("kv-proxy: --token (or KV_PROXY_TOKEN / DENO_KV_ACCESS_TOKEN) is required");
  const targetUrl = parseTarget(target);
  const metadataPath = targetUrl.pathname || "/";
  // Requests may only reach the metadata path or paths under its directory.
  const basePath = metadataPath.slice(0, metadataPath.lastIndexOf("/") + 1);
  const origins = new Set();
  let anyOrigin = false;
  for (const o of [allowOrigins ?? [], allowOrigin ?? []].flat()) {
    const normalized = normalizeOrigin(o);
    if (normalized === "*") anyOrigin = true;
    else origins.add(normalized);
  }
  if (anyOrigin) {
    log("kv-proxy: WARNING: --allow-origin '*' lets a page on ANY website read and write the whole database through this proxy");
  }

  const targetHost = targetUrl.hostname.replace(/^\[(.*)\]$/, "$1");
  const isHttps = targetUrl.protocol === "https:";
  const agent = isHttps
    ? // `ca` replaces Node's trusted roots; a private CA is meant to add to them.
      new https.Agent({ keepAlive: true, ...(ca ? { ca: [...tls.rootCertificates, ...[ca].flat()] } : {}) })
    : new http.Agent({ keepAlive: true });
  const targetPort = Number(targetUrl.port || (isHttps ? 443 : 80));

  // proxy token handed to the page -> { real data-path token, expires (ms) }
  const issued = new Map();

  function issue(real, expiresAt) {
    const now = Date.now();
    for (const [k, v] of issued) if (v.expires <= now) issued.delete(k);
    while (issued.size >= MAX_ISSUED_TOKENS) issued.delete(issued.keys().next().value);
    const mine = `kv-proxy-${randomBytes(16).toString("hex")}`;
    const expires = Number.isFinite(Date.parse(expiresAt)) ? Date.parse(expiresAt) : now + 3600_000;
    issued.set(mine, { real, expires });
    return mine;
  }

  function realTokenFor(req) {
    const sent = /^Bearer ([\x21-\x7e]+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const entry = sent === undefined ? undefined : issued.get(sent);
    if (!entry) return null;
    if (entry.expires <= Date.now()) {
      issued.delete(sent);
      return null;
    }
    return entry.real;
  }

  let allowedHostNames; // filled in once the address is known
  const refusedOrigins = new Set(); // logged once each

  async function handle(req, res) {
    const h2 = req.httpVersionMajor === 2;
    // Every answer depends on the Origin.
    const base = { vary: "Origin" };
    const send = (status, text, { headers = {}, close = false } = {}) => {
      if (res.headersSent || (h2 ? req.stream?.destroyed : req.socket?.destroyed)) return void res.destroy();
      if (close && !h2) headers.connection = "close";
      res.writeHead(status, { ...base, ...headers, "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
      res.end(text);
      if (close && h2) res.once("finish", () => req.stream?.close?.(http2.constants.NGHTTP2_NO_ERROR));
    };

    // 1. Host / :authority: only names this proxy listens on (defeats DNS rebinding).
    const authority = h2 ? req.headers[":authority"] ?? req.headers.host : req.headers.host;
    const hostName = parseHostHeader(authority);
    if (h2 && req.headers.host !== undefined && req.headers[":authority"] !== undefined && req.headers.host !== req.headers[":authority"]) {
      return send(400, "kv-proxy: Host and :authority differ\n", { close: true });
    }
    if (!hostName || !allowedHostNames.has(hostName.name)) {
      return send(421, "kv-proxy: unknown Host; start the proxy with --allow-host NAME to accept another name\n", { close: true });
    }

    // 2. Origin: only same-origin, no Origin (non-browser clients), or explicitly allowed.
    const origin = req.headers.origin;
    const self = `http://${hostName.name}${hostName.port && hostName.port !== "80" ? `:${hostName.port}` : ""}`;
    let corsAllowed = false;
    if (origin !== undefined && origin !== self) {
      if (!anyOrigin && !origins.has(origin)) {
        if (refusedOrigins.size < 100 && !refusedOrigins.has(origin)) {
          refusedOrigins.add(origin);
          log(`kv-proxy: refused a request from Origin ${JSON.stringify(origin.slice(0, 200))} (not in --allow-origin)`);
        }
        // No CORS headers: the page cannot even read this refusal.
        return send(403, "kv-proxy: this Origin is not allowed; start the proxy with --allow-origin ORIGIN to allow a page's origin\n", { close: true });
      }
      corsAllowed = true;
      base["access-control-allow-origin"] = origin;
    }

    if (req.method === "OPTIONS") {
      const headers = { allow: "POST, OPTIONS" };
      if (corsAllowed || origin === self) {
        Object.assign(headers, {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": "POST, OPTIONS",
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-max-age": "600",
        });
        // Chrome's Private Network Access: a page on a public origin asks before reaching a
        // loopback/private address. Only ever granted to an allowed origin.
        if (req.headers["access-control-request-private-network"] === "true") {
          headers["access-control-allow-private-network"] = "true";
        }
      }
      res.writeHead(204, { ...base, ...headers });
      res.end();
      return;
    }
    if (req.method !== "POST") {
      return send(405, "kv-proxy: only POST (KV Connect) and OPTIONS are supported\n", { headers: { allow: "POST, OPTIONS" }, close: true });
    }

    // 3. The request target: a plain path inside the target's base path, sent to the target's
    //    own host and port. Never resolved as a URL, so it cannot name another origin.
    const checked = checkRequestPath(req.url, metadataPath, basePath);
    if (checked.status) return send(checked.status, `kv-proxy: ${checked.reason}\n`, { close: true });
    const upstreamPath = checked.path;
    const isMetadata = upstreamPath === metadataPath;

    // 4. Authorization: the real token on the metadata exchange; on the data path, only for a
    //    proxy token this process issued (no fallback to the real token).
    let bearer;
    if (isMetadata) {
      bearer = token;
    } else {
      bearer = realTokenFor(req);
      if (bearer === null) {
        return send(401, "kv-proxy: unknown or expired proxy token; do the metadata exchange again\n", { close: true });
      }
    }

    // 5. The body, bounded in size and time, read completely before anything is forwarded.
    const declared = req.headers["content-length"];
    if (declared !== undefined && !(Number(declared) <= maxBodyBytes)) {
      return send(413, `kv-proxy: request body over ${maxBodyBytes} bytes\n`, { close: true });
    }
    let body;
    try {
      body = await readBody(req, { limit: maxBodyBytes, timeoutMs: requestTimeout });
    } catch (e) {
      if (e.status) return send(e.status, `kv-proxy: ${e.message}\n`, { close: true });
      throw e;
    }

    const headers = {};
    for (const k of FORWARDED_REQUEST_HEADERS) {
      const v = req.headers[k];
      if (typeof v === "string") headers[k] = v;
    }
    headers.authorization = `Bearer ${bearer}`;
    headers["content-length"] = String(body.length);

    const upstream = (isHttps ? https : http).request({
      protocol: targetUrl.protocol,
      hostname: targetHost,
      port: targetPort,
      path: upstreamPath,
      method: "POST",
      headers,
      agent,
      ...(isHttps && !net.isIP(targetHost) ? { servername: targetHost } : {}),
    });
    let upstreamDone = false;
    let clientGone = false;
    res.on("close", () => {
      if (upstreamDone) return;
      clientGone = true; // e.g. a watch the client stopped: end the upstream request too
      upstream.destroy();
    });
    upstream.on("error", (e) => {
      upstreamDone = true;
      if (!clientGone) log(`kv-proxy: ${req.method} ${upstreamPath} to the target failed: ${e.message}`);
      if (!res.headersSent) send(502, "kv-proxy: the target is unreachable or failed\n");
      else res.destroy();
    });
    upstream.on("response", async (up) => {
      up.on("end", () => {
        upstreamDone = true;
      });
      up.on("error", () => res.destroy());
      const out = {};
      for (const [k, v] of Object.entries(up.headers)) {
        if (FORWARDED_RESPONSE_HEADERS.has(k) || k.startsWith("x-denokv-")) out[k] = v;
      }
      if (isMetadata && up.statusCode === 200) {
        let json;
        try {
          const text = (await readBody(up, { limit: MAX_METADATA_BYTES, timeoutMs: requestTimeout })).toString("utf8");
          json = rewriteMetadata(text, { self, targetUrl, issue, secrets: [token] });
        } catch (e) {
          upstreamDone = true;
          up.destroy();
          log(`kv-proxy: refused the target's metadata answer: ${e.message}`);
          return send(502, "kv-proxy: the target's metadata answer was refused\n");
        }
        delete out["content-length"];
        delete out["content-encoding"];
        res.writeHead(200, { ...out, ...base, "content-type": "application/json", "content-length": json.length });
        res.end(json);
        return;
      }
      res.writeHead(up.statusCode, { ...out, ...base });
      up.pipe(res);
    });
    upstream.end(body);
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((e) => {
      log(`kv-proxy: internal error: ${e?.stack ?? e}`);
      try {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
          res.end("kv-proxy: internal error\n");
        } else res.destroy();
      } catch {
        res.destroy();
      }
    });
  };
  const sockets = new Set();
  const server = dualProtocolServer(onRequest, sockets, { headersTimeout, idleTimeout, maxConnections });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  allowedHostNames = hostNamesFor(address.address, host, allowHosts);
  if (!isLoopback(address.address)) {
    log(`kv-proxy: WARNING: listening on ${address.address}, not loopback: anyone who can reach this port can read and write the whole database`);
  }
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}${metadataPath === "/" ? "" : metadataPath}`,
    port: address.port,
    stop: () =>
      new Promise((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
        agent.destroy();
      }),
  };
}

function parseTarget(target) {
  let u;
  try {
    u = new URL(target);
  } catch {
    throw new Error(`kv-proxy: --target ${JSON.stringify(String(target))} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("kv-proxy: --target must be an http:// or https:// URL");
  if (u.username || u.password) throw new Error("kv-proxy: --target must not contain credentials (give the token with --token)");
  if (u.search || u.hash) throw new Error("kv-proxy: --target must not have a query or fragment");
  if (checkRequestPath(u.pathname, u.pathname, "/").status) throw new Error("kv-proxy: --target has an unusual path");
  return u;
}

/** "https://a.example:443/" -> "https://a.example"; "*" stays; anything not an origin throws. */
function normalizeOrigin(o) {
  if (o === "*") return "*";
  if (o === "null") {
    throw new Error("kv-proxy: --allow-origin null is refused: sandboxed iframes and file: pages of every site send Origin: null");
  }
  let u;
  try {
    u = new URL(o);
  } catch {
    throw new Error(`kv-proxy: --allow-origin ${JSON.stringify(o)} is not an origin (scheme://host[:port])`);
  }
  if (!/^https?:$/.test(u.protocol) || u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== "")) {
    throw new Error(`kv-proxy: --allow-origin ${JSON.stringify(o)} is not an origin (scheme://host[:port], no path)`);
  }
  return u.origin;
}

/** "Name:port" / "[v6]:port" / "name" -> { name (lower case, no trailing dot), port } or null. */
function parseHostHeader(value) {
  if (typeof value !== "string") return null;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return null;
  return { name: m[1].toLowerCase().replace(/\.$/, ""), port: m[2] };
}

function bracket(address) {
  return net.isIPv6(address) ? `[${address}]` : address;
}

function isLoopback(address) {
  return address === "::1" || /^127\./.test(address) || address === "::ffff:127.0.0.1";
}

/** The Host names accepted for a proxy bound to `address` (as given: `host`). */
function hostNamesFor(address, host, extra) {
  const names = new Set([bracket(address).toLowerCase(), bracket(host).toLowerCase()]);
  if (isLoopback(address) || host === "localhost") for (const n of LOOPBACK_NAMES) names.add(n);
  if (address === "0.0.0.0" || address === "::") {
    for (const n of LOOPBACK_NAMES) names.add(n);
    for (const list of Object.values(os.networkInterfaces())) {
      for (const i of list ?? []) names.add(bracket(i.address).toLowerCase());
    }
  }
  for (const h of extra) {
    const parsed = parseHostHeader(h);
    if (!parsed) throw new Error(`kv-proxy: --allow-host ${JSON.stringify(h)} is not a host name`);
    names.add(parsed.name);
  }
  return names;
}

// A plain absolute path: unreserved and a few sub-delimiter characters, "/" and %XX.
// No "?", "#", ";", "\", spaces or controls.
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;

/**
 * Checks a request target (HTTP/1.1 request-target or HTTP/2 :path) and returns
 * { path } (forwarded verbatim) or { status, reason }. Refused: anything not starting with a
 * single "/" (absolute-form, authority-form, "*", "//host"), a query, backslashes, dot
 * segments (also percent-encoded), empty segments, encoded "/", "\", ".", "%" and control
 * characters, malformed escapes, and paths outside the target's base path.
 */
export function checkRequestPath(raw, metadataPath, basePath) {
  const bad = (reason) => ({ status: 400, reason });
  if (typeof raw !== "string" || raw.length === 0) return bad("missing request path");
  if (raw.length > 2048) return bad("request path too long");
  if (raw[0] !== "/") return bad("only origin-form request targets (/path) are accepted");
  if (raw.includes("?")) return bad("a query is not accepted");
  if (!PLAIN_PATH.test(raw)) return bad("the request path has characters that are not accepted");
  if (raw.includes("//")) return bad("empty path segments are not accepted");
  for (const m of raw.matchAll(/%(.{0,2})/g)) {
    if (!/^[0-9A-Fa-f]{2}$/.test(m[1])) return bad("malformed percent-escape in the request path");
    const c = parseInt(m[1], 16);
    if (c < 0x21 || c >= 0x7f || "/\\.%".includes(String.fromCharCode(c))) {
      return bad("encoded slashes, backslashes, dots, percent signs or control characters are not accepted");
    }
  }
  if (raw.split("/").some((s) => s === "." || s === "..")) return bad("dot segments are not accepted");
  if (raw !== metadataPath && !raw.startsWith(basePath)) return { status: 404, reason: "outside the target's path" };
  return { path: raw };
}

/**
 * Rewrites the target's metadata answer for the page: the data-path token becomes a proxy
 * token, endpoints lead back through the proxy. Throws if the answer is not what denokv
 * sends, or if a secret would still appear in it.
 */
function rewriteMetadata(text, { self, targetUrl, issue, secrets }) {
  const meta = JSON.parse(text);
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new Error("not a JSON object");
  if (!Array.isArray(meta.endpoints)) throw new Error("no endpoints array");
  if (typeof meta.token !== "string" || meta.token === "") throw new Error("no token");
  const endpoints = [];
  for (const ep of meta.endpoints) {
    if (ep === null || typeof ep !== "object" || typeof ep.url !== "string") throw new Error("malformed endpoint");
    if (/^[a-z][a-z0-9+.-]*:/i.test(ep.url) || ep.url.startsWith("//")) {
      let u;
      try {
        u = new URL(ep.url);
      } catch {
        throw new Error("malformed endpoint URL");
      }
      // Endpoints elsewhere cannot be reached through the proxy, and the page would send
      // them its token: dropped.
      if (u.origin !== targetUrl.origin || u.search || u.hash) continue;
      endpoints.push({ ...ep, url: self + u.pathname.replace(/\/$/, "") });
    } else if (ep.url.startsWith("/")) {
      endpoints.push(ep); // relative to the proxy (denokv: "/v2")
    } else {
      throw new Error("unsupported endpoint URL");
    }
  }
  if (endpoints.length === 0) throw new Error("no endpoint reachable through the proxy");
  const real = meta.token;
  meta.endpoints = endpoints;
  meta.token = issue(real, meta.expiresAt);
  const json = JSON.stringify(meta);
  for (const s of [real, ...secrets]) {
    if (s && s.length >= 8 && json.includes(s)) throw new Error("the answer still contains a token");
  }
  return Buffer.from(json);
}

/**
 * HTTP/1.1 and h2c on one port: the first bytes decide (the HTTP/2 preface
 * starts "PRI "). Deno's KV client speaks h2c to http:// URLs; fetch speaks
 * HTTP/1.1. Open sockets are tracked in `sockets` so a stop can end them.
 *
 * Options (all off when not given):
 *   headersTimeout: a new connection must complete its first request's headers within this
 *     (HTTP/2: its first stream), or it is closed; trickling bytes does not extend it;
 *   idleTimeout: a connection with no request in flight is closed after this (a deadline
 *     started when its last response ended, not reset by incoming bytes). A request in flight,
 *     e.g. a watch answer streaming for hours, is never cut;
 *   maxConnections: connections beyond this are refused;
 *   maxConcurrentStreams: HTTP/2 streams per session (default 128).
 */
export function dualProtocolServer(onRequest, sockets = new Set(), { headersTimeout = 0, idleTimeout = 0, maxConnections, maxConcurrentStreams = 128 } = {}) {
  const CONN = Symbol("connection");
  const track = (conn, stream) => {
    conn.active++;
    conn.disarm();
    stream.once("close", () => {
      if (--conn.active === 0) conn.arm(idleTimeout);
    });
  };
  const h1 = http.createServer({ keepAliveTimeout: idleTimeout || 5000 }, onRequest);
  h1.prependListener("request", (req, res) => {
    const conn = req.socket?.[CONN];
    if (conn) track(conn, res);
  });
  const h2 = http2.createServer({ settings: { maxConcurrentStreams } }, onRequest);
  let pending = null; // the connection being handed to h2 (its 'session' event is synchronous)
  h2.on("session", (session) => {
    if (pending) session[CONN] = pending;
    session.on("error", () => {});
  });
  h2.prependListener("stream", (stream) => {
    const conn = stream.session?.[CONN];
    if (conn) track(conn, stream);
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const conn = {
      active: 0,
      timer: null,
      arm(ms) {
        clearTimeout(this.timer);
        this.timer = ms > 0 ? setTimeout(() => socket.destroy(), ms).unref() : null;
      },
      disarm() {
        clearTimeout(this.timer);
        this.timer = null;
      },
    };
    socket[CONN] = conn;
    conn.arm(headersTimeout);
    socket.on("close", () => {
      sockets.delete(socket);
      conn.disarm();
    });
    socket.on("error", () => {});
    socket.once("data", (chunk) => {
      socket.pause();
      socket.unshift(chunk);
      if (chunk.subarray(0, 4).toString("latin1") === "PRI ") {
        pending = conn;
        try {
          h2.emit("connection", socket);
        } finally {
          pending = null;
        }
      } else {
        h1.emit("connection", socket);
      }
      process.nextTick(() => socket.resume());
    });
  });
  if (maxConnections) server.maxConnections = maxConnections;
  return server;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Reads a stream to a Buffer: rejects with HttpError 413 beyond `limit` bytes, 408 after
 * `timeoutMs`, and 400 if the stream ends early. On 413/408 the stream is left paused and
 * unread (the caller answers and closes the connection).
 */
function readBody(stream, { limit = Infinity, timeoutMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let timer = null;
    const finish = (err, value) => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (err) {
        stream.pause();
        reject(err);
      } else resolve(value);
    };
    const onData = (c) => {
      size += c.length;
      if (size > limit) return finish(new HttpError(413, `request body over ${limit} bytes`));
      chunks.push(c);
    };
    const onEnd = () => finish(null, Buffer.concat(chunks));
    const onError = (e) => finish(Object.assign(new HttpError(400, "the request body could not be read"), { cause: e }));
    const onClose = () => finish(new HttpError(400, "the connection closed before the body was complete"));
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
    if (timeoutMs > 0) timer = setTimeout(() => finish(new HttpError(408, "the request body took too long")), timeoutMs).unref();
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
const USAGE = `usage: node scripts/kv-proxy.mjs --target URL [--port 8787] [--host 127.0.0.1]
         [--allow-origin ORIGIN]... [--allow-host NAME]... [--ca FILE] [--max-body-bytes N] [--token TOKEN]

  Lets browser pages on the given origins use a denokv server (KV Connect) through webkv,
  keeping the access token (KV_PROXY_TOKEN or DENO_KV_ACCESS_TOKEN; --token works but shows
  in 'ps') out of the page. Example:
    KV_PROXY_TOKEN=$TOKEN node scripts/kv-proxy.mjs --target http://127.0.0.1:4512 \\
      --allow-origin http://127.0.0.1:8000
  then, in a page on http://127.0.0.1:8000:
    await openKv("http://127.0.0.1:8787", { accessToken: "placeholder" })

  --target URL       denokv's URL, http:// or https://       [KV_PROXY_TARGET] (http://127.0.0.1:4512)
  --port N           port to listen on (0: any)              [KV_PROXY_PORT] (8787)
  --host H           address to bind                         [KV_PROXY_HOST] (127.0.0.1)
  --allow-origin O   a page origin allowed to use the proxy  [KV_PROXY_ALLOW_ORIGIN, comma-separated]
                     (repeatable; none by default; '*' = every website, with a warning)
  --allow-host NAME  another Host name to accept             [KV_PROXY_ALLOW_HOST, comma-separated]
  --ca FILE          extra CA certificate(s) for an https:// target [KV_PROXY_CA]
  --max-body-bytes N request body cap                        [KV_PROXY_MAX_BODY_BYTES] (2097152)

  Protects: the token stays in this process; requests only ever go to the target; browser
  pages on other origins, and other Host names (DNS rebinding), are refused; oversized and
  slow requests are cut off.
  Does NOT protect: it does not authenticate anyone. Any program that can reach the port,
  and every page on an allowed origin, can read and write the whole database. Keep it on
  loopback (the default) and never expose it on a network without real authentication.`;

if (isMain) {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
  }
  const KNOWN = ["--target", "--token", "--port", "--host", "--allow-origin", "--allow-host", "--ca", "--max-body-bytes"];
  const flags = new Map(KNOWN.map((k) => [k, []]));
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].startsWith("--") && argv[i].includes("=") ? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)] : [argv[i], undefined];
    if (!flags.has(name)) {
      console.error(`kv-proxy: unknown argument ${JSON.stringify(argv[i])}\n\n${USAGE}`);
      process.exit(2);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      console.error(`kv-proxy: ${name} needs a value`);
      process.exit(2);
    }
    flags.get(name).push(value);
  }
  const one = (name) => flags.get(name).at(-1);
  const list = (name, envValue) =>
    flags.get(name).length ? flags.get(name) : (envValue ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const env = process.env;
  try {
    const caFile = one("--ca") ?? env.KV_PROXY_CA;
    const target = one("--target") ?? env.KV_PROXY_TARGET ?? "http://127.0.0.1:4512";
    const allowOrigins = list("--allow-origin", env.KV_PROXY_ALLOW_ORIGIN);
    const proxy = await startKvProxy({
      target,
      token: one("--token") ?? env.KV_PROXY_TOKEN ?? env.DENO_KV_ACCESS_TOKEN,
      port: Number(one("--port") ?? env.KV_PROXY_PORT ?? 8787),
      host: one("--host") ?? env.KV_PROXY_HOST ?? "127.0.0.1",
      allowOrigins,
      allowHosts: list("--allow-host", env.KV_PROXY_ALLOW_HOST),
      ca: caFile ? fs.readFileSync(caFile) : undefined,
      maxBodyBytes: Number(one("--max-body-bytes") ?? env.KV_PROXY_MAX_BODY_BYTES ?? MAX_BODY_BYTES),
    });
    const shown = new URL(target);
    console.log(`kv-proxy listening on ${proxy.url} -> ${shown.origin}${shown.pathname === "/" ? "" : shown.pathname}`);
    if (allowOrigins.length === 0) {
      console.error("kv-proxy: no --allow-origin given: browser pages on other origins are refused (non-browser clients such as Deno work)");
    }
    const stop = () => proxy.stop().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
