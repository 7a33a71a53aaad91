// `n` check-guarded increments of one counter; a failed check or a
// "database is locked" (real Deno does not wait for the lock) retries.
// Usage: incr.js <file> <webkv|deno-kv> <n>
import { args, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, which, n] = args();
const { openKv } = await load(which);
const kv = await openKv(file);
let conflicts = 0;
let locked = 0;
for (let i = 0; i < Number(n); ) {
  try {
    const current = await kv.get(["counter"]);
    const result = await kv.atomic().check(current).set(["counter"], (current.value ?? 0) + 1).commit();
    if (result.ok) i++;
    else conflicts++;
  } catch (err) {
    if (!/database is locked/.test(err?.message)) throw err;
    locked++;
  }
}
print(`done conflicts=${conflicts} locked=${locked}`);
kv.close();
