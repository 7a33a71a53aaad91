// Listens for `count` messages, printing each with the time it arrived, then
// closes (with a watch open too) and prints the time it closed; the process
// must then exit at once. Usage: listen.js <file> <count>
import { args, print } from "./canon.js";
import { load } from "./webkv.js";

const [file, count] = args();
const { openKv } = await load();
const kv = await openKv(file);
const watch = kv.watch([["anything"]]).getReader();
await watch.read();
let left = Number(count);
await kv.listenQueue((message) => {
  print(`message ${message} ${Date.now()}`);
  if (--left === 0) {
    // After this handler returns and its message is acknowledged.
    setTimeout(() => {
      kv.close();
      print(`closed ${Date.now()}`);
    }, 50);
  }
});
print("listenQueue ended");
