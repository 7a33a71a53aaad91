// Profiling helper: runs one workload on webkv only, several times, so that a
// CPU profile shows where webkv spends its time. Works in Node and Deno:
//
//   node --cpu-prof --cpu-prof-dir=bench/results/prof bench/profile.mjs get 5
//   deno run -A --cpu-prof --cpu-prof-dir=bench/results/prof bench/profile.mjs get 5
//   node bench/cpuprofile-top.mjs bench/results/prof/<file>.cpuprofile
import { pathToFileURL } from "node:url";
import { fmt, runOnce, workloads } from "./workloads.js";

const isDeno = typeof Deno !== "undefined";
const args = isDeno ? Deno.args : process.argv.slice(2);
const [id = "get", times = "5"] = args;
const env = (k) => (isDeno ? Deno.env.get(k) : process.env[k]);
const pkgDir = env("WEBKV_PKG");
const entry = isDeno ? "deno.js" : "node.js";
const url = pkgDir
  ? new URL(entry, pathToFileURL(pkgDir.replace(/\/?$/, "/"))).href
  : new URL(`../pkg/${entry}`, import.meta.url).href;
const m = await import(url);
const impl = { name: "webkv", openKv: () => m.openKv(":memory:"), KvU64: m.KvU64 };
const w = workloads.find((w) => w.id === id) ?? (() => { throw new Error(`no workload ${id}`); })();
if (w.setup) {
  // Read workloads: fill once, so the profile is (almost) all reads.
  const kv = await impl.openKv();
  await w.setup(kv);
  for (let i = 0; i < Number(times); i++) {
    const t0 = performance.now();
    const ops = await w.run(kv, impl);
    console.log(`${id} ${fmt((ops / (performance.now() - t0)) * 1000)}/s`);
  }
  kv.close();
} else {
  for (let i = 0; i < Number(times); i++) console.log(`${id} ${fmt(await runOnce(w, impl))}/s`);
}
