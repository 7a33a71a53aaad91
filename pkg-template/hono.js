// webkv/hono: a Hono middleware that puts one shared Deno KV database into
// every request as `c.var.kv`, like Fastro's kvMiddleware for Deno.
//
//   import { Hono } from "hono";
//   import { kvMiddleware } from "webkv/hono";
//   const app = new Hono().use(kvMiddleware);
//   app.get("/", async (c) => c.json((await c.var.kv.get(["hello"])).value));
//
// Hono is not imported here (it is only a peer dependency for the types): a
// middleware is a plain `(c, next)` function.
//
// `webkv` is imported by its own package name, so that it resolves through
// the package's export conditions to the same runtime entry (and the same
// loaded wasm) as the application's own `import ... from "webkv"`.
import { openKv } from "webkv";

/**
 * What a request gets when the database could not be opened: the message
 * says what was asked for and why it failed; `cause` is openKv's error. The
 * next request tries to open the database again.
 */
export class KvOpenError extends Error {
  constructor(what, cause) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`webkv/hono: could not open ${what} for c.var.kv: ${reason}`, { cause });
    this.name = "KvOpenError";
  }
}

// One middleware per argument: createKvMiddleware(x) === createKvMiddleware(x).
const middlewares = new Map();

const isUrl = (value) => typeof URL === "function" && value instanceof URL;

/** `path` and `accessToken` from a path, a URL or an options object. */
function readArgument(arg) {
  if (arg === undefined || arg === null) return { path: undefined, accessToken: undefined };
  if (typeof arg === "string") return { path: arg, accessToken: undefined };
  if (isUrl(arg)) return { path: arg.href, accessToken: undefined };
  // Only a plain object can be options: anything else (a Request, a Map, a
  // URL from another realm) has no own "path" and would silently open the
  // default database.
  const proto = typeof arg === "object" ? Object.getPrototypeOf(arg) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError("createKvMiddleware: expected a path, a URL, or { path, accessToken }");
  }
  for (const name of Object.keys(arg)) {
    if (name !== "path" && name !== "accessToken") {
      throw new TypeError(`createKvMiddleware: unknown option "${name}" (expected path, accessToken)`);
    }
  }
  const { accessToken } = arg;
  const path = isUrl(arg.path) ? arg.path.href : arg.path;
  if (path !== undefined && typeof path !== "string") {
    throw new TypeError("createKvMiddleware: path must be a string or a URL");
  }
  if (accessToken !== undefined && typeof accessToken !== "string") {
    throw new TypeError("createKvMiddleware: accessToken must be a string");
  }
  return { path, accessToken };
}

/** How errors name the database (never with its token). */
function describe(path) {
  if (path === undefined) return "the default database (openKv())";
  if (path === ":memory:") return 'the in-memory database (openKv(":memory:"))';
  if (/^https?:\/\//i.test(path)) return `the KV Connect database at ${path}`;
  return `the database ${JSON.stringify(path)}`;
}

/**
 * A Hono middleware that sets `c.var.kv` to the database `openKv` opens for
 * `pathOrOptions` (a path, an `http(s)://` KV Connect URL as a string or a
 * `URL`, or `{ path, accessToken }`). The database is opened on the first request
 * that passes through, once even when many arrive together, and then shared
 * by every request; the same argument always gives the same middleware. An
 * open that fails rejects that request with a {@link KvOpenError} and the
 * next request tries again. `close()` closes the database (on shutdown); a
 * request after it opens it again.
 */
export function createKvMiddleware(pathOrOptions = undefined) {
  const { path, accessToken } = readArgument(pathOrOptions);
  const id = JSON.stringify([path ?? null, accessToken ?? null]);
  const existing = middlewares.get(id);
  if (existing) return existing;

  const what = describe(path);
  const options = accessToken === undefined ? undefined : { accessToken };
  let kv = null;
  let opening = null;

  function open() {
    if (kv !== null) return Promise.resolve(kv);
    opening ??= openKv(path, options).then(
      (db) => {
        opening = null;
        kv = db;
        return db;
      },
      (error) => {
        // Not cached: the next request opens it again.
        opening = null;
        throw new KvOpenError(what, error);
      },
    );
    return opening;
  }

  async function close() {
    while (opening !== null) await opening.catch(() => {});
    const db = kv;
    kv = null;
    db?.close();
  }

  const middleware = async function kvMiddleware(c, next) {
    c.set("kv", kv ?? (await open()));
    await next();
  };
  middleware.open = open;
  middleware.close = close;
  if (typeof Symbol.asyncDispose === "symbol") middleware[Symbol.asyncDispose] = close;
  middlewares.set(id, middleware);
  return middleware;
}

/** The middleware for the default database, `openKv()`: `createKvMiddleware()`. */
export const kvMiddleware = createKvMiddleware();
