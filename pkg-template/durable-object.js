// openKv(ctx.storage) in a Cloudflare Durable Object: a thin shim over the
// object's SQLite storage (`ctx.storage.sql`, synchronous) that runs the
// statements the wasm side prepares; every rule of Deno's format lives in
// Rust (src/backend/sqlite/), as for files.

/** Thrown inside `transactionSync` to roll back what the body wrote. */
const ROLLBACK = Symbol("webkv.rollback");

/** Whether `value` is a Durable Object's storage with SQLite (`enableSql`). */
export function isDurableObjectStorage(value) {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof value.transactionSync === "function" &&
    typeof value.setAlarm === "function" &&
    "sql" in value
  );
}

let nextStorage = 0;
const opened = new WeakMap();

/**
 * For `openKv(storage)`: the key that names this storage among the objects
 * of this isolate (every openKv of one storage joins one database) and its
 * connection; a TypeError for anything but a Durable Object's SQLite storage.
 */
export function durableObjectSupport(storage) {
  if (!isDurableObjectStorage(storage)) {
    throw new TypeError(
      "openKv(storage) takes a Durable Object's storage (ctx.storage) with SQLite: declare the class in " +
        'new_sqlite_classes (wrangler) or with enableSql = true (workerd); otherwise path must be a string',
    );
  }
  let entry = opened.get(storage);
  if (entry === undefined) {
    entry = { key: `durable-object:${nextStorage++}`, connection: new DurableObjectConnection(storage) };
    opened.set(storage, entry);
  }
  return entry;
}

class DurableObjectConnection {
  #storage;
  #sql;
  #statements = [];
  // Alarm updates, one after another: each reads the alarm then moves it.
  #alarmUpdates = Promise.resolve();

  constructor(storage) {
    this.#storage = storage;
    this.#sql = storage.sql;
  }

  exec(sql) {
    this.#sql.exec(sql).toArray();
  }

  // The storage caches its statements by text.
  prepare(sql) {
    this.#statements.push(sql);
    return this.#statements.length - 1;
  }

  query(id, params) {
    return this.#sql.exec(this.#statements[id], ...params).raw().toArray();
  }

  run(id, params) {
    const cursor = this.#sql.exec(this.#statements[id], ...params);
    cursor.toArray();
    return cursor.rowsWritten;
  }

  transaction(body) {
    try {
      this.#storage.transactionSync(() => {
        if (!body()) throw ROLLBACK;
      });
    } catch (err) {
      if (err !== ROLLBACK) throw err;
    }
  }

  randomBytes(buf) {
    crypto.getRandomValues(buf);
  }

  // The storage stays the object's; a later openKv prepares again.
  close() {
    this.#statements = [];
  }

  /**
   * The queue needs a listener at `atMs`: the object's alarm is moved
   * earlier to then (never later, so an alarm the object's own code set
   * still fires; `kv.alarm()` sets the next one after each delivery round).
   */
  wakeForQueueAt(atMs) {
    this.#alarmUpdates = this.#alarmUpdates
      .then(async () => {
        const current = await this.#storage.getAlarm();
        if (current === null || current > atMs) await this.#storage.setAlarm(atMs);
      })
      .catch((err) => console.error("webkv: could not set the Durable Object's alarm for its queue", err));
  }

  /** Resolves once the alarm updates asked for so far are done. */
  alarmSettled() {
    return this.#alarmUpdates;
  }
}
