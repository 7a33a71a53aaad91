// Enqueues one message and exits. Usage: enqueue.js <file> <webkv|deno-kv> <delay> <text>
import { args, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, which, delay, text] = args();
const { openKv } = await load(which);
const kv = await openKv(file);
// The due time is stamped inside the commit, between these two prints.
print(`enqueuing ${Date.now()}`);
await kv.enqueue(text, { delay: Number(delay) });
print(`enqueued ${Date.now()}`);
kv.close();
