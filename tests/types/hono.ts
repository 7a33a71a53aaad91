// Type-level test for pkg-template/hono.d.ts (webkv/hono) against real Hono's
// types (node_modules/hono). Never executed: `deno check` only (run.sh).
// The `@ts-expect-error` lines fail the check if they stop erroring, so it
// cannot pass vacuously (for example if `c.var.kv` collapsed to `any`).
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type * as webkvHono from "../../pkg-template/hono.d.ts";
import type { KvEnv, KvMiddleware, KvMiddlewareOptions, KvVariables } from "../../pkg-template/hono.d.ts";
import type { Kv, KvEntryMaybe, KvU64 } from "../../pkg-template/index.d.ts";

declare const createKvMiddleware: typeof webkvHono.createKvMiddleware;
declare const kvMiddleware: typeof webkvHono.kvMiddleware;
declare const KvOpenError: typeof webkvHono.KvOpenError;

type Assert<T extends true> = T;
type IsExactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// `use` infers the variables from the middleware: no generic needed.
const inferred = new Hono().use(kvMiddleware).get("/", async (c) => {
  const kv = c.var.kv;
  type _kv = Assert<IsExactly<typeof kv, Kv>>;
  const entry = await kv.get<{ name: string }>(["users", "ada"]);
  type _entry = Assert<IsExactly<typeof entry, KvEntryMaybe<{ name: string }>>>;
  const same: Kv = c.get("kv");
  await same.atomic().sum(["visits"], 1n).commit();
  // @ts-expect-error a Kv has no such method
  c.var.kv.nope();
  return c.json({ name: entry.value?.name ?? null });
});
void inferred;

// An explicit Env, and KvVariables combined with an app's own.
type AppEnv = { Bindings: { SECRET: string }; Variables: KvVariables & { user: string } };
const app = new Hono<AppEnv>();
app.use(createKvMiddleware(":memory:"));
app.use("/api/*", createKvMiddleware({ path: "https://kv.example.com", accessToken: "token-of-12+" }));
app.get("/me", async (c) => {
  const n = await c.var.kv.get<KvU64>(["count"]);
  const user: string = c.var.user;
  const secret: string = c.env.SECRET;
  // @ts-expect-error not a variable of this app
  c.var.missing;
  return c.text(`${user} ${secret} ${n.value?.value ?? 0n}`);
});
app.onError((err, c) => {
  if (err instanceof KvOpenError) {
    const name: "KvOpenError" = err.name;
    return c.text(`${name}: ${err.message}`, 503);
  }
  return c.text("error", 500);
});
const plain = new Hono<KvEnv>();
plain.get("/", (c) => c.text(String(c.var.kv instanceof Object)));

// The middleware's own methods.
const mw: KvMiddleware = createKvMiddleware();
const handler: MiddlewareHandler<KvEnv> = mw;
void handler;
const opened: Promise<Kv> = mw.open();
const closed: Promise<void> = mw.close();
const disposed: Promise<void> = mw[Symbol.asyncDispose]();
void opened, closed, disposed;
const options: KvMiddlewareOptions = { path: ":memory:" };
createKvMiddleware(options);
createKvMiddleware("http://127.0.0.1:4512");
createKvMiddleware({});

// Used as a handler, the context must offer c.set("kv", ...).
declare const context: Context<KvEnv>;
void mw(context, async () => {});

// @ts-expect-error a path is a string
createKvMiddleware(42);
// @ts-expect-error unknown option
createKvMiddleware({ pth: ":memory:" });
// @ts-expect-error the token is a string
createKvMiddleware({ path: "http://x", accessToken: 1 });
// @ts-expect-error open() gives a Kv, not a string
const wrong: Promise<string> = mw.open();
void wrong;
// @ts-expect-error kv is not a variable of a plain Hono app
new Hono().get("/", (c) => c.var.kv.get(["x"]));
