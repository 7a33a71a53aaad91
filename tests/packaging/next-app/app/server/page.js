// A server component rendered on each request: webkv runs in Next's server
// bundle, which moves webkv's files into .next/ (no .wasm beside node.js).
import { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv } from "webkv";
import { runScenario } from "../../lib/scenario.js";

export const dynamic = "force-dynamic";

const webkv = { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv };

export default async function ServerPage() {
  let result;
  try {
    result = { scenario: await runScenario(webkv, "next server component") };
  } catch (error) {
    result = { error: String(error?.stack ?? error) };
  }
  return (
    <main>
      <h1>webkv in a server component</h1>
      <pre id="result">{JSON.stringify(result)}</pre>
    </main>
  );
}
