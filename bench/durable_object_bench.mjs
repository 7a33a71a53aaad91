// webkv on a Durable Object's SQLite storage (openKv(ctx.storage)) against
// the object's own key-value API (ctx.storage.put/get/list) on the same
// database, in real local workerd with storage on disk. Each workload runs
// whole inside one request; the time is the request's, from here (workerd's
// clock does not move inside a request).
//
//   node bench/durable_object_bench.mjs [--n 2000] [--runs 3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call, startWorkerd } from "../tests/durable-object/workerd.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const n = arg("n", 2000);
const runs = arg("runs", 3);
const dir = mkdtempSync(join(tmpdir(), "webkv-do-bench-"));
const workerd = await startWorkerd(join(dir, "config"), join(dir, "storage"));
const workloads = [
  "webkv set", "storage put", "webkv get", "storage get", "webkv get (:memory:)", "webkv list", "storage list", "webkv get+check+set", "webkv sum",
];
const results = Object.fromEntries(workloads.map((w) => [w, []]));
try {
  for (let run = 0; run < runs; run++) {
    for (const workload of workloads) {
      const started = performance.now();
      const [status, body] = await call(workerd.base, `bench-${run}`, "bench", { workload, n });
      if (status !== 200) throw new Error(`${workload}: ${JSON.stringify(body)}\n${workerd.output()}`);
      results[workload].push((n / (performance.now() - started)) * 1000);
    }
  }
} finally {
  await workerd.stop();
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| workload (n = ${n}, median of ${runs}) | ops/s | runs |`);
console.log("|---|--:|---|");
for (const workload of workloads) {
  const xs = results[workload];
  console.log(`| ${workload} | ${Math.round(median(xs)).toLocaleString("en")} | ${xs.map((x) => Math.round(x)).join(", ")} |`);
}
