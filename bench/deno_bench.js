// webkv (pkg/deno.js) vs Deno's own `Deno.openKv(":memory:")`, in one Deno process.
//
//   deno run -A --unstable-kv --v8-flags=--expose-gc bench/deno_bench.js [--runs 3] [--only set,get]
//
// WEBKV_PKG=/path/to/pkg overrides which build of the package is measured.
import { pathToFileURL } from "node:url";
import { compare, N, table } from "./workloads.js";

const args = Deno.args;
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt("runs", 3));
const only = opt("only", null)?.split(",") ?? null;

const pkgDir = Deno.env.get("WEBKV_PKG");
const pkgUrl = pkgDir ? new URL("deno.js", pathToFileURL(pkgDir.replace(/\/?$/, "/"))) : new URL("../pkg/deno.js", import.meta.url);
const webkvMod = await import(pkgUrl.href);

const webkv = { name: "webkv", openKv: () => webkvMod.openKv(":memory:"), KvU64: webkvMod.KvU64 };
const deno = { name: "Deno :memory:", openKv: () => Deno.openKv(":memory:"), KvU64: Deno.KvU64 };

const targets = {
  set: ["≥", 2],
  get: ["≥", 3],
  list: ["≥", 1.5],
  checkset: ["≥", 3],
  sum: ["≥", 2],
};

const log = (line) => console.error(`[deno] ${line}`);
const rows = await compare(webkv, deno, { runs, only, log });

console.log(`## In Deno: webkv vs Deno KV \`:memory:\`

Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), N = ${N}, median of ${runs} runs after one warm-up run, fresh database per run; ratio = webkv / Deno. Targets from performance.md.

${table(rows, "webkv", "Deno :memory:", targets)}
`);
