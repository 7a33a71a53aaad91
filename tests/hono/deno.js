// Run by hono.test.mjs: the test app (app.js) served by Deno.serve on
// 127.0.0.1, `hono` and `webkv/hono` resolved from node_modules by name.
// Prints one JSON line { port, version, resolved } once listening.
import { createTestApp } from "./app.js";

const app = createTestApp("deno");
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen({ port }) {
    console.log(JSON.stringify({ port, version: Deno.version.deno, resolved: import.meta.resolve("webkv/hono") }));
  },
}, app.fetch);
