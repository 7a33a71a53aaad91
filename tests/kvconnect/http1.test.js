// src/bindings/http1.js, KV Connect's HTTP/1.1 client in Deno, against scripted servers on
// 127.0.0.1 that answer each request with given bytes: framing (Content-Length, chunked, until
// close, interim answers), keep-alive reuse, Connection: close, servers closing idle
// connections, dropped answers (rejected, never resent), close(), and https (ALPN http/1.1).
//
//   deno test -A tests/kvconnect/http1.test.js

import { assert, assertEquals, assertStrictEquals } from "../conformance/assert.js";
import { closePool, createConnectionPool, poolPost } from "../../src/bindings/http1.js";

const HTTP1 = new URL("../../src/bindings/http1.js", import.meta.url).href;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const bytes = (text) => encoder.encode(text);
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ok = (body) => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

/**
 * A server on 127.0.0.1 that reads whole requests (Content-Length bodies) and answers each with
 * `answer(request, connection)`: a string or byte array to write, an array of them to write with
 * a pause between, or null to close the connection without answering. `requests` records every
 * request ({ conn, head, body, raw }); `closed` the connections that ended.
 */
function scriptedServer(answer, { listener = Deno.listen({ hostname: "127.0.0.1", port: 0 }) } = {}) {
  const requests = [];
  const conns = [];
  const closed = [];
  (async () => {
    for await (const conn of listener) {
      const id = conns.push(conn) - 1;
      serve(conn, id).catch(() => {}).finally(() => closed.push(id));
    }
  })().catch(() => {});
  async function serve(conn, id) {
    let buffer = new Uint8Array(0);
    const more = async () => {
      const chunk = new Uint8Array(65536);
      const n = await conn.read(chunk);
      if (n === null) return false;
      const next = new Uint8Array(buffer.length + n);
      next.set(buffer);
      next.set(chunk.subarray(0, n), buffer.length);
      buffer = next;
      return true;
    };
    for (;;) {
      let end;
      while ((end = decoder.decode(buffer).indexOf("\r\n\r\n")) < 0) if (!(await more())) return;
      const head = decoder.decode(buffer.subarray(0, end));
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      while (buffer.length < end + 4 + length) if (!(await more())) return;
      const raw = buffer.slice(end + 4, end + 4 + length);
      const request = { conn: id, head, body: decoder.decode(raw), raw };
      buffer = buffer.slice(end + 4 + length);
      requests.push(request);
      const reply = await answer(request, conn);
      if (reply === null) return conn.close();
      for (const [i, part] of [reply].flat().entries()) {
        if (i > 0) await delay(20);
        await conn.write(typeof part === "string" ? bytes(part) : part);
      }
      if (/\r\nconnection: close\r\n/i.test(String([reply].flat()[0]))) return conn.close();
    }
  }
  const { port } = listener.addr;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    closed,
    conns,
    stop() {
      listener.close();
      for (const [id, conn] of conns.entries()) if (!closed.includes(id)) conn.close();
    },
  };
}

async function post(pool, url, body = "", headers = [["content-type", "text/plain"]]) {
  const [status, answer, location] = await poolPost(pool, url, headers, bytes(body));
  assertStrictEquals(location, null, "no redirect");
  return [status, decoder.decode(answer)];
}

function test(name, fn) {
  Deno.test(`[http1] ${name}`, async () => {
    const pool = createConnectionPool();
    assert(pool, "the pool exists in Deno when no proxy is configured");
    try {
      await fn(pool);
    } finally {
      closePool(pool);
    }
  });
}

test("sends the request line, Host, Content-Length and the given headers; reuses the connection", async (pool) => {
  const server = scriptedServer((r) => ok(`echo ${r.body}`));
  try {
    assertEquals(await post(pool, `${server.url}/v2/atomic_write?x=1`, "one", [["authorization", "Bearer t"]]), [200, "echo one"]);
    assertEquals(await post(pool, `${server.url}/v2/snapshot_read`, "two"), [200, "echo two"]);
    const [first, second] = server.requests;
    const lines = first.head.split("\r\n");
    assertStrictEquals(lines[0], "POST /v2/atomic_write?x=1 HTTP/1.1");
    assert(lines.includes(`host: 127.0.0.1:${server.port}`), first.head);
    assert(lines.includes("content-length: 3"), first.head);
    assert(lines.includes("authorization: Bearer t"), first.head);
    assertEquals([first.conn, second.conn], [0, 0], "one connection, reused");
  } finally {
    server.stop();
  }
});

test("reads chunked answers (extensions, trailers, split across writes) and reuses the connection", async (pool) => {
  const server = scriptedServer(() => [
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhel",
    "lo\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
  ]);
  try {
    assertEquals(await post(pool, server.url + "/a"), [200, "hello world"]);
    assertEquals(await post(pool, server.url + "/b"), [200, "hello world"]);
    assertEquals(server.requests.map((r) => r.conn), [0, 0]);
  } finally {
    server.stop();
  }
});

test("reads a body delimited by the connection's close, and then connects again", async (pool) => {
  const server = scriptedServer(() => ["HTTP/1.1 200 OK\r\nconnection: close\r\n\r\npart one, ", "part two"]);
  try {
    assertEquals(await post(pool, server.url + "/a"), [200, "part one, part two"]);
    assertEquals(await post(pool, server.url + "/b"), [200, "part one, part two"]);
    assertEquals(server.requests.map((r) => r.conn), [0, 1]);
  } finally {
    server.stop();
  }
});

test("honours Connection: close; skips interim 1xx answers; a head may arrive in pieces", async (pool) => {
  const server = scriptedServer((r) =>
    r.body === "close"
      ? "HTTP/1.1 404 Not Found\r\nConnection: close\r\ncontent-length: 4\r\n\r\nnope"
      : ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2", "01 Created\r\ncontent-", "length: 2\r\n\r\nok"]
  );
  try {
    assertEquals(await post(pool, server.url + "/a", "close"), [404, "nope"]);
    assertEquals(await post(pool, server.url + "/a", "interim"), [201, "ok"]);
    assertEquals(await post(pool, server.url + "/a", "again"), [201, "ok"]);
    assertEquals(server.requests.map((r) => r.conn), [0, 1, 1]);
  } finally {
    server.stop();
  }
});

test("a connection the server closed while idle is not reused: the next request succeeds, sent once", async (pool) => {
  const server = scriptedServer(ok.bind(null, "fine"));
  try {
    assertEquals(await post(pool, server.url + "/a"), [200, "fine"]);
    server.conns[0].close();
    await delay(50);
    assertEquals(await post(pool, server.url + "/a"), [200, "fine"]);
    assertEquals(server.requests.map((r) => r.conn), [0, 1], "one request per connection, none resent");
  } finally {
    server.stop();
  }
});

test("a request whose connection closes without an answer rejects and is not resent", async (pool) => {
  const server = scriptedServer((r) => (r.body === "drop" ? null : ok("fine")));
  try {
    assertEquals(await post(pool, server.url + "/a", "warm"), [200, "fine"]);
    let error;
    try {
      await post(pool, server.url + "/a", "drop");
    } catch (e) {
      error = e;
    }
    assert(error instanceof Error, "rejects");
    assert(/closed before the whole response arrived/.test(error.message), error.message);
    await delay(50);
    assertEquals(server.requests.map((r) => [r.conn, r.body]), [[0, "warm"], [0, "drop"]], "sent once, on the reused connection");
    assertEquals(await post(pool, server.url + "/a", "next"), [200, "fine"]);
  } finally {
    server.stop();
  }
});

test("an answer cut short rejects", async (pool) => {
  const server = scriptedServer((_, conn) => {
    conn.write(bytes("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort")).then(() => conn.close());
    return [];
  });
  try {
    let error;
    try {
      await post(pool, server.url + "/a");
    } catch (e) {
      error = e;
    }
    assert(error instanceof Error && /closed before/.test(error.message), String(error));
  } finally {
    server.stop();
  }
});

test("refuses header values with line breaks, before connecting", async (pool) => {
  let error;
  try {
    await poolPost(pool, "http://127.0.0.1:9/x", [["authorization", "Bearer a\r\nx-injected: 1"]], bytes(""));
  } catch (e) {
    error = e;
  }
  assert(error instanceof TypeError, String(error));
});

test("drops connections idle for 3 s; close() closes idle connections", async (pool) => {
  const server = scriptedServer(ok.bind(null, "fine"));
  try {
    await post(pool, server.url + "/a");
    await delay(3100);
    await post(pool, server.url + "/a");
    assertEquals(server.requests.map((r) => r.conn), [0, 1]);
    closePool(pool);
    await delay(50);
    assertEquals(server.closed.sort(), [0, 1]);
    let error;
    try {
      await post(pool, server.url + "/a");
    } catch (e) {
      error = e;
    }
    assert(error instanceof Error, "a closed pool sends nothing");
  } finally {
    server.stop();
  }
});

Deno.test("[http1] stands aside (fetch serves) where a proxy is set or the proxy variables cannot be read", async () => {
  const script = `import { createConnectionPool } from ${JSON.stringify(HTTP1)};
    console.log(createConnectionPool() === undefined ? "fetch" : "pool");`;
  const run = async (permissions, env) => {
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...permissions, `data:text/javascript,${encodeURIComponent(script)}`],
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(child.success, decoder.decode(child.stderr));
    return decoder.decode(child.stdout).trim();
  };
  const all = ["--allow-env", "--allow-net", `--allow-read`];
  assertStrictEquals(await run(all, {}), "pool");
  assertStrictEquals(await run(all, { HTTPS_PROXY: "http://127.0.0.1:9" }), "fetch");
  assertStrictEquals(await run(all, { http_proxy: "http://127.0.0.1:9" }), "fetch");
  assertStrictEquals(await run(["--allow-net", "--allow-read"], {}), "fetch", "no env permission: fetch, and no prompt");
});

// A metadata exchange answered with a redirect: http1.js hands the 307 back with its Location,
// and webkv's client follows it (same origin only) through the pool. The server forwards
// everything else to denokv.
Deno.test({
  name: "[http1] webkv: a same-origin redirected metadata exchange is followed through the pool",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { getServer, openWebkvRemote } = await import("./common.js");
    const denokv = await getServer();
    const server = scriptedServer(async (r) => {
      const [requestLine, ...fields] = r.head.split("\r\n");
      const path = requestLine.split(" ")[1];
      if (path === "/") return "HTTP/1.1 307 Temporary Redirect\r\nlocation: /kv/\r\ncontent-length: 0\r\n\r\n";
      const headers = fields.map((f) => f.split(/: (.*)/s).slice(0, 2))
        .filter(([name]) => /^(authorization|content-type|x-denokv-.*)$/i.test(name));
      const answer = await fetch(denokv.url + (path === "/kv/" ? "/" : path), { method: "POST", headers, body: r.raw });
      const body = new Uint8Array(await answer.arrayBuffer());
      const head = bytes(`HTTP/1.1 ${answer.status} X\r\ncontent-length: ${body.length}\r\n\r\n`);
      const out = new Uint8Array(head.length + body.length);
      out.set(head);
      out.set(body, head.length);
      return out;
    });
    try {
      const kv = await openWebkvRemote(server.url, denokv.token);
      try {
        await kv.set(["http1", "redirect"], "through");
        assertStrictEquals((await kv.get(["http1", "redirect"])).value, "through");
        await kv.delete(["http1", "redirect"]);
      } finally {
        kv.close();
      }
      const paths = server.requests.map((r) => r.head.split(" ")[1]);
      // the redirected request, then where it led, sent once each
      assertEquals(paths.slice(0, 2), ["/", "/kv/"]);
      assert(/\r\nauthorization: Bearer /i.test(server.requests[1].head), "the token went along, to the same origin");
      assert(paths.slice(2).every((p) => p.startsWith("/v2/")), paths.join(" "));
      assertStrictEquals(new Set(server.requests.map((r) => r.conn)).size, 1, "everything on one reused connection");
    } finally {
      server.stop();
      if (denokv.own) await denokv.stop();
    }
  },
});

// A redirect to another origin (another port) is not followed: openKv fails with a clear
// error, and the other server never sees a request, let alone the access token.
Deno.test({
  name: "[http1] webkv: a redirect to another origin is refused; the token never reaches it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { openWebkvRemote } = await import("./common.js");
    const other = scriptedServer(() => ok("{}"));
    const server = scriptedServer((r) =>
      r.head.startsWith("POST / ")
        ? `HTTP/1.1 307 Temporary Redirect\r\nlocation: ${other.url}/\r\ncontent-length: 0\r\n\r\n`
        : ok("unexpected")
    );
    try {
      let error;
      try {
        (await openWebkvRemote(server.url, "secret-access-token")).close();
      } catch (e) {
        error = e;
      }
      assert(error instanceof TypeError, `openKv rejects with a TypeError, got ${error}`);
      assertStrictEquals(
        error.message,
        `Could not open Deno KV database: '${server.url}/' redirected to '${other.url}/', another origin. ` +
          "webkv follows redirects only within an origin, so that no token is sent to another server: " +
          `open '${other.url}/' directly if you trust it`,
      );
      assertStrictEquals(server.requests.length, 1);
      assertStrictEquals(other.requests.length, 0, "the other origin was never contacted");
    } finally {
      server.stop();
      other.stop();
    }
  },
});

// Bodies over the request's limit are refused without being read: a Content-Length over it at
// once, chunked and until-close bodies as soon as they pass it. The connection is closed.
test("a body over maxBytes is refused, whatever its framing", async (pool) => {
  const big = "x".repeat(5000);
  const chunked = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${(3000).toString(16)}\r\n${"y".repeat(3000)}\r\n` +
    `${(3000).toString(16)}\r\n${"y".repeat(3000)}\r\n0\r\n\r\n`;
  const answers = [
    `HTTP/1.1 200 OK\r\ncontent-length: 4294967296\r\n\r\n`,
    ok(big),
    chunked,
    `HTTP/1.1 500 Oops\r\nconnection: close\r\n\r\n${big}`,
    `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffffff\r\n`,
  ];
  let i = 0;
  const server = scriptedServer(() => answers[i++]);
  try {
    const results = [];
    for (let n = 0; n < 4; n++) {
      const [status, body] = await poolPost(pool, `${server.url}/x`, [], bytes("q"), 4096);
      results.push([status, body]);
    }
    assertEquals(results, [[200, null], [200, null], [200, null], [500, null]]);
    let error;
    try {
      await poolPost(pool, `${server.url}/x`, [], bytes("q"), 4096);
    } catch (e) {
      error = e;
    }
    assert(/invalid chunked response/.test(error?.message), String(error));
    assertStrictEquals(new Set(server.requests.map((r) => r.conn)).size, 5, "each refused answer closed its connection");
  } finally {
    server.stop();
  }
});

test("interim answers are capped", async (pool) => {
  const server = scriptedServer(() => "HTTP/1.1 100 Continue\r\n\r\n".repeat(50) + ok("late"));
  try {
    let error;
    try {
      await poolPost(pool, `${server.url}/x`, [], bytes("q"));
    } catch (e) {
      error = e;
    }
    assert(/too many interim/.test(error?.message), String(error));
  } finally {
    server.stop();
  }
});

test("a request with no whole answer within timeoutMs is rejected", async (pool) => {
  const server = scriptedServer(() => new Promise(() => {}));
  try {
    const t0 = Date.now();
    let error;
    try {
      await poolPost(pool, `${server.url}/x`, [], bytes("q"), 1000, 300);
    } catch (e) {
      error = e;
    }
    assertStrictEquals(error?.message, "no answer within 300 ms");
    assert(Date.now() - t0 < 2000);
  } finally {
    server.stop();
  }
});

// https: a CA and a certificate for localhost made with openssl (which scripts/setup.sh needs
// too, so it is no optional tool), trusted by a child Deno through DENO_CERT; the server checks
// that the client offered ALPN http/1.1.
Deno.test({
  name: "[http1] https through Deno.connectTls, ALPN http/1.1",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const run = async (...args) => {
        const r = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
        if (!r.success) throw new Error(`openssl ${args[0]}: ${decoder.decode(r.stderr)}`);
      };
      await run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=webkv test CA");
      await run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=localhost");
      await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost\n");
      await run("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "1", "-extfile", "ext.cnf");
      const listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(`${dir}/cert.pem`),
        key: await Deno.readTextFile(`${dir}/key.pem`),
        alpnProtocols: ["http/1.1"],
      });
      const alpn = [];
      const server = scriptedServer(async (r, conn) => {
        alpn.push((await conn.handshake()).alpnProtocol);
        return ok(`tls ${r.body}`);
      }, { listener });
      try {
        const script = `
          import { createConnectionPool, poolPost, closePool } from ${JSON.stringify(HTTP1)};
          const pool = createConnectionPool();
          const url = "https://localhost:${server.port}/v2/x";
          const answers = [];
          for (const body of ["a", "b"]) {
            const [status, answer] = await poolPost(pool, url, [], new TextEncoder().encode(body));
            answers.push(status + " " + new TextDecoder().decode(answer));
          }
          closePool(pool);
          console.log(JSON.stringify(answers));`;
        const child = await new Deno.Command(Deno.execPath(), {
          args: ["eval", "--quiet", script],
          env: { DENO_CERT: `${dir}/ca.pem`, NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(child.success, decoder.decode(child.stderr));
        assertEquals(JSON.parse(decoder.decode(child.stdout)), ["200 tls a", "200 tls b"]);
        assertEquals(alpn, ["http/1.1", "http/1.1"]);
        assertEquals(server.requests.map((r) => r.conn), [0, 0], "reused");
      } finally {
        server.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
