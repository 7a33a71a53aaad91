// Dedicated module worker for the concurrency test: imports the implementation
// itself (/pkg/browser.js for impl=webkv), opens the database, waits for "go"
// on a BroadcastChannel, runs the increments and posts the result.
import * as lib from "./impl.js";
import { increments, waitMessage } from "./helpers.js";

self.onmessage = async ({ data: { name, n, channel } }) => {
  try {
    const kv = await lib.openKv(name);
    const go = waitMessage(channel);
    self.postMessage({ armed: true });
    await go;
    self.postMessage({ result: await increments(kv, n, true) });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
};
self.postMessage({ loaded: true });
