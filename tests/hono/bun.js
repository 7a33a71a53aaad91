// Run by hono.test.mjs: the test app (app.js) served by Bun.serve on
// 127.0.0.1, `hono` and `webkv/hono` resolved from node_modules by name.
// Prints one JSON line { port, version, resolved } once listening.
import { createTestApp } from "./app.js";

const app = createTestApp("bun");
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
console.log(JSON.stringify({ port: server.port, version: Bun.version, resolved: import.meta.resolve("webkv/hono") }));
