// Prints the top self-time functions of a V8 .cpuprofile (Node or Deno --cpu-prof).
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [count]
import { readFileSync } from "node:fs";

const [file, count = "25"] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const n = byId.get(prof.samples[i]);
  const cf = n.callFrame;
  const name = `${cf.functionName || "(anonymous)"}  ${cf.url.split("/").slice(-1)[0]}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
  self.set(name, (self.get(name) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`);
for (const [name, us] of rows) {
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
}
