// Run by node.test.mjs in a Node subprocess. "close": opens ":memory:",
// listens, enqueues a message delayed by a minute, closes and prints
// "closed"; "watch": cancels a watch read waiting for an entry that expires
// in a minute, closes and prints "closed". Nothing may keep the process
// alive after that (real Deno exits at once). "long": a watch on an entry expiring in 26 days and a message
// delayed 26 days (JS timers over 2^31 - 1 ms fire at once), then prints how
// many timers were started and how much wasm memory grew over one second.
import { openKv, wasmMemoryBytes } from "webkv";

const DAY = 24 * 60 * 60 * 1000;
const realSetTimeout = globalThis.setTimeout;
const pause = (ms) => new Promise((resolve) => realSetTimeout(resolve, ms));

const kv = await openKv(":memory:");
if (process.argv[2] === "watch") {
  // A watch read waiting for an expiry a minute away, cancelled.
  await kv.set(["w"], 1, { expireIn: 60_000 });
  const reader = kv.watch([["w"]]).getReader();
  await reader.read();
  const waiting = reader.read();
  await pause(100);
  await reader.cancel();
  await waiting;
  kv.close();
  console.log("closed");
} else if (process.argv[2] === "close") {
  const listening = kv.listenQueue(() => console.log("delivered"));
  await kv.enqueue("later", { delay: 60_000 });
  await pause(100);
  kv.close();
  await listening;
  console.log("closed");
} else {
  await kv.set(["w"], 1, { expireIn: 26 * DAY });
  const reader = kv.watch([["w"]], { raw: true }).getReader();
  await reader.read();
  let emitted = 0;
  const reading = (async () => {
    while (!(await reader.read()).done) emitted++;
  })();
  const listening = kv.listenQueue(() => console.log("delivered"));
  await kv.enqueue("later", { delay: 26 * DAY });
  await pause(100);
  let timers = 0;
  globalThis.setTimeout = function (...args) {
    timers++;
    return realSetTimeout.apply(this, args);
  };
  const memoryBefore = wasmMemoryBytes();
  await pause(1000);
  globalThis.setTimeout = realSetTimeout;
  const grew = wasmMemoryBytes() - memoryBefore;
  kv.close();
  await reading;
  await listening;
  console.log(JSON.stringify({ timers, emitted, grew }));
}
