// A hostile (or broken) KV Connect server for tests, on raw TCP so that it can answer
// anything: bad framing, lying Content-Lengths, endless bodies, redirects, streams that end at
// once. Runs in Node and in Deno (node:net).
//
//   const server = await startHostileServer((request) => reply);
//   server.url            // "http://127.0.0.1:PORT"
//   server.requests       // every request: { method, path, headers (lowercase names), body, at }
//   await server.stop();
//
// `reply` for a request is:
//   - a string or Uint8Array: written as is, then the connection is closed;
//   - a function (socket, request) => Promise: it writes (and ends) the socket itself;
//   - null: the connection is closed without an answer.
// Helpers below build the usual answers and KV Connect's protobuf messages.
//
// Binds only to 127.0.0.1; stop() destroys every connection.

import net from "node:net";
import { Buffer } from "node:buffer";

export async function startHostileServer(reply) {
  const requests = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    let busy = false;
    socket.on("data", async (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (busy) return;
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [requestLine, ...lines] = buffer.subarray(0, end).toString("latin1").split("\r\n");
      const headers = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (buffer.length < end + 4 + length) return;
      busy = true;
      const [method, path] = requestLine.split(" ");
      const request = { method, path, headers, body: new Uint8Array(buffer.subarray(end + 4, end + 4 + length)), at: Date.now() };
      requests.push(request);
      let answer;
      try {
        answer = await reply(request);
      } catch (error) {
        answer = http(500, `hostile server: ${error?.message ?? error}`);
      }
      if (answer === null) return socket.destroy();
      if (typeof answer === "function") {
        try {
          await answer(socket, request);
        } catch {
          socket.destroy();
        }
        return;
      }
      socket.end(typeof answer === "string" ? Buffer.from(answer, "latin1") : answer);
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const encoder = new TextEncoder();

/** A whole HTTP/1.1 answer that closes the connection. */
export function http(status, body = "", headers = {}) {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  let head = `HTTP/1.1 ${status} X\r\nconnection: close\r\n`;
  if (!("content-length" in headers)) head += `content-length: ${bytes.length}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(head + "\r\n", "latin1"), Buffer.from(bytes)]);
}

/** denokv's metadata answer (version 3, endpoint /v2), with `fields` replacing its own. */
export function metadata(fields = {}) {
  return JSON.stringify({
    version: 3,
    databaseId: "00000000-0000-0000-0000-000000000000",
    endpoints: [{ url: "/v2", consistency: "strong" }],
    token: "data-path-token",
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    ...fields,
  });
}

/** A server that answers the metadata exchange normally and the data path with `data(request)`. */
export function withMetadata(data, fields = {}) {
  return (request) => (request.path === "/" ? http(200, metadata(fields), { "content-type": "application/json" }) : data(request));
}

/**
 * Writes `head`, then `total` bytes of zeros in 1 MiB chunks (stops when the client goes).
 * HOSTILE_MAX_BYTES caps `total`, to run the cases safely against an old build that buffers
 * whatever it gets.
 */
export function endless(head, total = Infinity) {
  total = Math.min(total, Number(globalThis.process?.env?.HOSTILE_MAX_BYTES) || Infinity);
  return async (socket) => {
    socket.write(Buffer.from(head, "latin1"));
    const chunk = Buffer.alloc(1 << 20);
    for (let sent = 0; sent < total && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((resolve) => { socket.once("drain", resolve); socket.once("close", resolve); });
    }
    socket.end();
  };
}

/** A 200 watch stream: writes each part of `parts` (with `gapMs` between), then ends it. */
export function stream(parts, { gapMs = 0, keepOpen = false } = {}) {
  return async (socket) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n");
    for (const part of parts) {
      if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (socket.destroyed) return;
      socket.write(part);
    }
    if (!keepOpen) socket.end();
  };
}

// ---------------------------------------------------------------- protobuf

function varint(n) {
  let v = BigInt(n);
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

const concat = (parts) => Uint8Array.from(parts.flatMap((p) => [...p]));
const bytesField = (n, bytes) => concat([varint((n << 3) | 2), varint(bytes.length), bytes]);
const intField = (n, value) => concat([varint(n << 3), varint(value)]);

/** A KvEntry: key bytes, value bytes, encoding (1 V8, 2 LE64, 3 bytes), 10-byte versionstamp. */
export function entry({ key, value = [1], encoding = 3, versionstamp = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0] }) {
  return concat([bytesField(1, key), bytesField(2, value), intField(3, encoding), bytesField(4, versionstamp)]);
}

/** A SnapshotReadOutput: `ranges` is an array of arrays of encoded entries. */
export function readOutput(ranges, status = 1) {
  return concat([...ranges.map((values) => bytesField(1, concat(values.map((v) => bytesField(1, v))))), intField(8, status)]);
}

/** An AtomicWriteOutput. */
export function writeOutput(status = 1, versionstamp = [0, 0, 0, 0, 0, 0, 0, 2, 0, 0]) {
  return concat([intField(1, status), bytesField(2, versionstamp)]);
}

/** A WatchOutput frame (length prefix included): `keys` of { changed, entry }. */
export function watchFrame(keys, status = 1) {
  const body = concat([intField(1, status), ...keys.map(({ changed = true, entry: e }) =>
    bytesField(2, concat([intField(1, changed ? 1 : 0), ...(e ? [bytesField(2, e)] : [])])))]);
  return concat([lengthPrefix(body.length), body]);
}

/** A watch frame header declaring `n` bytes. */
export function lengthPrefix(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** The encoded key of ["a"], ["b"]...: webkv's (denokv's) tuple encoding of one string. */
export const stringKey = (s) => Uint8Array.from([0x02, ...encoder.encode(s), 0x00]);
