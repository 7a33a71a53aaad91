// A Hono app on webkv: sessions that expire by themselves (`expireIn`) and a
// rate limiter counted with an atomic `sum`, the two things Deno KV is best
// known for. The same file runs on Node, Deno, Bun and Cloudflare's workerd
// (tests/hono/ runs it on all four; the README shows it).
//
//   Deno:    Deno.serve(app.fetch)        Bun / workerd: export default app
//   Node:    serve(app) from @hono/node-server
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { KvOpenError, kvMiddleware } from "webkv/hono";

export function createApp({
  kv = kvMiddleware, // the default database; createKvMiddleware(url) for a denokv server
  sessionTtlMs = 24 * 60 * 60 * 1000, // a session lasts a day
  loginLimit = 5, // login attempts per user name...
  loginWindowMs = 60 * 1000, // ...per minute
} = {}) {
  const app = new Hono();
  app.use(kv); // c.var.kv in every request: one database, opened on first use

  app.post("/login", async (c) => {
    const { user } = await c.req.json().catch(() => ({}));
    if (typeof user !== "string" || user === "") return c.json({ error: "user required" }, 400);
    const retryAfter = await rateLimit(c.var.kv, ["login", user], loginLimit, loginWindowMs);
    if (retryAfter > 0) return c.json({ error: "too many attempts" }, 429, { "retry-after": String(retryAfter) });
    // (Check the user's password here.)
    const id = crypto.randomUUID();
    // The session entry disappears by itself once expireIn has passed.
    const expires = Date.now() + sessionTtlMs;
    await c.var.kv.set(["sessions", id], { user, since: new Date(), expires }, { expireIn: sessionTtlMs });
    setCookie(c, "session", id, { httpOnly: true, sameSite: "Lax", path: "/", maxAge: Math.floor(sessionTtlMs / 1000) });
    return c.json({ user });
  });

  app.get("/me", async (c) => {
    const id = getCookie(c, "session");
    const session = id ? (await c.var.kv.get(["sessions", id])).value : null;
    // (A denokv server deletes expired entries a little later: check too.)
    if (session === null || session.expires <= Date.now()) return c.json({ error: "not logged in" }, 401);
    return c.json({ user: session.user, since: session.since.toISOString() });
  });

  app.post("/logout", async (c) => {
    const id = getCookie(c, "session");
    if (id) await c.var.kv.delete(["sessions", id]);
    deleteCookie(c, "session", { path: "/" });
    return c.json({ ok: true });
  });

  // The database could not be opened (a denokv server down, a wrong token):
  // 503, and the next request tries to open it again.
  app.onError((err, c) => {
    if (err instanceof KvOpenError) return c.json({ error: err.message }, 503);
    console.error(err);
    return c.json({ error: "internal error" }, 500);
  });

  return app;
}

// A fixed-window rate limiter: one KvU64 counter per name and window,
// incremented with an atomic `sum` (no lost updates, however many requests
// or processes share the database). The previous window's counter is deleted
// in the same commit, so counters do not pile up. Returns 0 while under the
// limit, else the seconds until the next window.
export async function rateLimit(kv, name, limit, windowMs) {
  const window = Math.floor(Date.now() / windowMs);
  const key = ["ratelimit", ...name, window];
  await kv.atomic().sum(key, 1n).delete(["ratelimit", ...name, window - 1]).commit();
  // A request of the next window may have deleted this counter meanwhile:
  // this window is then over, and so is its count.
  const count = (await kv.get(key)).value?.value ?? 0n; // a KvU64's bigint
  if (count <= BigInt(limit)) return 0;
  return Math.ceil(((window + 1) * windowMs - Date.now()) / 1000);
}

export default createApp();
