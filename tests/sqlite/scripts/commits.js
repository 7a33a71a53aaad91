// Commits forever, from `first` on: commit i sets ["a", i], ["b", i] and
// ["c", i] to i and bumps a KvU64 counter, all in one atomic commit, and
// prints `ack i` once the commit has resolved. The parent kills it.
// Usage: commits.js <file> <first>
import { args, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, first] = args();
const { openKv, KvU64 } = await load();
const kv = await openKv(file);
for (let i = Number(first); ; i++) {
  await kv
    .atomic()
    .set(["a", i], i)
    .set(["b", i], i)
    .set(["c", i], { i, pad: "x".repeat(i % 2000) })
    .sum(["count"], 1n)
    .commit();
  print(`ack ${i}`);
}
