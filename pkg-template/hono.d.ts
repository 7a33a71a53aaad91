// Type declarations for webkv/hono: a Hono middleware that gives every
// request one shared Deno KV database as `c.var.kv`. Needs `hono` 4.x (an
// optional peer dependency of webkv: install it when you use webkv/hono).
import type { MiddlewareHandler } from "hono";
import type { Kv } from "./index.d.ts";

/** The variables {@linkcode createKvMiddleware} sets: `c.var.kv`. */
export type KvVariables = {
  /** The database, opened on the first request and shared by all of them. */
  kv: Kv;
};

/**
 * A Hono `Env` with `c.var.kv`: `new Hono<KvEnv>()`, or combine it with your
 * own bindings and variables
 * (`{ Bindings: MyBindings; Variables: KvVariables & MyVariables }`).
 */
export type KvEnv = {
  Variables: KvVariables;
};

/** What {@linkcode createKvMiddleware} accepts besides a path or URL. */
export interface KvMiddlewareOptions {
  /**
   * What `openKv(path)` opens: `":memory:"`, a name or path, or an
   * `http(s)://` KV Connect URL (a string or a `URL`). Omitted: the default
   * database, `openKv()`.
   */
  path?: string | URL;
  /**
   * The access token of a KV Connect server (otherwise
   * `DENO_KV_ACCESS_TOKEN` is read where the runtime has an environment).
   */
  accessToken?: string;
}

/**
 * A middleware that sets `c.var.kv`, with the database's lifetime in your
 * hands.
 */
export interface KvMiddleware extends MiddlewareHandler<KvEnv>, AsyncDisposable {
  /**
   * The shared database, opened now if no request has opened it yet (for
   * code outside requests: a queue listener, a scheduled job, a test).
   * Rejects with a {@linkcode KvOpenError} if it cannot be opened; a later
   * call tries again.
   */
  open(): Promise<Kv>;
  /**
   * Closes the database, if it is open (waiting for an open under way).
   * Call it on shutdown. A request after it opens the database again.
   */
  close(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Returns the middleware that sets `c.var.kv` to the database `openKv`
 * opens for the argument:
 *
 * - nothing: the default database, `openKv()` (in a browser the IndexedDB
 *   database `"default"`);
 * - `":memory:"`, a name or a path;
 * - an `http(s)://` KV Connect URL, as a string or a `URL` (such as a
 *   `denokv` server), with the
 *   token in `{ path, accessToken }` or in `DENO_KV_ACCESS_TOKEN`.
 *
 * The database is opened by the first request that passes through, once
 * even when many requests arrive together, and then shared by every request.
 * The same argument always returns the same middleware, so every app and
 * route using it shares one database. If the open fails, that request fails
 * with a {@linkcode KvOpenError} (handle it in `app.onError`) and the next
 * request tries again. Call `close()` on shutdown.
 *
 * ```ts
 * import { Hono } from "hono";
 * import { createKvMiddleware } from "webkv/hono";
 *
 * const kv = createKvMiddleware({ path: "https://kv.example.com", accessToken: TOKEN });
 * const app = new Hono().use(kv).get("/visits", async (c) => {
 *   await c.var.kv.atomic().sum(["visits"], 1n).commit();
 *   return c.json({ visits: String((await c.var.kv.get(["visits"])).value) });
 * });
 * ```
 */
export function createKvMiddleware(pathOrOptions?: string | URL | KvMiddlewareOptions): KvMiddleware;

/** The middleware for the default database: `createKvMiddleware()`. */
export const kvMiddleware: KvMiddleware;

/**
 * The error a request fails with when the database cannot be opened: its
 * message names the database (never the token) and openKv's reason, which
 * is its `cause`.
 */
export class KvOpenError extends Error {
  constructor(what: string, cause: unknown);
  name: "KvOpenError";
  cause: unknown;
}
