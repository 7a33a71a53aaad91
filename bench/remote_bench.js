// KV Connect: webkv's remote client vs real Deno's remote client, against the same local denokv,
// in one Deno process.
//
//   deno run -A --unstable-kv bench/remote_bench.js [--runs 3] [--only set,get,list] [--n 2000]
//
// Uses KV_CONNECT_URL / KV_CONNECT_TOKEN when set (bench/run.sh starts denokv outside the
// pinned core), else starts its own denokv (tests/kvconnect/denokv.mjs). Each run gets an
// emptied database. The webkv side is skipped, with a note, while pkg/'s openKv() rejects URLs
// ("KV Connect URLs are not supported yet"). WEBKV_PKG=/path/to/pkg picks the build measured.
import { pathToFileURL } from "node:url";
import { fmt, median } from "./workloads.js";
import { denokvVersion, startDenokv } from "../tests/kvconnect/denokv.mjs";

const args = Deno.args;
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt("runs", 3));
const only = opt("only", null)?.split(",") ?? null;
const N = Number(opt("n", 2000));
const log = (line) => console.error(`[remote] ${line}`);

let url = Deno.env.get("KV_CONNECT_URL");
let token = Deno.env.get("KV_CONNECT_TOKEN");
let own = null;
if (!url || !token) {
  own = await startDenokv();
  ({ url, token } = own);
}

const pkgDir = Deno.env.get("WEBKV_PKG");
const pkgUrl = pkgDir ? new URL("deno.js", pathToFileURL(pkgDir.replace(/\/?$/, "/"))) : new URL("../pkg/deno.js", import.meta.url);
const webkvMod = await import(pkgUrl.href);

async function wipe(kv) {
  for (;;) {
    const keys = [];
    for await (const e of kv.list({ prefix: [] }, { batchSize: 500 })) keys.push(e.key);
    if (keys.length === 0) return;
    for (let i = 0; i < keys.length; i += 500) {
      const op = kv.atomic();
      for (const k of keys.slice(i, i + 500)) op.delete(k);
      await op.commit();
    }
  }
}

const deno = {
  name: "Deno remote",
  open() {
    Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
    return Deno.openKv(url);
  },
};
const webkv = { name: "webkv remote", open: () => webkvMod.openKv(url, { accessToken: token }) };

let webkvSkip = null;
try {
  (await webkv.open()).close();
} catch (e) {
  if (/KV Connect URLs are not supported yet/.test(e.message)) webkvSkip = e.message;
  else throw e;
}

const PAYLOAD = "x".repeat(100);
const key = (i) => ["bench", i];
const value = (i) => ({ i, s: PAYLOAD });
function check(cond, message) {
  if (!cond) throw new Error(`benchmark self-check failed: ${message}`);
}
async function fill(kv) {
  for (let b = 0; b < N; b += 500) {
    const op = kv.atomic();
    for (let i = b; i < Math.min(b + 500, N); i++) op.set(key(i), value(i));
    check((await op.commit()).ok, "fill");
  }
}

const workloads = [
  {
    id: "set",
    label: `sequential set ×${N}, each awaited`,
    unit: "sets/s",
    async run(kv) {
      for (let i = 0; i < N; i++) await kv.set(key(i), value(i));
      check((await kv.get(key(N - 1))).value?.i === N - 1, "set: last entry");
      return N;
    },
  },
  {
    id: "get",
    label: `sequential get ×${N}, each awaited`,
    unit: "gets/s",
    setup: fill,
    async run(kv) {
      let sum = 0;
      for (let i = 0; i < N; i++) sum += (await kv.get(key(i))).value.i;
      check(sum === (N * (N - 1)) / 2, "get: values");
      return N;
    },
  },
  {
    id: "list",
    label: `list ${N} by prefix`,
    unit: "entries/s",
    setup: fill,
    async run(kv) {
      let count = 0;
      for await (const e of kv.list({ prefix: ["bench"] })) {
        check(e.value.i === count, "list: order");
        count++;
      }
      check(count === N, "list: count");
      return count;
    },
  },
];

async function runOnce(w, impl) {
  const kv = await impl.open();
  try {
    await wipe(kv);
    if (w.setup) await w.setup(kv);
    const t0 = performance.now();
    const ops = await w.run(kv);
    return (ops / (performance.now() - t0)) * 1000;
  } finally {
    kv.close();
  }
}

const impls = webkvSkip ? [deno] : [webkv, deno];
const rows = [];
let k = 0;
for (const w of workloads) {
  if (only && !only.includes(w.id)) continue;
  const res = new Map(impls.map((i) => [i, []]));
  for (let r = -1; r < runs; r++) {
    const order = (r + k) % 2 === 0 ? impls : [...impls].reverse();
    for (const impl of order) {
      const opsPerSec = await runOnce(w, impl);
      if (r >= 0) res.get(impl).push(opsPerSec);
      log(`${w.id.padEnd(5)} ${r < 0 ? "warm-up" : `run ${r + 1} `} ${impl.name.padEnd(13)} ${fmt(opsPerSec)}/s`);
    }
  }
  rows.push({ w, res });
  k++;
}

const version = denokvVersion();
const lines = [
  "| workload | webkv remote | Deno remote | ratio (webkv / Deno) | runs (webkv / Deno) |",
  "|---|--:|--:|--:|---|",
];
for (const { w, res } of rows) {
  const d = res.get(deno);
  const md = median(d);
  if (webkvSkip) {
    lines.push(`| ${w.label} (${w.unit}) | skipped | ${fmt(md)} | — | — / ${d.map(fmt).join(", ")} |`);
  } else {
    const wv = res.get(webkv);
    const mw = median(wv);
    lines.push(
      `| ${w.label} (${w.unit}) | ${fmt(mw)} | ${fmt(md)} | ${(mw / md).toFixed(2)}× | ${wv.map(fmt).join(", ")} / ${
        d.map(fmt).join(", ")
      } |`,
    );
  }
}
console.log(`## KV Connect: webkv's remote client vs Deno's, same local denokv

Deno ${Deno.version.deno}, denokv ${version ?? "(version unknown)"} on 127.0.0.1 (SQLite file), N = ${N}, median of ${runs} runs after one warm-up run, emptied database per run; ratio = webkv / Deno (> 1: webkv faster).${
  webkvSkip ? `\n\n**webkv side skipped**: pkg/'s openKv() says "${webkvSkip}".` : ""
}

${lines.join("\n")}
`);
await own?.stop();
