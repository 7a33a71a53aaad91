// Prints every entry of a file, then waits for one queue message (up to
// `timeout` ms) and prints it. Usage: read.js <file> <webkv|deno-kv> [timeout]
import { args, canon, dump, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, which, timeout = "4000"] = args();
const { openKv } = await load(which);
const kv = await openKv(file);
for (const line of await dump(kv)) print(`entry ${line}`);
const started = Date.now();
let timer;
const got = await Promise.race([
  new Promise((resolve) => kv.listenQueue((m) => resolve(m))),
  new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), Number(timeout)))),
]);
clearTimeout(timer);
print(`message ${canon(got)} after ${Date.now() - started}`);
kv.close();
// webkv: nothing is left to keep the process alive (the test times its exit).
// Real Deno's listenQueue and timers may outlive close(): leave at once.
if (which === "deno-kv") Deno.exit(0);
