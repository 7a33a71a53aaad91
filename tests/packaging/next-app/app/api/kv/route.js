// A route handler (Node.js runtime): the smoke scenario in memory, and a
// SQLite file written, closed and opened again. The test names the
// directory in WEBKV_PACKAGING_DB_DIR, a fresh one per server.
import { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv } from "webkv";
import { runScenario } from "../../../lib/scenario.js";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const webkv = { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv };

export async function GET() {
  try {
    const scenario = await runScenario(webkv, "next route handler");
    const path = `${process.env.WEBKV_PACKAGING_DB_DIR}/next.sqlite`;
    let kv = await openKv(path);
    await kv.set(["n"], { n: 1 });
    await kv.set(["count"], new KvU64(1n));
    await kv.atomic().sum(["count"], 1n).commit();
    const value = (await kv.get(["n"])).value;
    kv.close();
    kv = await openKv(path);
    const reopened = { value: (await kv.get(["n"])).value, count: (await kv.get(["count"])).value.value.toString() };
    kv.close();
    return Response.json({ scenario, sqlite: { value, reopened } });
  } catch (error) {
    return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
  }
}
