// The example Worker (docs/examples/durable-object/worker.js) as workerd runs
// it in the tests, with two routes added to its object for the tests only:
// /<name>/sql runs a statement on the object's storage (to read Deno's tables
// and to corrupt a row), /<name>/basics runs basics.js on the object's kv.
import { DurableObject } from "cloudflare:workers";
import * as example from "example";
import { openKv } from "webkv";
import { runBasics } from "./basics.js";

export default {
  async fetch(request, env) {
    // What openKv says outside an object: a path, or an object that is no
    // Durable Object's storage.
    if (new URL(request.url).pathname === "/-/open") {
      const { path } = await request.json();
      try {
        const kv = await openKv(path === "storage-like" ? { sql: {} } : path);
        await kv.set(["k"], 1);
        const value = (await kv.get(["k"])).value;
        kv.close();
        return Response.json({ value });
      } catch (err) {
        return Response.json({ error: `${err?.name}: ${err?.message}` });
      }
    }
    if (new URL(request.url).pathname === "/-/plain") {
      return env.PLAIN_OBJECT.get(env.PLAIN_OBJECT.idFromName("plain")).fetch(request);
    }
    return example.default.fetch(request, env);
  },
};

// bench/durable_object_bench.mjs's workloads, each run whole inside one
// request (workerd's clock only moves between I/O, so the bench times the
// request from outside): webkv's, and the same on the object's own
// key-value API (ctx.storage.get/put, on the same SQLite database).
const BENCH = {
  async "webkv set"(kv, _, n) {
    for (let i = 0; i < n; i++) await kv.set(["bench", i], { i, text: "value" });
  },
  async "storage put"(_, storage, n) {
    for (let i = 0; i < n; i++) await storage.put(`bench/${i}`, { i, text: "value" });
  },
  async "webkv get"(kv, _, n) {
    for (let i = 0; i < n; i++) await kv.get(["bench", i]);
  },
  // The same gets on an in-memory webkv: what webkv's own layers cost here.
  async "webkv get (:memory:)"(_, __, n) {
    const memory = await openKv(":memory:");
    for (let i = 0; i < n; i++) await memory.set(["bench", i], { i, text: "value" });
    for (let i = 0; i < n; i++) await memory.get(["bench", i]);
    memory.close();
  },
  async "storage get"(_, storage, n) {
    for (let i = 0; i < n; i++) await storage.get(`bench/${i}`);
  },
  async "webkv list"(kv, _, n) {
    let count = 0;
    for await (const _ of kv.list({ prefix: ["bench"] }, { limit: n })) count++;
    if (count !== n) throw new Error(`listed ${count}`);
  },
  async "storage list"(_, storage, n) {
    const map = await storage.list({ prefix: "bench/", limit: n });
    if (map.size !== n) throw new Error(`listed ${map.size}`);
  },
  async "webkv get+check+set"(kv, _, n) {
    for (let i = 0; i < n; i++) {
      const entry = await kv.get(["counter"]);
      await kv.atomic().check(entry).set(["counter"], (entry.value ?? 0) + 1).commit();
    }
  },
  async "webkv sum"(kv, _, n) {
    for (let i = 0; i < n; i++) await kv.atomic().sum(["sum"], 1n).commit();
  },
};

/** A Durable Object class without SQLite storage: openKv(ctx.storage) says so. */
export class PlainObject extends DurableObject {
  async fetch() {
    try {
      await openKv(this.ctx.storage);
      return Response.json({ opened: true });
    } catch (err) {
      return Response.json({ error: `${err?.name}: ${err?.message}` });
    }
  }
}

export class KvObject extends example.KvObject {
  // An object that also uses its alarm for itself, as docs/durable-objects.md
  // says to: webkv's part first, then its own, whose time it keeps.
  async alarm() {
    await super.alarm();
    const own = (await this.kv.get(["own alarm"])).value;
    if (own === null) return;
    if (own.at <= Date.now()) {
      await this.kv.set(["own alarm"], null);
      await this.kv.set(["own alarm fired"], { at: own.at, firedAt: Date.now() });
      return;
    }
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > own.at) await this.ctx.storage.setAlarm(own.at);
  }

  async fetch(request) {
    const action = new URL(request.url).pathname.split("/")[2];
    if (action === "own-alarm") {
      const { inMs } = await request.json();
      const at = Date.now() + inMs;
      await this.kv.set(["own alarm"], { at });
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) await this.ctx.storage.setAlarm(at);
      return Response.json({ at });
    }
    if (action === "alarm") return Response.json(await this.ctx.storage.getAlarm());
    if (action === "sql") {
      const { query, params = [] } = await request.json();
      const bound = params.map((p) => (p !== null && typeof p === "object" && "bytes" in p ? new Uint8Array(p.bytes) : p));
      try {
        const rows = this.ctx.storage.sql.exec(query, ...bound).raw().toArray();
        return Response.json(rows.map((row) => row.map((v) => (v instanceof ArrayBuffer ? { bytes: [...new Uint8Array(v)] } : v))));
      } catch (err) {
        return Response.json({ error: String(err) }, { status: 400 });
      }
    }
    if (action === "basics") return Response.json(await runBasics(this.kv));
    if (action === "id") return Response.json(this.ctx.id.toString());
    if (action === "bench") {
      const { workload, n } = await request.json();
      await BENCH[workload](this.kv, this.ctx.storage, n);
      return Response.json({ ok: true });
    }
    return super.fetch(request);
  }
}
