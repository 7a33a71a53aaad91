// The app each bundler builds: `import ... from "webkv"` and nothing
// webkv-specific in any bundler's configuration. It runs the smoke scenario
// (copied here from tests/smoke/scenario.js) and a named (IndexedDB)
// database round trip in the page, then both again in a module Worker, and
// leaves the results in window.__packaging for the test to read. With
// `#kv=URL` (a kv-proxy in front of denokv), a KV Connect round trip too,
// through `import "webkv/kv-connect"`.
// Named imports, as apps write them: with them, a bundler that trusted a
// wrong "sideEffects" would skip the entry that registers the wasm loader.
import { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv } from "webkv";
import "webkv/kv-connect";
import { runScenario } from "./scenario.js";
import { durableRoundTrip } from "./durable.js";
import { remoteRoundTrip } from "./remote.js";

const webkv = { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv };

const kvUrl = new URLSearchParams(location.hash.slice(1)).get("kv");
const state = { done: false, errors: [], page: null, durable: null, remote: null, worker: null };
window.__packaging = state;

function runInWorker() {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    worker.postMessage({ kvUrl });
    const timer = setTimeout(() => resolve({ error: "the worker did not answer within 60 s" }), 60_000);
    worker.onmessage = (event) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      clearTimeout(timer);
      worker.terminate();
      resolve({ error: `worker error: ${event.message || "the worker module did not load"}` });
    };
  });
}

async function main() {
  try {
    state.page = await runScenario(webkv, "page");
    state.durable = await durableRoundTrip(webkv, "page");
    if (kvUrl) state.remote = await remoteRoundTrip(webkv, kvUrl, "page");
  } catch (error) {
    state.errors.push(`page: ${error?.stack ?? error}`);
  }
  try {
    state.worker = await runInWorker();
  } catch (error) {
    state.errors.push(`worker: ${error?.stack ?? error}`);
  }
  state.done = true;
}

main();
