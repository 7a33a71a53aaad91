// Selects the implementation under test from the KV_TARGET env var:
//   deno  (default): real Deno's Deno.openKv / Deno.KvU64 (run with --unstable-kv)
//   webkv:           the webkv npm package built into <repo>/pkg/
// Every test file imports openKv/KvU64/TARGET from here and nothing else from
// the implementation, so the very same tests run against both targets.

export const TARGET = Deno.env.get("KV_TARGET") || "deno";

let impl;
if (TARGET === "deno") {
  if (typeof Deno.openKv !== "function") {
    throw new Error("Deno.openKv is missing: run `deno test --unstable-kv`");
  }
  impl = { openKv: (path) => Deno.openKv(path), KvU64: Deno.KvU64 };
} else if (TARGET === "webkv") {
  // Dynamic import so the deno target works while pkg/ does not exist yet.
  const mod = await import(new URL("../../pkg/deno.js", import.meta.url).href);
  impl = { openKv: mod.openKv, KvU64: mod.KvU64 };
} else {
  throw new Error(`Unknown KV_TARGET ${JSON.stringify(TARGET)} (expected "deno" or "webkv")`);
}

/** Opens a database; defaults to ":memory:", like the tests' Deno code. */
export const openKv = (path = ":memory:") => impl.openKv(path);
export const KvU64 = impl.KvU64;
