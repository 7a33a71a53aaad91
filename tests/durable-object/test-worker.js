// The example Worker (docs/examples/durable-object/worker.js) as workerd runs
// it in the tests, with two routes added to its object for the tests only:
// /<name>/sql runs a statement on the object's storage (to read Deno's tables
// and to corrupt a row), /<name>/basics runs basics.js on the object's kv.
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
    return example.default.fetch(request, env);
  },
};

export class KvObject extends example.KvObject {
  async fetch(request) {
    const action = new URL(request.url).pathname.split("/")[2];
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
    return super.fetch(request);
  }
}
