// How long opening a 1,000,000-entry file takes (openKv, then one get), webkv
// vs Deno.openKv, in Deno. The file is made once with webkv (atomic batches).
//   deno run --unstable-kv -A bench/sqlite_open.mjs [file]
import { openKv } from "../pkg/deno.js";

const file = Deno.args[0] ?? `${Deno.makeTempDirSync()}/million.sqlite`;
const ENTRIES = 1_000_000;
try {
  Deno.statSync(file);
} catch {
  const kv = await openKv(file);
  for (let b = 0; b < ENTRIES; b += 1000) {
    const op = kv.atomic();
    for (let i = b; i < b + 1000; i++) op.set(["e", i], { i, s: "x".repeat(50) });
    await op.commit();
  }
  kv.close();
}
const size = Deno.statSync(file).size;
const time = async (open) => {
  const started = performance.now();
  const kv = await open(file);
  const e = await kv.get(["e", ENTRIES - 1]);
  const ms = performance.now() - started;
  if (e.value?.i !== ENTRIES - 1) throw new Error("missing entry");
  kv.close();
  return ms;
};
const results = { webkv: [], deno: [] };
for (let r = 0; r < 5; r++) {
  results.webkv.push(await time(openKv));
  results.deno.push(await time((f) => Deno.openKv(f)));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[2].toFixed(1);
console.log(`1M entries (${(size / 1e6).toFixed(0)} MB): open + one get, median of 5: webkv ${median(results.webkv)} ms, Deno.openKv ${median(results.deno)} ms (webkv ${results.webkv.map((x) => x.toFixed(1)).join(", ")}; Deno ${results.deno.map((x) => x.toFixed(1)).join(", ")})`);
