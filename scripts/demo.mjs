// The main demo: Deno KV code, unchanged, on webkv's default database
// (openKv() with no path: in memory outside a browser). Run: npm run demo
import { openKv, KvU64 } from "webkv";

const kv = await openKv();
const log = (...args) => console.log(...args);

log("webkv demo: a tiny shared todo list, written as Deno KV code\n");

const todos = [
  { title: "write the core", done: true },
  { title: "ship the wasm package", done: true },
  { title: "persist to IndexedDB", done: false },
];
for (const [i, todo] of todos.entries()) {
  const { versionstamp } = await kv.set(["todos", i], { ...todo, created: new Date() });
  log(`set ["todos", ${i}] → versionstamp ${versionstamp}`);
}

log("\nlist({ prefix: [\"todos\"] }) in pages of 2, resumed with cursors:");
let cursor;
do {
  const page = kv.list({ prefix: ["todos"] }, { limit: 2, cursor });
  for await (const { key, value } of page) log(" ", JSON.stringify(key), value.done ? "✔" : "·", value.title);
  cursor = page.cursor;
} while (cursor);

log("\nan optimistic read-modify-write with atomic().check():");
const entry = await kv.get(["todos", 2]);
const first = await kv.atomic()
  .check(entry)
  .set(entry.key, { ...entry.value, done: true })
  .sum(["stats", "completed"], 1n)
  .commit();
const stale = await kv.atomic().check(entry).set(entry.key, { ...entry.value, title: "lost update" }).commit();
log("  first commit:", first.ok, "| second commit with the stale versionstamp:", stale.ok);

const completed = await kv.get(["stats", "completed"]);
log("  completed counter:", completed.value instanceof KvU64, completed.value.value);

await kv.set(["session", "demo"], "expires soon", { expireIn: 50 });
await new Promise((resolve) => setTimeout(resolve, 100));
log("\nexpireIn: after 100 ms the 50 ms entry is", (await kv.get(["session", "demo"])).value);

kv.close();
log("\ndone");
