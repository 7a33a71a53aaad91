// Prints what a get of each key (JSON key arrays) gives: `ok <stamp> <value>`
// or `error <class> <message>`. Usage: get.js <file> <webkv|deno-kv> <key>...
import { args, canon, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, which, ...keys] = args();
const { openKv } = await load(which);
const kv = await openKv(file);
for (const key of keys) {
  try {
    const entry = await kv.get(JSON.parse(key));
    print(`ok ${entry.versionstamp} ${canon(entry.value)}`);
  } catch (err) {
    print(`error ${err.constructor.name} ${err.message}`);
  }
}
kv.close();
