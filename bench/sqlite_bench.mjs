// webkv on SQLite files against the same workloads on real Deno's SQLite
// backend, in the runtime that runs this script:
//   Deno:    webkv (pkg/deno.js) vs Deno.openKv(file)        (targets: ≥ 1×)
//   Node 24: webkv (pkg/node.js) vs @deno/kv openKv(file)    (target: ≥ 1.5×)
//
//   deno run --unstable-kv -A bench/sqlite_bench.mjs [--runs 3] [--only set,get]
//   .tools/node-24.21.0/bin/node bench/sqlite_bench.mjs [--runs 3]
// Every run opens a new file in a temporary directory.
import { compare, N, table } from "./workloads.js";

const isDeno = typeof Deno !== "undefined";
const argv = isDeno ? Deno.args : process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const runs = Number(opt("runs", 3));
const only = opt("only", null)?.split(",") ?? null;

const { mkdtempSync, rmSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const { join } = await import("node:path");
const dir = mkdtempSync(join(tmpdir(), "webkv-sqlite-bench-"));
let files = 0;
const fresh = () => join(dir, `db-${++files}.sqlite`);

const webkvMod = await import(new URL(isDeno ? "../pkg/deno.js" : "../pkg/node.js", import.meta.url).href);
const webkv = { name: "webkv file", openKv: () => webkvMod.openKv(fresh()), KvU64: webkvMod.KvU64 };
let peer;
if (isDeno) {
  peer = { name: "Deno file", openKv: () => Deno.openKv(fresh()), KvU64: Deno.KvU64 };
} else {
  const denoKv = await import("@deno/kv");
  peer = { name: "@deno/kv file", openKv: () => denoKv.openKv(fresh()), KvU64: denoKv.KvU64 };
}
const log = (line) => console.error(`[${isDeno ? "deno" : "node"}] ${line}`);
const rows = await compare(webkv, peer, { runs, only, log });
const target = isDeno ? [">", 1] : [">", 1.5];
const ids = ["set", "get", "list", "checkset", "sum", "inflight", "bulk"];
const runtime = isDeno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
console.log(`## ${runtime}: webkv vs ${peer.name.replace(" file", "")} on SQLite files

N = ${N}, median of ${runs} runs after a warm-up, a new file per run; ratio = webkv / peer.

${table(rows, webkv.name, peer.name, Object.fromEntries(ids.map((id) => [id, target])))}`);
rmSync(dir, { recursive: true, force: true });
