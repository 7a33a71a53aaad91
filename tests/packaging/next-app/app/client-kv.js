"use client";
// The smoke scenario (openKv(":memory:"), set, get, list with cursors,
// atomic, delete, close) and a named database (IndexedDB) round trip in the
// browser. The result goes into the DOM as JSON, where the test reads it.
import { useEffect, useState } from "react";
// Named imports, as apps write them (see app/src/main.js).
import { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv } from "webkv";
import { runScenario } from "../lib/scenario.js";
import { durableRoundTrip } from "../lib/durable.js";

const webkv = { AtomicOperation, deleteKv, Kv, KvListIterator, KvU64, openKv };

// Once per page load: React's strict mode (on in `next dev`) runs effects
// twice, and two runs of the round trip would delete each other's database.
let running = null;
function runOnce() {
  running ??= (async () => {
    try {
      return { scenario: await runScenario(webkv, "next client component"), durable: await durableRoundTrip(webkv, "next") };
    } catch (error) {
      return { error: String(error?.stack ?? error) };
    }
  })();
  return running;
}

export default function ClientKv() {
  const [result, setResult] = useState(null);
  useEffect(() => {
    runOnce().then(setResult);
  }, []);
  return (
    <pre id="result" data-done={result ? "yes" : "no"}>
      {result ? JSON.stringify(result) : "running"}
    </pre>
  );
}
