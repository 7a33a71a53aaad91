// KV Connect's HTTP client in Deno: HTTP/1.1 on Deno.connect / connectTls.
//
// Deno's fetch silently resends a POST when a reused keep-alive connection
// closes before the answer, which could apply a commit twice; sending every
// commit on a fresh connection avoids that but costs a handshake each. This
// client never resends anything: a request whose connection fails rejects,
// and webkv's remote client decides (reads are retried, commits never). It
// reuses keep-alive connections, keeps a read pending on each idle one so a
// connection the server closed is dropped before it is reused, and drops
// connections idle for IDLE_MS (servers often close theirs after 5 s). It
// follows no redirects (the client follows same-origin ones itself, through
// this pool too) and speaks to no proxy: the transport uses fetch where a
// proxy may be configured.
//
// The server is not trusted: an answer body longer than the request's
// `maxBytes` is refused (a Content-Length over it before any of the body is
// read, chunked or until-close bodies as soon as they pass it), so a hostile
// server cannot make it buffer gigabytes; heads are capped at 64 KiB and
// interim (1xx) answers at MAX_INTERIM.

const IDLE_MS = 3000;
const MAX_IDLE_PER_ORIGIN = 8;
const READ_SIZE = 65536;
const MAX_INTERIM = 8;
const EMPTY = new Uint8Array(0);
let latin1; // a TextDecoder, made in Deno only: not every runtime has latin1
const STATUS = /^HTTP\/1\.(\d) (\d{3})/;
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*([^\r]*)/i;
const TRANSFER_ENCODING = /\r\ntransfer-encoding:[ \t]*([^\r]*)/i;
const CONNECTION = /\r\nconnection:[ \t]*([^\r]*)/i;
const LOCATION = /\r\nlocation:[ \t]*([^\r]*)/i;
const encoder = new TextEncoder();

/** A pool of connections, or undefined where fetch must do the job. */
export function createConnectionPool() {
  const deno = globalThis.Deno;
  if (typeof deno?.connect !== "function" || typeof deno.connectTls !== "function") return undefined;
  if (proxyMayBeSet(deno)) return undefined;
  latin1 ??= new TextDecoder("latin1");
  return new Pool(deno);
}

// Deno's fetch honours these variables. One that cannot be read without
// asking for a permission may be set too.
function proxyMayBeSet(deno) {
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]) {
    for (const variable of [name, name.toLowerCase()]) {
      try {
        if (deno.permissions.querySync({ name: "env", variable }).state !== "granted") return true;
        if (deno.env.get(variable)) return true;
      } catch {
        return true;
      }
    }
  }
  return false;
}

/**
 * A POST: [status, body, location], or a rejection when no whole answer came
 * (within `timeoutMs`, if not 0). `body` is null when the answer's body is
 * longer than `maxBytes`; `location` is a redirect's Location header.
 */
export function poolPost(pool, url, headers, body, maxBytes = Infinity, timeoutMs = 0) {
  return pool.post(url, headers, body, maxBytes, timeoutMs);
}

/** Thrown when an answer's body is longer than the request allows. */
class TooLarge extends Error {}

export function closePool(pool) {
  pool.close();
}

class Pool {
  #deno;
  #idle = new Map(); // origin -> idle connections, the most recently used last
  #closed = false;
  #sweep = 0;

  constructor(deno) {
    this.#deno = deno;
  }

  async post(url, headers, body, maxBytes = Infinity, timeoutMs = 0) {
    const target = new URL(url);
    let head = `POST ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n` +
      `user-agent: Deno/${this.#deno.version?.deno}\r\ncontent-length: ${body.length}\r\n`;
    for (const [name, value] of headers) {
      if (/[\r\n]/.test(value)) throw new TypeError(`Invalid value for the ${name} header`);
      head += `${name}: ${value}\r\n`;
    }
    const headBytes = encoder.encode(head + "\r\n");
    // `body` is a view into wasm memory: copy it before the first await.
    const message = new Uint8Array(headBytes.length + body.length);
    message.set(headBytes);
    message.set(body, headBytes.length);

    let conn = this.#take(target.origin);
    let timer;
    let timedOut = false;
    let expire;
    const expired = new Promise((_, reject) => (expire = reject));
    expired.catch(() => {});
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        conn?.close();
        expire(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    try {
      if (!conn) {
        const connecting = this.#connect(target);
        connecting.then((late) => timedOut && late.close(), () => {});
        conn = await Promise.race([connecting, expired]);
      }
      for (let written = 0; written < message.length;) {
        written += await conn.socket.write(message.subarray(written));
      }
      const [status, responseBody, reusable, location] = await conn.response(maxBytes);
      if (reusable) this.#release(target.origin, conn);
      else conn.close();
      return [status, responseBody, location];
    } catch (error) {
      conn?.close();
      if (error instanceof TooLarge) return [error.status, null, null];
      if (timedOut) throw new Error(`no answer within ${timeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#sweep);
    for (const idle of this.#idle.values()) for (const conn of idle) conn.close();
    this.#idle.clear();
  }

  async #connect(target) {
    if (this.#closed) throw new Error("the database is closed");
    const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
    const socket = target.protocol === "https:"
      ? await this.#deno.connectTls({ hostname, port: Number(target.port || 443), alpnProtocols: ["http/1.1"] })
      : await this.#deno.connect({ hostname, port: Number(target.port || 80) });
    socket.setNoDelay?.(true);
    return new Connection(socket);
  }

  #take(origin) {
    const idle = this.#idle.get(origin);
    while (idle?.length) {
      const conn = idle.pop();
      conn.idle = false;
      if (Date.now() - conn.idleSince < IDLE_MS) {
        conn.socket.ref?.();
        return conn;
      }
      conn.close();
    }
    return undefined;
  }

  #release(origin, conn) {
    let idle = this.#idle.get(origin);
    if (!idle) this.#idle.set(origin, idle = []);
    if (this.#closed || idle.length >= MAX_IDLE_PER_ORIGIN) return conn.close();
    conn.idle = true;
    conn.idleSince = Date.now();
    // An idle connection's pending read keeps no process alive.
    conn.socket.unref?.();
    idle.push(conn);
    // Anything the server sends on an idle connection (its close, mostly)
    // ends it.
    const pending = conn.pending;
    pending.then(() => {
      if (!conn.idle || conn.pending !== pending) return;
      idle.splice(idle.indexOf(conn), 1);
      conn.close();
    });
    if (!this.#sweep) {
      this.#sweep = setTimeout(() => this.#dropStale(), IDLE_MS);
      this.#deno.unrefTimer?.(this.#sweep);
    }
  }

  #dropStale() {
    this.#sweep = 0;
    const now = Date.now();
    for (const idle of this.#idle.values()) {
      while (idle.length && now - idle[0].idleSince >= IDLE_MS) idle.shift().close();
    }
    if ([...this.#idle.values()].some((idle) => idle.length)) {
      this.#sweep = setTimeout(() => this.#dropStale(), IDLE_MS);
      this.#deno.unrefTimer?.(this.#sweep);
    }
  }
}

class Connection {
  idle = false;
  idleSince = 0;
  #buffer = EMPTY; // received, not yet parsed: #buffer[#at..]
  #at = 0;
  #chunk = new Uint8Array(READ_SIZE);

  constructor(socket) {
    this.socket = socket;
    this.#read();
  }

  // A read is always pending; it settles to bytes, null at the end, or an
  // error.
  #read() {
    this.pending = this.socket.read(this.#chunk).then(
      (n) => (n === null ? null : this.#chunk.slice(0, n)),
      (error) => error,
    );
  }

  async #more() {
    const chunk = await this.pending;
    if (chunk === null || chunk instanceof Error) {
      throw new Error(`the connection closed before the whole response arrived${chunk ? `: ${chunk.message}` : ""}`);
    }
    this.#read();
    this.#buffer = this.#at === this.#buffer.length ? chunk : concat([this.#buffer.subarray(this.#at), chunk]);
    this.#at = 0;
  }

  async #line() {
    for (;;) {
      const end = this.#buffer.indexOf(10, this.#at);
      if (end >= 0) {
        const line = latin1.decode(this.#buffer.subarray(this.#at, end));
        this.#at = end + 1;
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
      if (this.#buffer.length - this.#at > 65536) throw new Error("response header line too long");
      await this.#more();
    }
  }

  async #bytes(n) {
    if (this.#buffer.length - this.#at >= n) return this.#buffer.subarray(this.#at, this.#at += n);
    const out = new Uint8Array(n);
    for (let filled = 0;;) {
      const part = this.#buffer.subarray(this.#at, this.#at + n - filled);
      out.set(part, filled);
      filled += part.length;
      this.#at += part.length;
      if (filled === n) return out;
      await this.#more();
    }
  }

  // A response's head, without the blank line that ends it.
  async #head() {
    for (let from = this.#at;;) {
      const end = this.#buffer.indexOf(13, from);
      if (end < 0 || end + 3 >= this.#buffer.length) {
        if (this.#buffer.length - this.#at > 65536) throw new Error("response head too large");
        await this.#more();
        from = this.#at;
      } else if (this.#buffer[end + 1] === 10 && this.#buffer[end + 2] === 13 && this.#buffer[end + 3] === 10) {
        const head = latin1.decode(this.#buffer.subarray(this.#at, end));
        this.#at = end + 4;
        return head;
      } else from = end + 1;
    }
  }

  /**
   * The next response: [status, body, whether the connection can be reused,
   * Location]. Throws TooLarge (with the status) for a body over `maxBytes`.
   */
  async response(maxBytes = Infinity) {
    let head;
    for (let interim = 0;; interim++) {
      head = await this.#head();
      if (!/^HTTP\/1\.\d 1\d\d/.test(head)) break;
      if (interim >= MAX_INTERIM) throw new Error("too many interim (1xx) responses");
    }
    const match = STATUS.exec(head);
    if (!match) throw new Error(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    const status = Number(match[2]);
    const length = CONTENT_LENGTH.exec(head)?.[1].trim();
    const tooLarge = () => Object.assign(new TooLarge(`the answer is longer than ${maxBytes} bytes`), { status });
    let body, framed = true;
    if (status === 204 || status === 304) body = EMPTY;
    else if (/chunked/i.test(TRANSFER_ENCODING.exec(head)?.[1] ?? "")) body = await this.#chunked(maxBytes, tooLarge);
    else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error(`invalid content-length ${JSON.stringify(length)}`);
      if (Number(length) > maxBytes) throw tooLarge();
      body = await this.#bytes(Number(length));
    } else {
      body = await this.#untilClose(maxBytes, tooLarge);
      framed = false;
    }
    const reusable = framed && match[1] === "1" && !/close/i.test(CONNECTION.exec(head)?.[1] ?? "") &&
      this.#at === this.#buffer.length;
    return [status, body, reusable, LOCATION.exec(head)?.[1].trim() ?? null];
  }

  async #chunked(maxBytes, tooLarge) {
    const parts = [];
    let total = 0;
    for (;;) {
      const line = (await this.#line()).split(";")[0].trim();
      if (!/^[0-9a-f]{1,16}$/i.test(line)) throw new Error("invalid chunked response");
      const size = parseInt(line, 16);
      if (size === 0) break;
      if (size > maxBytes - total) throw tooLarge();
      total += size;
      parts.push(await this.#bytes(size));
      if (await this.#line() !== "") throw new Error("invalid chunked response");
    }
    for (let trailers = 0; await this.#line() !== ""; trailers++) {
      if (trailers > 100) throw new Error("too many trailers");
    }
    return concat(parts);
  }

  async #untilClose(maxBytes, tooLarge) {
    const parts = [this.#buffer.subarray(this.#at)];
    let total = parts[0].length;
    for (let chunk; (chunk = await this.pending) !== null;) {
      if (chunk instanceof Error) throw chunk;
      total += chunk.length;
      if (total > maxBytes) throw tooLarge();
      this.#read();
      parts.push(chunk);
    }
    if (total > maxBytes) throw tooLarge();
    this.#buffer = EMPTY;
    this.#at = 0;
    return concat(parts);
  }

  close() {
    this.idle = false;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

function concat(parts) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
