// Writes the interop sample into a file: every value encoding, a key ending
// in a commit versionstamp, an entry that has expired, one that has not, and
// a delayed queue message. Prints `stamp <key> <versionstamp>` lines.
// Usage: write.js <file> <webkv|deno-kv>
import { args, canonKey, print, sampleValues } from "./canon.js";
import { load } from "./webkv.js";

const [file, which] = args();
const { openKv, KvU64 } = await load(which);
const kv = await openKv(file);
for (const [key, value] of sampleValues(KvU64)) {
  const { versionstamp } = await kv.set(key, value);
  print(`stamp ${canonKey(key)} ${versionstamp}`);
}
const { versionstamp } = await kv.atomic().set(["vs", kv.commitVersionstamp()], "stamped").commit();
print(`stamp ["vs",${JSON.stringify(versionstamp)}] ${versionstamp}`);
await kv.set(["expired"], "gone", { expireIn: 1 });
await kv.set(["expires later"], "here", { expireIn: 3_600_000 });
await kv.enqueue({ from: which, n: 42n }, { delay: 800 });
await new Promise((r) => setTimeout(r, 20));
kv.close();
print("done");
