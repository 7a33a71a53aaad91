// The implementation under test, chosen by the ?impl= query of the page (or
// of the worker script):
// - "webkv" (default): the package, /pkg/browser.js;
// - "raw": rawkv.js, a raw-IndexedDB stand-in (positive control: the tests
//   must pass with it, so the harness and the tests are sound);
// - "memory": the package with every name replaced by ":memory:", as the
//   browser build behaved before its IndexedDB backend (negative control: the
//   persistence, concurrency and crash tests must fail with it).
const impl = new URLSearchParams(self.location.search).get("impl") ?? "webkv";
if (!["webkv", "raw", "memory"].includes(impl)) throw new Error(`unknown impl ${impl}`);

const mod = impl === "raw" ? await import("./rawkv.js") : await import("/pkg/browser.js");

export const name = impl;
export const { deleteKv, KvU64 } = mod;
export const openKv = impl === "memory" ? () => mod.openKv(":memory:") : mod.openKv;
