// A Deno KV database per Durable Object, on the object's own SQLite storage.
// The Worker routes /<name>/<action> to the object named <name>; each object
// opens webkv on `ctx.storage` and answers JSON requests (POST bodies are
// JSON too). Keys travel as JSON arrays of strings and numbers.
import { DurableObject } from "cloudflare:workers";
import { KvU64, openKv } from "webkv";

export class KvObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // No request or alarm reaches the object before the database is open,
    // and a listener runs whenever the object does: after a restart, the
    // alarm that brings the object back delivers the messages it is due for.
    ctx.blockConcurrencyWhile(async () => {
      this.kv = await openKv(ctx.storage);
      this.kv.listenQueue((message) => this.deliver(message));
    });
  }

  // webkv keeps the object's alarm set for its next queued message (or
  // retry); it must hand each alarm to webkv. (Code that sets alarms of its
  // own gets an alarm() call at webkv's times too; see the README.)
  async alarm() {
    await this.kv.alarm();
  }

  /**
   * A queued message: `{ id, failTimes, firstTakesMs }` fails its first
   * failTimes deliveries, and its first delivery works for firstTakesMs.
   */
  async deliver(message) {
    await this.kv.atomic().sum(["attempts", message.id], 1n).commit();
    const count = Number((await this.kv.get(["attempts", message.id])).value.value);
    if (count === 1 && message.firstTakesMs) {
      await new Promise((resolve) => setTimeout(resolve, message.firstTakesMs));
    }
    if (count <= (message.failTimes ?? 0)) {
      throw new Error(`delivery ${count} of ${message.id} fails, as the message asked`);
    }
    await this.kv.set(["delivered", message.id], { message, at: Date.now(), attempts: count });
  }

  async fetch(request) {
    const action = new URL(request.url).pathname.split("/")[2];
    const body = request.method === "POST" ? await request.json() : {};
    try {
      return json(await this.handle(action, body));
    } catch (err) {
      return json({ error: `${err?.name}: ${err?.message}` }, 400);
    }
  }

  async handle(action, body) {
    const kv = this.kv;
    switch (action) {
      case "get":
        return await kv.get(body.key);
      case "set":
        return await kv.set(body.key, body.value, { expireIn: body.expireIn });
      case "delete":
        await kv.delete(body.key);
        return { ok: true };
      case "list":
        return await Array.fromAsync(kv.list({ prefix: body.prefix ?? [] }, { limit: body.limit, reverse: body.reverse }));
      case "increment":
        return await this.increment(body.key, body.thinkMs ?? 0);
      case "sum":
        return await kv.atomic().sum(body.key, BigInt(body.by ?? 1)).commit();
      case "atomic":
        return await this.atomic(body.checks ?? [], body.mutations ?? []);
      case "enqueue":
        return await kv.enqueue(body.message, {
          delay: body.delay,
          backoffSchedule: body.backoffSchedule,
          keysIfUndelivered: body.keysIfUndelivered,
        });
      default:
        throw new TypeError(`unknown action ${action}`);
    }
  }

  /**
   * Several checks and mutations committed together, or not at all:
   * `{ checks: [{ key, versionstamp }], mutations: [{ type: "set" | "delete"
   * | "sum", key, value }] }` (a sum's value is a decimal string).
   */
  async atomic(checks, mutations) {
    const op = this.kv.atomic();
    for (const check of checks) op.check(check);
    for (const { type, key, value } of mutations) {
      if (type === "set") op.set(key, value);
      else if (type === "delete") op.delete(key);
      else if (type === "sum") op.sum(key, BigInt(value));
      else throw new TypeError(`unknown mutation ${type}`);
    }
    return await op.commit();
  }

  /**
   * A counter as a plain number, incremented with optimistic concurrency:
   * read, think (other requests run meanwhile), commit only if the counter
   * is unchanged, else start again.
   */
  async increment(key, thinkMs) {
    for (let attempts = 1; ; attempts++) {
      const entry = await this.kv.get(key);
      if (thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
      const value = (entry.value ?? 0) + 1;
      const { ok } = await this.kv.atomic().check(entry).set(key, value).commit();
      if (ok) return { value, attempts };
    }
  }
}

/** JSON with KvU64 values as `{ u64: "…" }` and BigInts as strings. */
function json(value, status = 200) {
  const text = JSON.stringify(value, (_, v) => {
    if (v instanceof KvU64) return { u64: v.value.toString() };
    return typeof v === "bigint" ? v.toString() : v;
  });
  return new Response(text, { status, headers: { "content-type": "application/json" } });
}

export default {
  /** /<name>/<action>: the object named <name> answers. */
  async fetch(request, env) {
    const name = new URL(request.url).pathname.split("/")[1];
    if (!name) return new Response("usage: /<object name>/<get|set|delete|list|increment|sum|atomic|enqueue>", { status: 404 });
    return env.KV_OBJECT.get(env.KV_OBJECT.idFromName(name)).fetch(request);
  },
};
