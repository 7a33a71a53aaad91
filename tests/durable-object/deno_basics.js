// basics.js against real Deno's KV in memory; prints its JSON.
import { runBasics } from "./basics.js";

const kv = await Deno.openKv(":memory:");
console.log(JSON.stringify(await runBasics(kv)));
kv.close();
