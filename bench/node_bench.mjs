// webkv (pkg/node.js) vs @deno/kv's pure-JS in-memory store (`openKv("")`), in one Node process.
//
//   node --expose-gc bench/node_bench.mjs [--runs 3] [--only set,get]
//
// WEBKV_PKG=/path/to/pkg overrides which build of the package is measured.
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
import * as denoKv from "@deno/kv";
import { compare, N, table } from "./workloads.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt("runs", 3));
const only = opt("only", null)?.split(",") ?? null;

const pkgUrl = process.env.WEBKV_PKG
  ? pathToFileURL(`${process.env.WEBKV_PKG.replace(/\/?$/, "/")}node.js`)
  : new URL("../pkg/node.js", import.meta.url);
const webkvMod = await import(pkgUrl.href);
const denoKvVersion = JSON.parse(
  readFileSync(new URL("../node_modules/@deno/kv/package.json", import.meta.url), "utf8"),
).version;

const webkv = { name: "webkv", openKv: () => webkvMod.openKv(":memory:"), KvU64: webkvMod.KvU64 };
// No path (or "") selects @deno/kv's "lightweight In-Memory backend": JS-only, structuredClone'd values.
const peer = { name: "@deno/kv mem", openKv: () => denoKv.openKv(""), KvU64: denoKv.KvU64 };

const ids = ["set", "get", "list", "checkset", "sum", "inflight", "bulk"];
const targets = Object.fromEntries(ids.map((id) => [id, [">", 1]]));

const log = (line) => console.error(`[node] ${line}`);
const rows = await compare(webkv, peer, { runs, only, log });

console.log(`## In Node: webkv vs @deno/kv in-memory

Node ${process.version} (V8 ${process.versions.v8}), @deno/kv ${denoKvVersion} \`openKv("")\` (pure-JS in-memory implementation), N = ${N}, median of ${runs} runs after one warm-up run, fresh database per run; ratio = webkv / @deno/kv. Target: faster on every workload.

${table(rows, "webkv", "@deno/kv mem", targets)}
`);
