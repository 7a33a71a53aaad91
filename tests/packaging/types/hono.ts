// webkv/hono as a Hono app's TypeScript meets it, compiled by
// tests/packaging/types.test.mjs with the same TypeScript versions, libs and
// module resolutions as app.ts: `c.var.kv` must be a typed Kv, and the
// middleware's `close()` and `await using` must type-check without
// @types/node (hono.d.ts needs `Symbol.asyncDispose`, which es2022 lacks).
import { Hono } from "hono";
import type { Kv, KvEntryMaybe } from "webkv";
import { createKvMiddleware, KvOpenError, kvMiddleware } from "webkv/hono";
import type { KvEnv, KvMiddleware, KvVariables } from "webkv/hono";

interface Session {
  user: string;
}

const sessions: KvMiddleware = createKvMiddleware({ path: ":memory:" });
const byUrl: KvMiddleware = createKvMiddleware(new URL("http://127.0.0.1:4512"));

export const app = new Hono<KvEnv>()
  .use(kvMiddleware)
  .get("/session/:id", async (c) => {
    const kv: Kv = c.var.kv;
    const entry: KvEntryMaybe<Session> = await kv.get<Session>(["sessions", c.req.param("id")]);
    return c.json({ user: entry.value?.user ?? null });
  });

app.onError((error, c) => c.text(error instanceof KvOpenError ? "database unavailable" : "error", 503));

type MyVariables = KvVariables & { requestId: string };
export const combined = new Hono<{ Variables: MyVariables }>().use(sessions).get("/", (c) => c.text(c.var.requestId));

export async function shutDown(): Promise<void> {
  await sessions.close();
  const kv: Kv = await byUrl.open();
  kv.close();
  await byUrl[Symbol.asyncDispose]();
}
