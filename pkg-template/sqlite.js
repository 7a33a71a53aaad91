// openKv(path) in Node, Bun and Deno: a database file in Deno's own SQLite
// format. This is a thin shim over the runtime's synchronous SQLite
// (`node:sqlite`'s DatabaseSync in Node 22.5+ and Deno, `bun:sqlite` in Bun):
// it opens the file and runs the statements the wasm side prepares; every
// rule of the format lives in Rust (src/backend/sqlite/).
import { closeSync, existsSync, openSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** How long a statement waits for another process's lock before failing. */
const BUSY_TIMEOUT_MS = 5000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/*
 * Parameters and rows cross between wasm and JS packed in one byte buffer
 * each (src/bindings/sqlite.rs has the other half), instead of a JS value
 * per cell, which costs several wasm<->JS calls each. A cell is a tag byte:
 * 0 null; 1 a 64-bit integer (8 bytes, little-endian); 2 text and 3 bytes
 * (a u32 length, then the UTF-8 or the bytes); 4 a number (8-byte double:
 * node:sqlite reads integers as numbers). Rows are preceded by their count
 * and their number of columns (u32 each).
 */
const NULL = 0;
const INTEGER = 1;
const TEXT = 2;
const BLOB = 3;
const NUMBER = 4;

/** The parameters of a statement, from `packed` (a view of wasm memory). */
function unpackParams(packed) {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const params = [];
  let at = 0;
  while (at < packed.length) {
    const tag = packed[at++];
    if (tag === NULL) {
      params.push(null);
    } else if (tag === INTEGER) {
      params.push(view.getBigInt64(at, true));
      at += 8;
    } else {
      const length = view.getUint32(at, true);
      at += 4;
      // A blob is a view of wasm memory, not a copy: `query` and `run` bind
      // and step their statement to the end before they return, and only
      // wasm code, which cannot run meanwhile, can move that memory.
      params.push(tag === TEXT ? decoder.decode(packed.subarray(at, at + length)) : packed.subarray(at, at + length));
      at += length;
    }
  }
  return params;
}

/** One growing buffer that rows are packed into, reused by every query. */
class RowPacker {
  #bytes = new Uint8Array(4096);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;

  #reserve(n) {
    if (this.#at + n <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.#at + n) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
  }

  pack(rows, arrays) {
    this.#at = 0;
    this.#reserve(8);
    const columns = rows.length === 0 ? 0 : arrays ? rows[0].length : Object.keys(rows[0]).length;
    this.#view.setUint32(0, rows.length, true);
    this.#view.setUint32(4, columns, true);
    this.#at = 8;
    for (const row of rows) {
      for (const cell of arrays ? row : Object.values(row)) this.#cell(cell);
    }
    return this.#bytes.subarray(0, this.#at);
  }

  #cell(cell) {
    if (cell === null || cell === undefined) {
      this.#reserve(1);
      this.#bytes[this.#at++] = NULL;
    } else if (typeof cell === "number") {
      this.#reserve(9);
      this.#bytes[this.#at] = NUMBER;
      this.#view.setFloat64(this.#at + 1, cell, true);
      this.#at += 9;
    } else if (typeof cell === "bigint") {
      this.#reserve(9);
      this.#bytes[this.#at] = INTEGER;
      this.#view.setBigInt64(this.#at + 1, cell, true);
      this.#at += 9;
    } else if (typeof cell === "string") {
      this.#reserve(5 + cell.length * 3);
      const { written } = encoder.encodeInto(cell, this.#bytes.subarray(this.#at + 5));
      this.#bytes[this.#at] = TEXT;
      this.#view.setUint32(this.#at + 1, written, true);
      this.#at += 5 + written;
    } else {
      this.#reserve(5 + cell.length);
      this.#bytes[this.#at] = BLOB;
      this.#view.setUint32(this.#at + 1, cell.length, true);
      this.#bytes.set(cell, this.#at + 5);
      this.#at += 5 + cell.length;
    }
  }
}

/**
 * How the runtime's entry file offers SQLite: `load()` resolves to
 * `{ kind: "node" | "bun", Database }`, or rejects when the runtime has none
 * (then `missing(path)` is the error openKv throws).
 */
export function sqliteSupport(load, missing) {
  let driver = null;
  return async (path) => {
    try {
      driver ??= await load();
    } catch (cause) {
      throw missing(path, cause);
    }
    const canonical = canonicalPath(path);
    return { canonical, connect: () => new Connection(driver, canonical) };
  };
}

/** The same text for every spelling of the same file, existing or not yet. */
function canonicalPath(path) {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // Not created yet: its directory decides.
  }
  try {
    return join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    return absolute;
  }
}

/**
 * An existing file this process may not write: opened read-only, as Deno
 * does. (Opening it for update writes nothing; `accessSync` would need
 * Deno's --allow-sys.)
 */
function readOnlyFile(path) {
  if (!existsSync(path)) return false;
  try {
    closeSync(openSync(path, "r+"));
    return false;
  } catch (err) {
    return err?.code === "EACCES" || err?.code === "EPERM" || err?.code === "EROFS";
  }
}

class Connection {
  #db;
  #bun;
  #statements = [];
  #rows = new RowPacker();
  readOnly;

  constructor(driver, path) {
    this.#bun = driver.kind === "bun";
    this.readOnly = readOnlyFile(path);
    if (this.#bun) {
      this.#db = new driver.Database(path, this.readOnly ? { readonly: true } : { create: true, readwrite: true });
    } else {
      this.#db = new driver.Database(path, { readOnly: this.readOnly });
    }
    try {
      this.#db.exec(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  exec(sql) {
    this.#db.exec(sql);
  }

  prepare(sql) {
    const statement = this.#db.prepare(sql);
    let arrays = this.#bun;
    if (!arrays && typeof statement.setReturnArrays === "function") {
      statement.setReturnArrays(true);
      arrays = true;
    }
    this.#statements.push({ statement, arrays });
    return this.#statements.length - 1;
  }

  /** Every row, packed (see `RowPacker`); `packed` holds the parameters. */
  query(id, packed) {
    const { statement, arrays } = this.#statements[id];
    const params = unpackParams(packed);
    if (this.#bun) return this.#rows.pack(statement.values(...params), true);
    return this.#rows.pack(statement.all(...params), arrays);
  }

  run(id, packed) {
    return Number(this.#statements[id].statement.run(...unpackParams(packed)).changes);
  }

  randomBytes(buf) {
    crypto.getRandomValues(buf);
  }

  close() {
    this.#statements = [];
    this.#db.close();
  }
}
