// Loads webkv in whichever runtime runs the script (Node 24, Bun: the node
// entry; Deno: the deno entry), and real Deno's KV when asked for ("deno-kv").
export async function load(which = "webkv") {
  if (which === "deno-kv") return { openKv: (p) => Deno.openKv(p), KvU64: Deno.KvU64 };
  const entry = globalThis.Deno ? "../../../pkg/deno.js" : "../../../pkg/node.js";
  return await import(new URL(entry, import.meta.url).href);
}
