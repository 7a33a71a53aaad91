// Dedicated module worker of tabs.test.mjs: imports the implementation itself
// (/pkg/browser.js for impl=webkv), opens the database, watches ["w"] with
// and without raw: true, and posts every emission to the page as
// { emit: { raw, t, value, versionstamp } } (t = Date.now() in the worker).
import * as lib from "./impl.js";
import { collectWatch } from "./tabs-helpers.js";

self.onmessage = async ({ data: { name } }) => {
  try {
    const kv = await lib.openKv(name);
    const started = [false, true].map((raw) =>
      collectWatch(kv, [["w"]], { raw }, [], (item) => self.postMessage({ emit: { raw, ...item } })));
    await Promise.all(started);
    self.postMessage({ watching: true });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
};
self.postMessage({ loaded: true });
