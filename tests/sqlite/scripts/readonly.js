// Reads a file this process may not write, then tries to write it.
// Usage: readonly.js <file> <webkv|deno-kv>
import { args, canon, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, which] = args();
const { openKv } = await load(which);
const kv = await openKv(file);
print(`read ${canon((await kv.get(["k"])).value)}`);
for (const write of [() => kv.set(["k"], 2), () => kv.enqueue(1), () => kv.delete(["k"])]) {
  try {
    await write();
    print("wrote");
  } catch (err) {
    print(`${err.constructor.name}: ${err.message}`);
  }
}
kv.close();
