// Commits on a small file system until it is full, then frees space and
// commits again. Run inside a mount namespace whose `dir` is a small tmpfs
// (tests/sqlite/full-disk.test.mjs). Each round issues 10 commits at once
// (one group) and one more after them; commit i sets ["a", i] to a 3 KB
// string and ["b", i] to i. Prints `ack i` per commit that resolved,
// `error <name>: <message>` per distinct error, `after ack i` for the
// commits once space is back; then closes and copies the database file (and
// its WAL, if the close left one) to `out`.
// Usage: full-disk.js <dir> <webkv|deno-kv> <out>
import { args, print } from "./canon.js";
import { load } from "./webkv.js";

const [dir, which, out] = args();
const fs = globalThis.Deno ? null : await import("node:fs");
const writeFile = (path, bytes) => (fs ? fs.writeFileSync(path, bytes) : Deno.writeFileSync(path, bytes));
const remove = (path) => (fs ? fs.rmSync(path) : Deno.removeSync(path));
const copy = (from, to) => (fs ? fs.copyFileSync(from, to) : Deno.copyFileSync(from, to));

// Space that is given back once the disk is full.
writeFile(`${dir}/filler`, new Uint8Array(256 * 1024));
const { openKv } = await load(which);
const file = `${dir}/full.db`;
const kv = await openKv(file);
const errors = new Set();
const commit = (i) =>
  kv
    .atomic()
    .set(["a", i], `${i}:`.padEnd(3000, "x"))
    .set(["b", i], i)
    .commit()
    .then(
      (result) => {
        if (!result.ok) throw new Error(`commit ${i}: check failed`);
        print(`ack ${i}`);
      },
      (err) => {
        const line = `error ${err?.name}: ${err?.message}`;
        if (!errors.has(line)) print(line);
        errors.add(line);
        return "failed";
      },
    );

let i = 0;
let failedRounds = 0;
for (let round = 0; round < 200 && failedRounds < 3; round++) {
  const group = [];
  for (let k = 0; k < 10; k++) group.push(commit(i++));
  const outcomes = await Promise.all(group);
  const alone = await commit(i++);
  if (alone === "failed" || outcomes.includes("failed")) failedRounds++;
}
print(`full after ${i} commits`);
remove(`${dir}/filler`);
for (let k = 0; k < 5; k++) {
  await kv.atomic().set(["after", k], k).commit();
  print(`after ack ${k}`);
}
kv.close();
// A WAL that the close could not checkpoint (the file system is small) is
// part of the database.
copy(file, out);
try {
  copy(`${file}-wal`, `${out}-wal`);
} catch {
  // Checkpointed and removed at close.
}
print("done");
