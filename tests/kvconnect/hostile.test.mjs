// webkv's KV Connect client in Node (fetch) against hostile servers: hostile_cases.js.
//   node --test tests/kvconnect/hostile.test.mjs
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as webkv from "../../pkg/node.js";
import { cases, runCase, stillWorks, unreachable } from "./hostile_cases.js";

for (const c of cases) {
  test(`[hostile server] [node] ${c.name}`, { timeout: 30_000 }, () => runCase(webkv, c, "node"));
}

test("[hostile server] [node] an unreachable server fails openKv at once with a TypeError", async () => {
  const { ms, message } = await unreachable(webkv, "node");
  console.log(`  unreachable: ${ms} ms: ${message}`);
});

after(async () => {
  const memory = await stillWorks(webkv);
  console.log(`  wasm memory after every case: ${memory} bytes`);
  assert.ok(memory < 64 * 2 ** 20, `wasm memory ${memory} bytes`);
});
