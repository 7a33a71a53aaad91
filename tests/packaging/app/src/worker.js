// The module Worker of the app: the same checks as the page.
// Named imports, as apps write them: with them, a bundler that trusted a
// wrong "sideEffects" would skip the entry that registers the wasm loader.
import { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv } from "webkv";
import { runScenario } from "./scenario.js";
import { durableRoundTrip } from "./durable.js";

const webkv = { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv };

async function main() {
  try {
    const scenario = await runScenario(webkv, "worker");
    const durable = await durableRoundTrip(webkv, "worker");
    self.postMessage({ scenario, durable });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
}

main();
