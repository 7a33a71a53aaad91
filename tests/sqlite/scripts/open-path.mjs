// openKv(path) in the system Node (20, no node:sqlite): prints the error.
import { openKv } from "webkv";

try {
  await openKv(process.argv[2]);
  console.log("opened");
} catch (err) {
  console.log(`${err.constructor.name}: ${err.message}`);
}
