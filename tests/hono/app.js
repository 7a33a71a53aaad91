// The Hono app the webkv/hono tests run in Node, Deno, Bun and workerd
// (hono.test.mjs drives it over HTTP; in Node through app.request). It
// imports `hono` and `webkv/hono` by name, as an application does, and mounts
// the README's example app (examples/hono-app.js) under /example.
//
// Routes (a JSON answer each):
//   GET  /identity         which arguments give the same middleware
//   POST /mem/hit          sum(["hits"], 1n) in the ":memory:" database
//   GET  /mem/hits         that counter
//   PUT  /mem/set/:k       set(["data", k], body)
//   GET  /mem/get/:k       get(["data", k])
//   POST /remote/hit       the same on the KV Connect database at the URL (or the file)
//   GET  /remote/hits        in the x-kv-url header, with the token in
//                            x-kv-token (none: no accessToken option)
//   POST /close?which=mem|remote   closes that database; reports whether
//                                  the Kv it had is now closed
//   GET  /example-db/ratelimit     the example's rate-limit counters
// Errors: 503 for a KvOpenError, else 500, with { name, error, cause }.
import { Hono } from "hono";
import * as webkv from "webkv";
import { createKvMiddleware, KvOpenError, kvMiddleware } from "webkv/hono";
import { createApp } from "../../examples/hono-app.js";

export function createTestApp(runtime) {
  const app = new Hono();
  const memory = createKvMiddleware(":memory:");
  // The same argument gives the same middleware, so this is one database
  // per URL and token however many requests ask for it.
  const remote = (c) => {
    const path = c.req.header("x-kv-url");
    const accessToken = c.req.header("x-kv-token");
    return createKvMiddleware(accessToken === undefined ? path : { path, accessToken });
  };

  app.onError((err, c) =>
    c.json(
      { name: err.name, error: err.message, cause: err.cause === undefined ? null : String(err.cause) },
      err instanceof KvOpenError ? 503 : 500,
    )
  );

  app.get("/identity", (c) => {
    const threw = (f) => {
      try {
        f();
        return null;
      } catch (e) {
        return `${e.name}: ${e.message}`;
      }
    };
    const url = "http://127.0.0.1:9";
    return c.json({
      runtime,
      samePath: createKvMiddleware(":memory:") === memory,
      sameAsOptions: createKvMiddleware({ path: ":memory:" }) === memory,
      defaultIsKvMiddleware: createKvMiddleware() === kvMiddleware && createKvMiddleware({}) === kvMiddleware,
      otherPathOther: createKvMiddleware(":memory:") !== kvMiddleware,
      otherTokenOther: createKvMiddleware({ path: url, accessToken: "a".repeat(12) }) !==
        createKvMiddleware({ path: url, accessToken: "b".repeat(12) }),
      // A URL object names the same database as its href, never the default.
      urlIsItsHref: createKvMiddleware(new URL(url)) === createKvMiddleware(new URL(url).href) &&
        createKvMiddleware({ path: new URL(url) }) === createKvMiddleware(new URL(url).href) &&
        createKvMiddleware(new URL(url)) !== kvMiddleware,
      methods: [typeof memory, typeof memory.open, typeof memory.close],
      badPath: threw(() => createKvMiddleware(42)),
      badOption: threw(() => createKvMiddleware({ pth: ":memory:" })),
      notOptions: threw(() => createKvMiddleware(new Map([["path", ":memory:"]]))),
    });
  });

  const counter = async (c) => {
    const entry = await c.var.kv.get(["hits"]);
    return c.json({ hits: String(entry.value?.value ?? 0n), isKv: c.var.kv instanceof webkv.Kv });
  };
  const hit = async (c) => {
    const { ok } = await c.var.kv.atomic().sum(["hits"], 1n).commit();
    return c.json({ ok });
  };

  app.use("/mem/*", memory);
  app.post("/mem/hit", hit);
  app.get("/mem/hits", counter);
  app.put("/mem/set/:k", async (c) => {
    const { versionstamp } = await c.var.kv.set(["data", c.req.param("k")], await c.req.text());
    return c.json({ versionstamp });
  });
  app.get("/mem/get/:k", async (c) => {
    const { value, versionstamp } = await c.var.kv.get(["data", c.req.param("k")]);
    return c.json({ value, versionstamp });
  });

  app.use("/remote/*", (c, next) => remote(c)(c, next));
  app.post("/remote/hit", hit);
  app.get("/remote/hits", counter);

  app.post("/close", async (c) => {
    const middleware = c.req.query("which") === "mem" ? memory : remote(c);
    const kv = await middleware.open();
    await middleware.close();
    let afterClose = "no error";
    try {
      await kv.get(["hits"]);
    } catch (e) {
      afterClose = `${e.name}: ${e.message}`;
    }
    return c.json({ afterClose });
  });

  // The README's example, with short times so that the test can watch a
  // session expire and a rate-limit window pass.
  app.route("/example", createApp({ sessionTtlMs: 1500, loginLimit: 3, loginWindowMs: 3000 }));
  app.get("/example-db/ratelimit", async (c) => {
    // The example uses kvMiddleware: open() gives the same database.
    const kv = await kvMiddleware.open();
    const keys = [];
    for await (const entry of kv.list({ prefix: ["ratelimit"] })) keys.push(entry.key);
    return c.json({ keys });
  });

  return app;
}
