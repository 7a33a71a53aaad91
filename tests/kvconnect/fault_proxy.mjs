// A fault-injecting HTTP proxy in front of a KV Connect server (denokv), for tests.
//
// In process (Node):
//   import { startFaultProxy } from "./fault_proxy.mjs";
//   const proxy = await startFaultProxy({ target: server.url });   // listens on 127.0.0.1:<free port>
//   proxy.addRule({ path: "/v2/atomic_write", action: "drop-after", times: 1 });
//   ... a client opens proxy.url ...
//   proxy.log  // every request: { n, method, path, action, status, upstreamStatus, ms, conn }
//              // (conn: which client connection carried it, numbered from 1)
//   await proxy.stop();
//
// As its own process, driven over HTTP (what the Deno tests do):
//   node tests/kvconnect/fault_proxy.mjs --target http://127.0.0.1:4512 [--port 0]
// prints one JSON line { url, admin, pid } once listening; or, from Node/Deno code,
//   const proxy = await spawnFaultProxy({ target });  // same API, every method async, over HTTP
//
// Rules. Each request is matched against the rules in order; the first matching rule that has
// uses left is applied (and its `times` decremented; `skip` lets that many matching requests
// through first). Fields:
//   path    exact path ("/v2/atomic_write"), a prefix ending in "*" ("/v2/*"), or "*" (all)
//   method  optional, e.g. "POST"
//   action  "drop"         destroy the client connection; the server never sees the request
//           "drop-after"   forward, wait for the server's whole response (so a write WAS
//                          applied), then destroy the client connection without answering
//           "status"       answer `status` (default 503) with text `body`, without forwarding
//           "status-after" forward (applied), then answer `status` (default 503) instead
//           "503"          shorthand for { action: "status", status: 503 }
//           "401"          shorthand for { action: "status", status: 401, body: "Invalid access token." }
//           "delay"        wait `ms` milliseconds, then forward normally
//   times   how many requests to apply it to (default: unlimited)
//   skip    matching requests to let through before applying it (default 0)
//
// Metadata. The KV Connect metadata exchange is the POST to the target URL's own path ("/"
// for denokv). Its JSON response lists data-path endpoints. denokv 0.14 answers
//   {"version":3,"databaseId":"00000000-…","endpoints":[{"url":"/v2","consistency":"strong"}],
//    "token":"<the access token>","expiresAt":"<now + 1 day>"}
// a relative endpoint URL (resolved against the final URL, i.e. this proxy), so data-path calls
// come back through the proxy by themselves. Absolute endpoint URLs that point at the target's
// origin are rewritten to the proxy's origin anyway (v1 servers, or servers that answer
// absolute URLs).
//
// Protocols: HTTP/1.1 and cleartext HTTP/2 with prior knowledge on the same port (real Deno's
// KV Connect client uses h2c for http:// URLs; fetch() uses HTTP/1.1). "drop" destroys the TCP
// connection (HTTP/1.1) or the whole HTTP/2 session.
//
// Token rotation (simulated expiry), off by default: setConfig({ rotateTokens: { ttlMs } }).
// Each metadata response then carries a fresh proxy-issued token (`fp-<n>-<random>`) and
// `expiresAt = now + ttlMs`. A data-path request with a current proxy token is forwarded
// with the real token; one with a proxy token past its expiresAt (or expired early with
// expireTokens()) gets 401 "Invalid access token." without reaching the server. Tokens the
// proxy did not issue are forwarded unchanged.
//
// Admin HTTP endpoint, on the same port under /__fault/ (JSON in and out):
//   GET    /__fault/state          { rules, log, config, tokens, metadataRequests }
//   PUT    /__fault/rules          replace all rules with the JSON array in the body
//   POST   /__fault/rules          add the JSON rule in the body
//   DELETE /__fault/rules          remove all rules
//   DELETE /__fault/log            clear the request log
//   PUT    /__fault/config         merge the JSON body into the config ({ rotateTokens })
//   POST   /__fault/tokens/expire  expire every token issued so far
//   POST   /__fault/reset          rules, log, config and tokens back to the start
//   POST   /__fault/connections/close-idle
//                                   close every client connection that has carried a KV
//                                   request and has none in flight, as a server closing idle
//                                   keep-alive connections does; answers { closed: n }
//
// Binds only to 127.0.0.1.

import http from "node:http";
import { randomBytes } from "node:crypto";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { dualProtocolServer } from "../../scripts/kv-proxy.mjs";

const ADMIN = "/__fault/";

function normalizeRule(rule) {
  const r = { ...rule };
  if (r.action === "503") Object.assign(r, { action: "status", status: 503 });
  if (r.action === "401") Object.assign(r, { action: "status", status: 401, body: r.body ?? "Invalid access token." });
  const known = ["drop", "drop-after", "status", "status-after", "delay"];
  if (!known.includes(r.action)) throw new Error(`unknown fault action ${JSON.stringify(rule.action)}`);
  if (typeof r.path !== "string") throw new Error("a fault rule needs a path");
  if (r.action.startsWith("status")) {
    r.status ??= 503;
    r.body ??= r.status === 503 ? "Service Unavailable (fault proxy)" : `fault proxy: ${r.status}`;
  }
  if (r.action === "delay") r.ms ??= 1000;
  r.times ??= null; // null = unlimited
  r.skip ??= 0;
  r.hits = 0;
  return r;
}

function pathMatches(pattern, p) {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return p.startsWith(pattern.slice(0, -1));
  return p === pattern;
}

/** Starts the proxy in this process. */
export async function startFaultProxy({ target, port = 0, host = "127.0.0.1", quiet = true } = {}) {
  if (!target) throw new Error("startFaultProxy: target URL required");
  const targetUrl = new URL(target);
  const metadataPath = targetUrl.pathname || "/";
  let rules = [];
  let log = [];
  let config = { rotateTokens: null };
  let tokens = new Map(); // proxy token -> { expiresAt (ms), real }
  let tokenCounter = 0;
  let metadataRequests = 0;
  let n = 0;
  const sockets = new Set();
  // Client connections that carried KV requests (the socket for HTTP/1.1, the session for
  // HTTP/2) -> { id, inFlight }.
  const connections = new Map();
  let connectionCounter = 0;

  function pickRule(method, p) {
    for (const r of rules) {
      if (!pathMatches(r.path, p)) continue;
      if (r.method && r.method.toUpperCase() !== method) continue;
      if (r.times !== null && r.hits >= r.skip + r.times) continue;
      r.hits++;
      if (r.hits <= r.skip) return null; // let it through
      return r;
    }
    return null;
  }

  const api = {
    url: "",
    target: targetUrl.href.replace(/\/$/, ""),
    get log() {
      return log;
    },
    get rules() {
      return rules;
    },
    get config() {
      return config;
    },
    get metadataRequests() {
      return metadataRequests;
    },
    setRules(list) {
      rules = list.map(normalizeRule);
    },
    addRule(rule) {
      rules.push(normalizeRule(rule));
    },
    clearRules() {
      rules = [];
    },
    clearLog() {
      log = [];
    },
    setConfig(c) {
      config = { ...config, ...c };
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    reset() {
      rules = [];
      log = [];
      config = { rotateTokens: null };
      tokens = new Map();
      metadataRequests = 0;
    },
    state() {
      return {
        rules,
        log,
        config,
        metadataRequests,
        tokens: [...tokens].map(([token, t]) => ({ token, expiresAt: t.expiresAt, expired: t.expiresAt <= Date.now() })),
      };
    },
    closeIdleConnections() {
      let closed = 0;
      for (const [connection, { inFlight }] of connections) {
        if (inFlight > 0) continue;
        connection.destroy();
        connections.delete(connection);
        closed++;
      }
      return { closed };
    },
    stop: null,
  };

  async function admin(req, res, p) {
    const body = await readBody(req);
    const json = body.length ? JSON.parse(body.toString("utf8")) : null;
    const route = `${req.method} ${p.slice(ADMIN.length - 1)}`;
    switch (route) {
      case "GET /state":
        break;
      case "PUT /rules":
        api.setRules(json ?? []);
        break;
      case "POST /rules":
        api.addRule(json);
        break;
      case "DELETE /rules":
        api.clearRules();
        break;
      case "DELETE /log":
        api.clearLog();
        break;
      case "PUT /config":
        api.setConfig(json ?? {});
        break;
      case "POST /tokens/expire":
        api.expireTokens();
        break;
      case "POST /reset":
        api.reset();
        break;
      case "POST /connections/close-idle":
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(api.closeIdleConnections()));
        return;
      default:
        res.writeHead(404, { "content-type": "text/plain" }).end(`no admin route ${route}\n`);
        return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(api.state()));
  }

  async function handle(req, res) {
    const started = Date.now();
    const url = new URL(req.url, "http://x");
    const p = url.pathname;
    if (p.startsWith(ADMIN)) {
      try {
        await admin(req, res, p);
      } catch (e) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(e?.message ?? e) + "\n");
      }
      return;
    }
    const connection = req.stream?.session ?? req.socket;
    if (!connections.has(connection)) {
      connections.set(connection, { id: ++connectionCounter, inFlight: 0 });
      connection.once("close", () => connections.delete(connection));
    }
    const tracked = connections.get(connection);
    tracked.inFlight++;
    res.once("close", () => tracked.inFlight--);
    const entry = {
      n: ++n,
      method: req.method,
      path: p,
      action: null,
      status: null,
      upstreamStatus: null,
      ms: 0,
      conn: tracked.id,
    };
    log.push(entry);
    const done = (status) => {
      entry.status = status;
      entry.ms = Date.now() - started;
    };
    const reqBody = await readBody(req);
    const rule = pickRule(req.method, p);
    if (rule) entry.action = rule.action === "delay" ? `delay ${rule.ms}` : rule.action;

    if (rule?.action === "drop") {
      done("dropped");
      dropConnection(req);
      return;
    }
    if (rule?.action === "status") {
      done(rule.status);
      res.writeHead(rule.status, { "content-type": "text/plain; charset=utf-8" }).end(rule.body);
      return;
    }
    if (rule?.action === "delay") await new Promise((r) => setTimeout(r, rule.ms));

    // Headers to forward, with simulated token expiry applied.
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!k.startsWith(":") && !HOP_BY_HOP.has(k) && k !== "host" && k !== "content-length") headers[k] = v;
    }
    const isMetadata = req.method === "POST" && p === metadataPath;
    if (isMetadata) metadataRequests++;
    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "");
    if (!isMetadata && auth && tokens.has(auth[1])) {
      const t = tokens.get(auth[1]);
      if (t.expiresAt <= Date.now()) {
        entry.action = entry.action ? entry.action + ", token expired" : "token expired";
        done(401);
        res.writeHead(401, { "content-type": "text/plain; charset=utf-8" }).end("Invalid access token.");
        return;
      }
      headers.authorization = `Bearer ${t.real}`;
    }

    let upstream;
    try {
      upstream = await forward(new URL(url.pathname + url.search, targetUrl), req.method, headers, reqBody);
    } catch (e) {
      done(`upstream error: ${e.message}`);
      dropConnection(req);
      return;
    }
    entry.upstreamStatus = upstream.status;

    if (rule?.action === "drop-after") {
      done("dropped after upstream answered");
      dropConnection(req);
      return;
    }
    if (rule?.action === "status-after") {
      done(rule.status);
      res.writeHead(rule.status, { "content-type": "text/plain; charset=utf-8" }).end(rule.body);
      return;
    }

    let body = upstream.body;
    const outHeaders = {};
    for (const [k, v] of Object.entries(upstream.headers)) {
      if (!HOP_BY_HOP.has(k) && k !== "content-length") outHeaders[k] = v;
    }
    if (isMetadata && upstream.status === 200) {
      body = Buffer.from(JSON.stringify(rewriteMetadata(JSON.parse(body.toString("utf8")), req)));
    }
    done(upstream.status);
    res.writeHead(upstream.status, { ...outHeaders, "content-length": body.length }).end(body);
  }

  function rewriteMetadata(meta, req) {
    const self = `http://${req.headers.host ?? req.headers[":authority"]}`;
    if (Array.isArray(meta.endpoints)) {
      meta.endpoints = meta.endpoints.map((ep) => {
        if (/^https?:\/\//i.test(ep.url)) {
          const u = new URL(ep.url);
          if (u.origin === targetUrl.origin) return { ...ep, url: self + u.pathname.replace(/\/$/, "") + u.search };
        }
        return ep;
      });
    }
    if (config.rotateTokens) {
      const ttl = config.rotateTokens.ttlMs ?? 60_000;
      const token = `fp-${++tokenCounter}-${randomBytes(8).toString("hex")}`;
      const expiresAt = Date.now() + ttl;
      tokens.set(token, { expiresAt, real: meta.token });
      meta.token = token;
      meta.expiresAt = new Date(expiresAt).toISOString();
    }
    return meta;
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((e) => {
      if (!quiet) console.error("fault proxy:", e);
      try {
        res.writeHead(500, { "content-type": "text/plain" }).end(`fault proxy error: ${e?.message ?? e}\n`);
      } catch {
        dropConnection(req);
      }
    });
  };
  const server = dualProtocolServer(onRequest, sockets);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  api.port = server.address().port;
  api.url = `http://${host}:${api.port}${metadataPath === "/" ? "" : metadataPath}`;
  api.origin = `http://${host}:${api.port}`;
  api.admin = `http://${host}:${api.port}${ADMIN.slice(0, -1)}`;
  api.stop = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return api;
}

// Connection-level headers, which must not be forwarded (and are illegal in HTTP/2).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"]);

/** Drops the client's connection: the TCP socket for HTTP/1.1, the whole session for HTTP/2. */
function dropConnection(req) {
  if (req.stream?.session) req.stream.session.destroy();
  else req.socket.destroy();
}

function readBody(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

const agent = new http.Agent({ keepAlive: true });

function forward(url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: { ...headers, "content-length": body.length }, agent },
      (res) => {
        readBody(res).then((b) => resolve({ status: res.statusCode, headers: res.headers, body: b }), reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// ------------------------------------------------------------------ as a separate process

/**
 * Runs the proxy as its own Node process (tracked like denokv: PID in
 * tests/kvconnect/.tmp, killed on exit) and returns a client with the same
 * methods as startFaultProxy's result, each async, over the admin endpoint.
 */
export async function spawnFaultProxy({ target, node = process.env.NODE ?? "node" } = {}) {
  const { spawnTracked } = await import("./denokv.mjs");
  const self = fileURLToPath(import.meta.url);
  const proc = spawnTracked(`fault-proxy-${randomBytes(4).toString("hex")}`, node, [self, "--target", target], {
    stdio: "pipe",
  });
  const info = await new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("fault proxy did not start within 10 s")), 10_000);
    proc.child.stdout.on("data", (c) => {
      buf += c;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(buf.slice(0, nl)));
        } catch (e) {
          reject(e);
        }
      }
    });
    proc.whenExited.then(() => {
      clearTimeout(timer);
      reject(new Error(`fault proxy exited before listening (${JSON.stringify(proc.exitInfo)}), log ${proc.logPath}`));
    });
  });
  return adminClient(info, proc);
}

/** A client for a running proxy's admin endpoint (info: { url, admin }). */
export function adminClient(info, proc = null) {
  const call = async (method, route, body) => {
    const res = await fetch(info.admin + route, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`fault proxy admin ${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    url: info.url,
    admin: info.admin,
    pid: proc?.pid ?? info.pid,
    state: () => call("GET", "/state"),
    log: async () => (await call("GET", "/state")).log,
    setRules: (rules) => call("PUT", "/rules", rules),
    addRule: (rule) => call("POST", "/rules", rule),
    clearRules: () => call("DELETE", "/rules"),
    clearLog: () => call("DELETE", "/log"),
    setConfig: (c) => call("PUT", "/config", c),
    expireTokens: () => call("POST", "/tokens/expire"),
    reset: () => call("POST", "/reset"),
    closeIdleConnections: () => call("POST", "/connections/close-idle"),
    stop: async () => {
      if (proc) await proc.stop();
    },
  };
}

const isMain = (() => {
  try {
    if (typeof globalThis.Deno !== "undefined") return import.meta.main === true;
    return process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (isMain) {
  const argv = process.argv.slice(2);
  const arg = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
  const target = arg("--target");
  if (!target) {
    console.error("usage: node tests/kvconnect/fault_proxy.mjs --target http://127.0.0.1:PORT [--port N]");
    process.exit(2);
  }
  const proxy = await startFaultProxy({ target, port: Number(arg("--port", "0")), quiet: false });
  process.stdout.write(JSON.stringify({ url: proxy.url, admin: proxy.admin, pid: process.pid }) + "\n");
  const stop = async () => {
    await proxy.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
