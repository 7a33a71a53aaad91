// The module Worker of the app: the same checks as the page.
// Named imports, as apps write them: with them, a bundler that trusted a
// wrong "sideEffects" would skip the entry that registers the wasm loader.
import { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv } from "webkv";
import "webkv/kv-connect";
import { runScenario } from "./scenario.js";
import { durableRoundTrip } from "./durable.js";
import { remoteRoundTrip } from "./remote.js";

const webkv = { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv };

// The page sends the KV Connect URL (or null) first.
async function main(kvUrl) {
  try {
    const scenario = await runScenario(webkv, "worker");
    const durable = await durableRoundTrip(webkv, "worker");
    const remote = kvUrl ? await remoteRoundTrip(webkv, kvUrl, "worker") : null;
    self.postMessage({ scenario, durable, remote });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
}

self.addEventListener("message", (event) => main(event.data?.kvUrl ?? null), { once: true });
