// openKv(path) in Node, Bun and Deno: a database file in Deno's own SQLite
// format. This is a thin shim over the runtime's synchronous SQLite
// (`node:sqlite`'s DatabaseSync in Node 22.5+ and Deno, `bun:sqlite` in Bun):
// it opens the file and runs the statements the wasm side prepares; every
// rule of the format lives in Rust (src/backend/sqlite/).
import { closeSync, existsSync, openSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** How long a statement waits for another process's lock before failing. */
const BUSY_TIMEOUT_MS = 5000;

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

  query(id, params) {
    const { statement, arrays } = this.#statements[id];
    if (this.#bun) return statement.values(...params);
    const rows = statement.all(...params);
    return arrays ? rows : rows.map((row) => Object.values(row));
  }

  run(id, params) {
    return Number(this.#statements[id].statement.run(...params).changes);
  }

  randomBytes(buf) {
    crypto.getRandomValues(buf);
  }

  close() {
    this.#statements = [];
    this.#db.close();
  }
}
