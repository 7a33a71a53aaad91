// webkv's KV Connect client in Deno (http1.js for requests, fetch for watch streams) against
// hostile servers: hostile_cases.js.
//   deno test -A tests/kvconnect/hostile_deno.test.js
import { cases, runCase, stillWorks, unreachable } from "./hostile_cases.js";

const webkv = await import(new URL("../../pkg/deno.js", import.meta.url).href);

for (const c of cases) {
  Deno.test({
    name: `[hostile server] [deno] ${c.name}`,
    // the client's own background work (a cancelled read, a timer) may outlive a case
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => runCase(webkv, c, "deno"),
  });
}

Deno.test("[hostile server] [deno] an unreachable server fails openKv at once with a TypeError", async () => {
  const { ms, message } = await unreachable(webkv, "deno");
  console.log(`  unreachable: ${ms} ms: ${message}`);
});

Deno.test("[hostile server] [deno] afterwards, the process and a fresh :memory: database work", async () => {
  const memory = await stillWorks(webkv);
  console.log(`  wasm memory after every case: ${memory} bytes`);
  if (memory >= 64 * 2 ** 20) throw new Error(`wasm memory ${memory} bytes`);
});
