// webkv's KV Connect client against hostile or broken servers (hostile_server.mjs): each case
// serves one bad answer, and the client must fail with a catchable error, never trap (a wasm
// `unreachable` kills the process), spin, or grow its memory without bound. Shared by
// hostile.test.mjs (Node: fetch) and hostile_deno.test.js (Deno: http1.js and fetch); each
// runner checks afterwards that the process is alive, that wasm memory stayed small and that a
// fresh openKv(":memory:") works.
//
// A case: { name, server(request) => reply (see hostile_server.mjs), run(t) }, where t holds
// { webkv, server, open(), expectOpenError(re), expectError(promise, re), runtime }.

import assert from "node:assert/strict";
import {
  endless,
  entry,
  http,
  lengthPrefix,
  metadata,
  readOutput,
  startHostileServer,
  stream,
  stringKey,
  watchFrame,
  withMetadata,
  writeOutput,
} from "./hostile_server.mjs";

const TOKEN = "hostile-test-token";
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const GiB = 2 ** 30;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Awaits `promise`, which must reject with an Error whose message matches `re`. */
async function expectError(promise, re, what = "the call") {
  let error;
  try {
    const value = await withTimeout(promise, 15_000, what);
    assert.fail(`${what} resolved with ${String(value)}, expected an error matching ${re}`);
  } catch (e) {
    error = e;
  }
  if (error?.code === "ERR_ASSERTION") throw error;
  assert.ok(error instanceof Error, `${what} rejects with an Error, got ${String(error)}`);
  assert.match(error.message, re, `${what}'s error`);
  return error;
}

/** Reads a watch's first result: its error must match `re`. */
function expectWatchError(kv, keys, re) {
  const reader = kv.watch(keys).getReader();
  return expectError(reader.read(), re, "the watch");
}

async function collect(iterator) {
  const out = [];
  for await (const item of iterator) out.push(item);
  return out;
}

const data = (status, body) => withMetadata(() => http(status, body));
const getA = (kv) => kv.get(["a"]);

export const cases = [
  // ------------------------------------------------------------ metadata exchange
  {
    name: "metadata: not UTF-8, not JSON",
    server: () => http(200, Uint8Array.of(0xff, 0xfe, 0x00, 0x7b)),
    run: (t) => t.expectOpenError(/^Invalid KV Connect metadata/),
  },
  {
    name: "metadata: a version number too large for u64",
    server: () => http(200, metadata().replace('"version":3', '"version":184467440737095516160')),
    run: (t) => t.expectOpenError(/Invalid KV Connect metadata/),
  },
  {
    name: "metadata: an unknown version",
    server: () => http(200, metadata({ version: 4294967297 })),
    run: (t) => t.expectOpenError(/unsupported protocol version 4294967297/),
  },
  {
    name: "metadata: expiresAt that is no date",
    server: () => http(200, metadata({ expiresAt: "9".repeat(100) })),
    run: (t) => t.expectOpenError(/bad expiresAt/),
  },
  {
    name: "metadata: no endpoints",
    server: () => http(200, metadata({ endpoints: [] })),
    run: (t) => t.expectOpenError(/no strongly consistent endpoint/),
  },
  {
    name: "metadata: an endpoint that is not http(s)",
    server: () => http(200, metadata({ endpoints: [{ url: "javascript:alert(1)", consistency: "strong" }] })),
    run: (t) => t.expectOpenError(/bad endpoint URL/),
  },
  {
    name: "metadata: a token that would inject a header",
    server: () => http(200, metadata({ token: "t\r\nx-injected: 1" })),
    run: (t) => t.expectOpenError(/token is not printable ASCII/),
  },
  {
    name: "metadata: Content-Length of 4 GiB",
    server: () => `HTTP/1.1 200 OK\r\ncontent-length: ${4 * GiB}\r\n\r\n{`,
    run: (t) => t.expectOpenError(/larger than 262144 bytes/),
  },
  {
    name: "metadata: an endless chunked body",
    server: () => endless("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n100000\r\n"),
    run: (t) => t.expectOpenError(/larger than 262144 bytes|invalid chunked/),
  },
  {
    name: "metadata: an endless body until close",
    server: () => endless("HTTP/1.1 401 Unauthorized\r\n\r\n"),
    run: (t) => t.expectOpenError(/larger than 262144 bytes/),
  },
  {
    name: "metadata: 204 No Content",
    server: () => http(204),
    run: (t) => t.expectOpenError(/unexpected status 204/),
  },
  {
    name: "metadata: a redirect without a Location",
    server: () => http(307),
    run: (t) => t.expectOpenError(/without a Location/),
  },
  {
    name: "metadata: a redirect loop",
    server: () => http(307, "", { location: "/" }),
    run: async (t) => {
      await t.expectOpenError(/redirected more than 10 times/);
      assert.equal(t.server.requests.length, 11);
    },
  },
  {
    name: "metadata: 503 forever fails openKv after 4 attempts, within 2 s",
    server: () => http(503, "down for maintenance"),
    run: async (t) => {
      const t0 = Date.now();
      const error = await t.expectOpenError(
        /^Could not open Deno KV database: the metadata endpoint at 'http:\/\/127\.0\.0\.1:\d+\/' responded with status 503 Service Unavailable: down for maintenance$/,
      );
      assert.ok(error instanceof TypeError);
      assert.equal(t.server.requests.length, 4);
      assert.ok(Date.now() - t0 < 2500, `${Date.now() - t0} ms`);
    },
  },
  {
    name: "metadata: a 4xx with a megabyte of text",
    server: () => http(400, "x".repeat(1 << 20)),
    run: (t) => t.expectOpenError(/larger than 262144 bytes/),
  },

  // ------------------------------------------------------------ snapshot_read
  {
    name: "read: Content-Length of 4 GiB",
    server: withMetadata(() => `HTTP/1.1 200 OK\r\ncontent-length: ${4 * GiB}\r\n\r\n`),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /larger than \d+ bytes/);
      kv.close();
    },
  },
  {
    name: "read: an endless body until close",
    server: withMetadata(() => endless("HTTP/1.1 200 OK\r\n\r\n")),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /larger than \d+ bytes/);
      kv.close();
    },
  },
  {
    name: "read: not protobuf",
    server: data(200, Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01)),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /Invalid KV Connect response/);
      kv.close();
    },
  },
  {
    name: "read: more ranges than asked",
    server: data(200, readOutput([[], []])),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /more ranges than asked for/);
      kv.close();
    },
  },
  {
    name: "read: an entry for a key not asked",
    server: data(200, readOutput([[entry({ key: stringKey("b") })]])),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /outside the range asked for/);
      kv.close();
    },
  },
  {
    name: "read: a 9-byte versionstamp",
    server: data(200, readOutput([[entry({ key: stringKey("a"), versionstamp: [1, 2, 3, 4, 5, 6, 7, 8, 9] })]])),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /versionstamp is not 10 bytes/);
      kv.close();
    },
  },
  {
    name: "read: an unknown value encoding",
    server: data(200, readOutput([[entry({ key: stringKey("a"), encoding: 4294967295 })]])),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /unknown value encoding/);
      kv.close();
    },
  },
  {
    name: "read: an unknown status",
    server: data(200, readOutput([[]], 77)),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /unknown snapshot read status/);
      kv.close();
    },
  },
  {
    name: "read: a V8 value with a 4 GiB string length",
    server: data(200, readOutput([[entry({ key: stringKey("a"), encoding: 1, value: [0xff, 0x0f, 0x22, 0xff, 0xff, 0xff, 0xff, 0x0f] })]])),
    run: async (t) => {
      const kv = await t.open();
      // Deno's error for stored bytes that do not deserialize.
      const error = await expectError(getA(kv), /^could not deserialize value$/);
      assert.equal(error.name, "RangeError");
      kv.close();
    },
  },
  {
    name: "list: 100,000 empty entries in a 200 KB answer",
    server: data(200, readOutput([Array.from({ length: 100_000 }, () => new Uint8Array(0))])),
    run: async (t) => {
      const kv = await t.open();
      await expectError(collect(kv.list({ prefix: [] }, { batchSize: 1000 })), /more entries than asked for/);
      kv.close();
    },
  },
  {
    name: "list: batches that do not move forward",
    server: withMetadata(() =>
      http(200, readOutput([[entry({ key: stringKey("b") }), entry({ key: stringKey("a") })]]))),
    run: async (t) => {
      const kv = await t.open();
      await expectError(collect(kv.list({ prefix: [] }, { batchSize: 2 })), /out of order/);
      kv.close();
    },
  },
  {
    name: "read: a redirect to another origin",
    server: withMetadata(() => http(307, "", { location: "http://127.0.0.2:9/v2/snapshot_read" })),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /another origin/);
      kv.close();
    },
  },
  {
    name: "read: 204 No Content",
    server: data(204, ""),
    run: async (t) => {
      const kv = await t.open();
      await expectError(getA(kv), /unexpected status 204/);
      assert.equal(t.server.count("/v2/snapshot_read"), 1, "not retried");
      kv.close();
    },
  },

  // ------------------------------------------------------------ atomic_write
  {
    name: "commit: a megabyte answer",
    server: data(200, new Uint8Array(1 << 20)),
    run: async (t) => {
      const kv = await t.open();
      await expectError(kv.set(["a"], 1), /larger than 65536 bytes/);
      kv.close();
    },
  },
  {
    name: "commit: a 4xx with an endless chunked body",
    server: withMetadata(() => endless("HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n100000\r\n")),
    run: async (t) => {
      const kv = await t.open();
      await expectError(kv.set(["a"], 1), /larger than 65536 bytes|invalid chunked/);
      kv.close();
    },
  },
  {
    name: "commit: an 11-byte versionstamp",
    server: data(200, writeOutput(1, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
    run: async (t) => {
      const kv = await t.open();
      await expectError(kv.set(["a"], 1), /versionstamp is not 10 bytes/);
      kv.close();
    },
  },
  {
    name: "commit: an unknown status",
    server: data(200, writeOutput(99)),
    run: async (t) => {
      const kv = await t.open();
      await expectError(kv.set(["a"], 1), /unspecified reason/);
      kv.close();
    },
  },

  // ------------------------------------------------------------ watch
  ...[0xffffffff, 0xfffffffe, 0xfffffffd, 0xfffffffc, 0xfffffffb, 0x80000000, 0x100001].map((n) => ({
    name: `watch: a frame declaring ${n} bytes`,
    server: withMetadata(() => stream([lengthPrefix(n), new Uint8Array(64)])),
    run: async (t) => {
      const kv = await t.open();
      await expectWatchError(kv, [["a"]], new RegExp(`a watch frame of ${n} bytes \\(the limit is 1048576\\)`));
      kv.close();
    },
  })),
  {
    // The old client trapped on each of these; after 2,113 traps even :memory: databases failed.
    name: "watch: 2,500 watches answered with 0xFFFFFFFC frames leave the client working",
    server: withMetadata(() => stream([lengthPrefix(0xfffffffc)])),
    run: async (t) => {
      const kv = await t.open();
      const before = t.webkv.wasmMemoryBytes();
      for (let batch = 0; batch < 50; batch++) {
        await Promise.all(Array.from({ length: 50 }, () => expectWatchError(kv, [["a"]], /a watch frame of 4294967292 bytes/)));
      }
      kv.close();
      assert.equal(t.server.count("/v2/watch"), 2500);
      const memory = await t.webkv.openKv(":memory:");
      await memory.set(["k"], 1);
      assert.equal((await memory.get(["k"])).value, 1);
      memory.close();
      const grown = t.webkv.wasmMemoryBytes() - before;
      console.log(`  2,500 oversized frames: wasm memory grew by ${grown} bytes`);
      assert.ok(grown < 16 * 2 ** 20, `wasm memory grew by ${grown} bytes`);
    },
  },
  {
    name: "watch: a frame declaring 1.5 GiB, followed by 1.5 GiB",
    server: withMetadata(() => endless(
      "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + String.fromCharCode(...lengthPrefix(1.5 * GiB)),
      1.5 * GiB,
    )),
    run: async (t) => {
      const kv = await t.open();
      await expectWatchError(kv, [["a"]], /a watch frame of 1610612736 bytes/);
      kv.close();
      console.log(`  1.5 GiB frame: wasm memory ${t.webkv.wasmMemoryBytes()} bytes`);
      assert.ok(t.webkv.wasmMemoryBytes() < 64 * 2 ** 20, `wasm memory ${t.webkv.wasmMemoryBytes()} bytes`);
    },
  },
  {
    name: "watch: a frame for a key not watched",
    server: withMetadata(() => stream([watchFrame([{ entry: entry({ key: stringKey("b") }) }])])),
    run: async (t) => {
      const kv = await t.open();
      await expectWatchError(kv, [["a"]], /a watch entry for a key not watched/);
      kv.close();
    },
  },
  {
    name: "watch: a frame for more keys than watched",
    server: withMetadata(() => stream([watchFrame([{ changed: false }, { changed: false }])])),
    run: async (t) => {
      const kv = await t.open();
      await expectWatchError(kv, [["a"]], /more watched keys than asked for/);
      kv.close();
    },
  },
  {
    name: "watch: 200 with an empty body, again and again: reopened with backoff",
    server: withMetadata(() => http(200, "")),
    run: async (t) => {
      const kv = await t.open();
      const reader = kv.watch([["a"]]).getReader();
      let settled = false;
      reader.read().then(() => (settled = true), () => (settled = true));
      await delay(3000);
      const watches = t.server.count("/v2/watch");
      // 0.1-0.2 s, 0.2-0.4 s, 0.4-0.8 s, 0.8-1.6 s... between opens: at most 5 in 3 s
      // (it was thousands a second).
      console.log(`  empty watch streams: ${watches} requests in 3 s`);
      assert.ok(watches >= 2 && watches <= 6, `${watches} watch requests in 3 s`);
      assert.equal(settled, false, "still watching");
      kv.close();
      await withTimeout(reader.closed, 2000, "the watch to end on close");
    },
  },
  {
    name: "watch: a stream that delivers one frame and ends, again and again",
    server: withMetadata(() => stream([watchFrame([{ entry: entry({ key: stringKey("a") }) }])])),
    run: async (t) => {
      const kv = await t.open();
      const reader = kv.watch([["a"]], { raw: true }).getReader();
      const t0 = Date.now();
      let reads = 0;
      while (Date.now() - t0 < 1000) {
        await withTimeout(reader.read(), 2000, "an update");
        reads++;
      }
      console.log(`  one-frame watch streams: ${reads} updates, ${t.server.count("/v2/watch")} requests in 1 s`);
      // the base wait (50-100 ms) between streams: at most ~20 a second
      assert.ok(reads >= 3 && reads <= 22, `${reads} updates in 1 s`);
      assert.ok(t.server.count("/v2/watch") <= 22, `${t.server.count("/v2/watch")} watch requests`);
      kv.close();
    },
  },
  {
    name: "watch: a redirect to another origin",
    server: withMetadata(() => http(308, "", { location: "http://127.0.0.2:9/v2/watch" })),
    run: async (t) => {
      const kv = await t.open();
      await expectWatchError(kv, [["a"]], /another origin/);
      kv.close();
    },
  },
  {
    name: "watch([]) asks the server nothing, never emits, and ends on close",
    server: withMetadata(() => null),
    run: async (t) => {
      const kv = await t.open();
      const reader = kv.watch([]).getReader();
      let settled = false;
      const read = reader.read().then((r) => ((settled = true), r));
      await delay(300);
      assert.equal(settled, false);
      kv.close();
      assert.deepEqual({ ...(await withTimeout(read, 2000, "the end of watch([])")) }, { done: true, value: undefined });
      assert.equal(t.server.count("/v2/watch"), 0);
    },
  },
  {
    name: "listenQueue never delivers and settles on close()",
    server: withMetadata(() => null),
    run: async (t) => {
      const kv = await t.open();
      let settled = false;
      const listening = kv.listenQueue(() => assert.fail("delivered")).finally(() => (settled = true));
      await delay(200);
      assert.equal(settled, false);
      kv.close();
      assert.equal(await withTimeout(listening, 2000, "listenQueue to settle"), undefined);
    },
  },
];

/**
 * Runs one case: starts its server, gives `run` the helpers, stops the server.
 * `webkv` is the package (pkg/node.js or pkg/deno.js).
 */
export async function runCase(webkv, c, runtime) {
  const server = await startHostileServer(c.server);
  const open = () => withTimeout(webkv.openKv(server.url, { accessToken: TOKEN }), 15_000, "openKv");
  try {
    await c.run({
      webkv,
      server,
      runtime,
      open,
      expectOpenError: (re) => expectError(open(), re, "openKv"),
    });
  } finally {
    await server.stop();
  }
}

/** An unreachable server: openKv fails at once with Deno's TypeError. */
export async function unreachable(webkv, runtime) {
  const server = await startHostileServer(() => null);
  const url = server.url;
  await server.stop(); // nothing listens there now
  const t0 = Date.now();
  const error = await expectError(
    webkv.openKv(url, { accessToken: TOKEN }),
    new RegExp(`^Could not open Deno KV database: failed to connect to '${url}/': .*(ECONNREFUSED|Connection refused)`),
    "openKv of a closed port",
  );
  assert.equal(error.constructor, TypeError);
  const ms = Date.now() - t0;
  assert.ok(ms < 1000, `failed in ${ms} ms`);
  return { ms, message: error.message, runtime };
}

/** What every runner checks last: the process and the wasm instance still work. */
export async function stillWorks(webkv) {
  const kv = await webkv.openKv(":memory:");
  await kv.set(["after"], "all the hostile servers");
  assert.equal((await kv.get(["after"])).value, "all the hostile servers");
  kv.close();
  return webkv.wasmMemoryBytes();
}
