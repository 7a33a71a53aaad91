// webkv's durable browser database vs raw IndexedDB, idb-keyval and Dexie, in
// headless Chromium, in one run: workloads 1–4 with every store on one page
// origin, the cold open with each database on an origin of its own (see urlFor).
//
//   node bench/idb/run.mjs [--runs 5] [--cold-runs 3] [--only inflight,set,get,list,cold]
//                          [--cold-sizes 100000,1000000] [--cold-list 10000]
//                          [--cold-dexie-max N] [--no-memory]
//
// CHROMIUM=/path/to/chromium overrides the browser (default /usr/bin/chromium);
// WEBKV_PKG=/path/to/pkg overrides which build of the package is served as /pkg/.
// Progress goes to stderr, a markdown section to stdout.
import { cp, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchPersistentChromium } from "../../tests/chromium.mjs";
import { startStaticServer } from "../../tests/static-server.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt("runs", 5));
const coldRuns = Number(opt("cold-runs", Math.min(runs, 3))); // each is a browser launch per store
const only = opt("only", null)?.split(",") ?? null;

// Sizes: each timed run takes roughly 0.1–0.5 s on the slowest peer.
const N = { inflight: 500, set: 300, get: 1000, list: 10_000 };
// Cold databases: their sizes, the entries a cold list reads, the largest
// size Dexie is loaded at, and whether webkv's memory run (1,000 random
// gets, a list of everything, every entry read one by one) runs.
const coldSizes = opt("cold-sizes", "100000,1000000").split(",").map(Number);
const coldListN = Number(opt("cold-list", 10_000));
const dexieMax = Number(opt("cold-dexie-max", Infinity));
const withMemory = !args.includes("--no-memory");
const SETTLE_MS = 500; // idle time after a fresh browser's page load, before the cold open

const PEERS = [
  ["webkv", "webkv"],
  ["idb", "raw IndexedDB"],
  ["idb-keyval", "idb-keyval"],
  ["dexie", "Dexie"],
];
// Run only in the workloads named: raw IndexedDB committing explicitly, to
// show how much of webkv's sequential set is that call.
const EXTRA_PEERS = { set: [["idb-commit", "raw IndexedDB with tx.commit()"]] };
const WORKLOADS = [
  { id: "inflight", label: "100 concurrent sets", unit: "sets/s", target: [5, "≥ 5× raw IDB"] },
  { id: "set", label: "sequential awaited set", unit: "sets/s", target: [0.9, "≥ 0.9× raw IDB"] },
  { id: "get", label: "sequential get", unit: "gets/s", target: [20, "≥ 20× raw IDB"] },
  { id: "list", label: "list 10,000 by prefix", unit: "entries/s", target: [2, "≥ 2× raw IDB"] },
];
const selected = (id) => !only || only.includes(id);

if (![...WORKLOADS.map((w) => w.id), "cold"].some(selected)) {
  console.log("## In Chromium: webkv vs IndexedDB, idb-keyval and Dexie\n\nskipped: none of inflight, set, get, list, cold selected\n");
  process.exit(0);
}

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const scratch = await mkdtemp(join(tmpdir(), "webkv-idb-bench-"));
const profile = join(scratch, "profile");
const hasPkg = async (dir) =>
  (await Promise.all(
    ["browser.js", "kv.js", "v8.js", "webkv_wasm.js", "webkv_wasm_bg.wasm"].map((f) => stat(join(dir, f)).catch(() => null)),
  )).every(Boolean);
// Others may rebuild pkg/ at any moment: serve a private copy (run.sh passes its own in WEBKV_PKG).
let pkgDir = process.env.WEBKV_PKG ? resolve(process.env.WEBKV_PKG) : null;
if (pkgDir === null) {
  pkgDir = join(scratch, "pkg");
  for (let attempt = 1; attempt <= 5; attempt++) {
    await rm(pkgDir, { recursive: true, force: true });
    if (await cp(join(root, "pkg"), pkgDir, { recursive: true }).then(() => hasPkg(pkgDir), () => false)) break;
    if (attempt < 5) {
      console.error("[idb] pkg/ is being rebuilt; retrying in 20 s");
      await new Promise((r) => setTimeout(r, 20_000));
    }
  }
}
if (!(await hasPkg(pkgDir))) {
  console.error(`${pkgDir} is missing files: build pkg/ first (node scripts/build.mjs), or retry if it is being rebuilt`);
  await rm(scratch, { recursive: true, force: true });
  process.exit(1);
}

// ---- static server: the repo root, with /pkg/ from WEBKV_PKG ----
const ROUTES = [["/pkg/", pkgDir], ["/", root]];
// One port is one origin. Workloads 1–4 run every store on the "main" origin.
// Chromium keeps one LevelDB per origin, holding all of its databases, so
// each cold-open database gets an origin of its own (else every cold open
// would also load the other stores' 100,000 entries and the garbage of the
// earlier workloads); the "wake" origin only gets a freshly launched
// browser's IndexedDB going before a cold open.
const servers = new Map();
async function urlFor(origin) {
  if (!servers.has(origin)) servers.set(origin, await startStaticServer({ routes: ROUTES }));
  return `${servers.get(origin).origin}/bench/idb/page.html`;
}
const pageUrl = await urlFor("main");

// ---- browser ----
// A persistent context on a profile directory on disk: Playwright's ordinary
// contexts are off-the-record, where Chromium keeps IndexedDB in memory.
const launch = () =>
  launchPersistentChromium(profile, { args: ["--js-flags=--expose-gc"] });
let context = null;
async function newPage(url = pageUrl) {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`[idb] page error: ${err.message}`));
  page.on("console", (m) => m.type() === "error" && console.error(`[idb] console: ${m.text()}`));
  page.on("response", (r) => r.status() >= 400 && console.error(`[idb] HTTP ${r.status()} ${r.url()}`));
  const res = await page.goto(url);
  if (!res?.ok()) throw new Error(`${url}: HTTP ${res?.status()}`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
  return page;
}
const cleanup = async () => {
  await context?.close().catch(() => {});
  for (const server of servers.values()) server.close();
  await rm(scratch, { recursive: true, force: true });
};
process.on("SIGINT", () => cleanup().then(() => process.exit(130)));

const log = (line) => console.error(`[idb] ${line}`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${Math.round(x / 1e3)}k` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : `${Math.round(x)}`;
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
const fmtRatio = (r) => (r >= 10 ? `${r.toFixed(0)}×` : r >= 2 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`);
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let seq = 0;
const dbName = (peer, what) => `bench-${runId}-${what}-${peer}-${seq++}`;
// Rotates the peers' order every round (and per workload), so none always goes first.
const orderFor = (peers, round, k) => peers.map((_, i) => peers[(i + round + k) % peers.length]);

const results = {}; // workload id → peer id → [ops/s or ms per round]
const notes = [];
let version = "";
let persisted = null;
const t0 = Date.now();
const elapsed = () => `${Math.round((Date.now() - t0) / 1000)} s`;

try {
  context = await launch();
  version = context.browser()?.version() ?? "";
  let page = await newPage();
  const ua = await page.evaluate(() => window.bench.userAgent);
  version ||= /Chrome\/([\d.]+)/.exec(ua)?.[1] ?? ua;

  // Does this build persist webkv's named databases? Set, close, reload, get.
  {
    const name = dbName("webkv", "probe");
    await page.evaluate(async (name) => {
      await bench.open("webkv", name);
      await bench.fill(name, "c", 1, "cold");
      await bench.close(name, false);
    }, name);
    await page.reload();
    await page.waitForFunction(() => window.benchReady === true);
    persisted = (await page.evaluate((name) => bench.cold("webkv", name, 0), name)).found;
    await page.evaluate((name) => bench.close(name, true), name);
    log(`webkv named database persisted across a reload: ${persisted}`);
  }

  // ---- workloads 1–4, all in one page ----
  let k = 0;
  for (const w of WORKLOADS) {
    if (!selected(w.id)) continue;
    const n = N[w.id];
    const peers = [...PEERS, ...(EXTRA_PEERS[w.id] ?? [])];
    const res = Object.fromEntries(peers.map(([id]) => [id, []]));
    // Read workloads fill one database per peer once; write workloads get a fresh one per run.
    const readDb = {};
    if (w.id === "get" || w.id === "list") {
      for (const [id] of PEERS) {
        readDb[id] = dbName(id, w.id);
        await page.evaluate(
          async ([peer, name, prefix, n]) => {
            await bench.open(peer, name);
            await bench.fill(name, prefix, n);
          },
          [id, readDb[id], w.id === "get" ? "g" : "l", n],
        );
      }
    }
    for (let r = -1; r < runs; r++) {
      for (const [id, label] of orderFor(peers, r + 1, k)) {
        const name = readDb[id] ?? dbName(id, w.id);
        const { ms, ops } = await page.evaluate(
          async ([peer, name, workload, n, fresh]) => {
            if (fresh) await bench.open(peer, name);
            const out = await bench.run(name, workload, n);
            if (fresh) await bench.close(name, true);
            return out;
          },
          [id, name, w.id, n, !readDb[id]],
        );
        const perSec = (ops / ms) * 1000;
        if (r >= 0) res[id].push(perSec);
        log(`${w.id.padEnd(8)} ${r < 0 ? "warm-up" : `run ${r + 1} `} ${label.padEnd(13)} ${fmt(perSec)} ${w.unit}`);
      }
    }
    for (const name of Object.values(readDb)) await page.evaluate((name) => bench.close(name, true), name);
    results[w.id] = res;
    log(`${w.id} done at ${elapsed()}`);
    k++;
  }
  await page.close();

  // ---- workload 5: cold databases (issue 13's rows) ----
  if (selected("cold")) {
    // Each store's database at each size on an origin of its own, plus
    // databases of one entry (webkv's and raw IndexedDB's): the fixed cost.
    const cases = [];
    for (const n of coldSizes) {
      for (const [peer, label] of PEERS) {
        if (peer === "idb-keyval" && n > 100_000) continue; // the issue compares raw IndexedDB and Dexie
        if (peer === "dexie" && n > dexieMax) continue;
        cases.push({ id: `${peer}-${n}`, peer, label, n });
      }
    }
    cases.push({ id: "webkv-1", peer: "webkv", label: "webkv", n: 1 }, { id: "idb-1", peer: "idb", label: "raw IndexedDB", n: 1 });
    const byId = Object.fromEntries(cases.map((c) => [c.id, c]));
    for (const c of cases) {
      c.name = dbName(c.id, "cold");
      c.url = await urlFor(`cold-${c.id}`);
      page = await newPage(c.url);
      c.fillMs = await page.evaluate(
        async ([peer, name, n]) => {
          await bench.open(peer, name);
          const ms = await bench.fill(name, "c", n, "cold");
          await bench.close(name, false);
          return ms;
        },
        [c.peer, c.name, c.n],
      );
      await page.close();
      log(`cold     fill ${String(c.n).padEnd(7)} ${c.label.padEnd(13)} ${Math.round(c.fillMs)} ms (${fmt((c.n / c.fillMs) * 1000)}/s) at ${elapsed()}`);
    }
    await context.close();
    context = null;

    // The timed items: each cold open + first get, and a cold list of
    // coldListN entries on webkv's and raw IndexedDB's databases.
    const items = cases.map((c) => ({ kind: "open", c, key: c.id }));
    for (const n of coldSizes) {
      for (const peer of ["webkv", "idb"]) {
        if (n >= coldListN) items.push({ kind: "list", c: byId[`${peer}-${n}`], key: `list-${peer}-${n}` });
      }
    }
    // Cold: before each item the browser is closed and launched again on the
    // same profile, a page of another origin uses IndexedDB (a browser
    // already in use, but nothing of this origin open), the bench page of
    // the database's origin is loaded (webkv's import and compile are timed
    // there) and left idle for a moment, and the item is timed in it.
    async function coldPage(url) {
      context = await launch();
      const other = await newPage(await urlFor("wake"));
      await other.evaluate(async () => {
        await bench.open("idb", "other-origin");
        await bench.fill("other-origin", "w", 1);
        await bench.close("other-origin", false);
      });
      await other.close();
      const p = await newPage(url);
      const load = await p.evaluate(() => bench.webkvLoad);
      await p.waitForTimeout(SETTLE_MS);
      return [p, load];
    }
    const res = Object.fromEntries(items.map((it) => [it.key, []]));
    const found = Object.fromEntries(cases.map((c) => [c.id, true]));
    const loads = []; // webkv's import and compile on every fresh page
    const wasmBytes = {}; // case id → wasm memory after 1,000 random gets
    const openWasmBytes = {}; // case id → wasm memory after the open and first get
    const getsMs = {}; // case id → ms of the 1,000 random gets after the open
    for (let r = 0; r < coldRuns; r++) {
      // One random start per size and round, the same for both stores.
      const starts = Object.fromEntries(coldSizes.map((n) => [n, Math.floor(Math.random() * (n - coldListN + 1))]));
      for (let j = 0; j < items.length; j++) {
        const it = items[(j + r) % items.length];
        const c = it.c;
        const [p, load] = await coldPage(c.url);
        loads.push(load);
        let line;
        if (it.kind === "open") {
          const probe = Math.min(Math.floor(c.n * 0.54321), c.n - 1);
          const out = await p.evaluate(([peer, name, i, n]) => bench.cold(peer, name, i, n), [c.peer, c.name, probe, c.n]);
          res[it.key].push(out);
          found[c.id] &&= out.found;
          if (out.wasmBytes !== null) (wasmBytes[c.id] ??= []).push(out.wasmBytes);
          if (out.openWasmBytes !== null) (openWasmBytes[c.id] ??= []).push(out.openWasmBytes);
          if (out.getsMs !== null) (getsMs[c.id] ??= []).push(out.getsMs);
          line = `open+get ${out.ms.toFixed(1)} ms${out.found ? "" : " (entry NOT found)"}${out.getsMs ? `, 1,000 random gets ${out.getsMs.toFixed(0)} ms` : ""}${out.wasmBytes ? `, ${mib(out.wasmBytes)} MiB after 1,000 gets` : ""}`;
        } else {
          const out = await p.evaluate(
            ([peer, name, start, count]) => bench.coldList(peer, name, start, count),
            [c.peer, c.name, starts[c.n], coldListN],
          );
          res[it.key].push(out);
          line = `list ${coldListN} from ${starts[c.n]}: ${out.ms.toFixed(1)} ms (open ${out.openMs.toFixed(1)}, list ${out.listMs.toFixed(1)})`;
        }
        await p.evaluate((name) => bench.close(name, false), c.name);
        await context.close();
        context = null;
        log(`cold     run ${r + 1}  ${String(c.n).padEnd(7)} ${c.label.padEnd(13)} ${line}; import ${load.importMs.toFixed(1)} + compile ${load.compileMs.toFixed(1)} ms`);
      }
    }
    // Memory, once: webkv's largest database, from a fresh browser.
    let memory = null;
    const memCase = byId[`webkv-${Math.max(...coldSizes)}`];
    if (withMemory && memCase) {
      const [p] = await coldPage(memCase.url);
      memory = await p.evaluate(([name, n]) => bench.memory(name, n), [memCase.name, memCase.n]);
      await p.evaluate((name) => bench.close(name, false), memCase.name);
      await context.close();
      context = null;
      for (const [step, bytes, ms] of memory) log(`memory   ${String(memCase.n).padEnd(7)} ${step}: ${mib(bytes)} MiB (${Math.round(ms)} ms)`);
    }
    results.cold = { cases, items, res, found, loads, wasmBytes, openWasmBytes, getsMs, memory, memN: memCase?.n };
    log(`cold done at ${elapsed()}`);
  }
} finally {
  await cleanup();
}

// ---- report ----
const label = Object.fromEntries(PEERS);
const lines = [
  "| workload | webkv | raw IndexedDB | idb-keyval | Dexie | webkv / raw IDB | target | status |",
  "|---|--:|--:|--:|--:|--:|--:|---|",
];
const runLines = [`| workload | ${PEERS.map(([, l]) => l).join(" | ")} |`, `|---|${PEERS.map(() => "---").join("|")}|`];
for (const w of WORKLOADS) {
  const res = results[w.id];
  if (!res) continue;
  const m = Object.fromEntries(PEERS.map(([id]) => [id, median(res[id])]));
  const ratio = m.webkv / m.idb;
  const met = ratio >= w.target[0] ? "met" : "**not met**";
  lines.push(
    `| ${w.label} (${w.unit}) | ${PEERS.map(([id]) => fmt(m[id])).join(" | ")} | ${fmtRatio(ratio)} | ${w.target[1]} | ${met} |`,
  );
  runLines.push(`| ${w.id} | ${PEERS.map(([id]) => res[id].map(fmt).join(", ")).join(" | ")} |`);
  for (const [id, extra] of EXTRA_PEERS[w.id] ?? []) {
    const m = median(res[id]);
    notes.push(
      `${w.label}, ${extra}: ${fmt(m)} ${w.unit} (runs: ${res[id].map(fmt).join(", ")}); webkv / it: ${fmtRatio(median(res.webkv) / m)}.`,
    );
  }
}
let coldReport = "";
if (results.cold) coldReport = reportCold(results.cold);

// Issue 13's rows: one table against the targets, then every run.
function reportCold({ cases, items, res, found, loads, wasmBytes, openWasmBytes, getsMs, memory, memN }) {
  const ms = (xs) => median(xs.map((o) => o.ms));
  const has = (id) => res[id]?.length > 0;
  const cell = (id) => (has(id) ? `${ms(res[id]).toFixed(1)} ms${found[id] === false ? " (entry NOT found)" : ""}` : "—");
  const rows = [
    "| row | webkv | raw IndexedDB | idb-keyval | Dexie | webkv / raw IDB | target | status |",
    "|---|--:|--:|--:|--:|--:|--:|---|",
  ];
  const status = (ok) => (ok ? "met" : "**not met**");
  for (const n of coldSizes) {
    const w = `webkv-${n}`;
    const raw = `idb-${n}`;
    const ratio = ms(res[w]) / ms(res[raw]);
    rows.push(
      `| cold open + first get, ${n.toLocaleString("en")} entries | ${["webkv", "idb", "idb-keyval", "dexie"].map((p) => cell(`${p}-${n}`)).join(" | ")} | ${fmtRatio(ratio)} | ≤ 1.5× | ${status(found[w] && ratio <= 1.5)} |`,
    );
  }
  if (coldSizes.length >= 2) {
    const [a, b] = [Math.min(...coldSizes), Math.max(...coldSizes)];
    const grow = (p) => ms(res[`${p}-${b}`]) / ms(res[`${p}-${a}`]);
    const g = Object.fromEntries(["webkv", "idb", "dexie"].map((p) => [p, has(`${p}-${a}`) && has(`${p}-${b}`) ? grow(p) : null]));
    const gcell = (x) => (x === null ? "—" : fmtRatio(x));
    rows.push(
      `| growth of the open, ${a.toLocaleString("en")} → ${b.toLocaleString("en")} | ${gcell(g.webkv)} | ${gcell(g.idb)} | — | ${gcell(g.dexie)} | ${fmtRatio(g.webkv / g.idb)} | ≤ 1.3× raw's growth | ${status(g.webkv / g.idb <= 1.3)} |`,
    );
  }
  for (const n of coldSizes) {
    const w = `list-webkv-${n}`;
    const raw = `list-idb-${n}`;
    if (!has(w)) continue;
    const ratio = ms(res[w]) / ms(res[raw]);
    const part = (id) => `${ms(res[id]).toFixed(1)} ms (open ${median(res[id].map((o) => o.openMs)).toFixed(1)} + list ${median(res[id].map((o) => o.listMs)).toFixed(1)})`;
    rows.push(
      `| cold list: open, then ${coldListN.toLocaleString("en")} entries from a random key, ${n.toLocaleString("en")} entries | ${part(w)} | ${part(raw)} (cursor) | — | — | ${fmtRatio(ratio)} the time | ≤ 1× the time | ${status(ratio <= 1)} |`,
    );
  }
  for (const n of coldSizes) {
    const g = (p) => (getsMs[`${p}-${n}`] ? median(getsMs[`${p}-${n}`]) : null);
    const gcell = (p) => (g(p) === null ? "—" : `${g(p).toFixed(0)} ms (${fmt(1e6 / g(p))}/s)`);
    rows.push(
      `| 1,000 random gets right after the cold open, ${n.toLocaleString("en")} entries | ${["webkv", "idb", "idb-keyval", "dexie"].map(gcell).join(" | ")} | ${fmtRatio(g("idb") / g("webkv"))} the speed | — (no target) | — |`,
    );
  }
  const big = Math.max(...coldSizes);
  if (wasmBytes[`webkv-${big}`]) {
    const m = median(wasmBytes[`webkv-${big}`]);
    rows.push(
      `| wasm memory after the cold open and 1,000 random gets, ${big.toLocaleString("en")} entries | ${mib(m)} MiB | — | — | — | — | ≤ 96 MiB | ${status(m <= 96 * 2 ** 20)} |`,
    );
  }
  if (memory) {
    for (const [step, bytes, t] of memory.slice(2)) {
      rows.push(
        `| wasm memory after the ${step} (${(t / 1000).toFixed(1)} s), ${memN.toLocaleString("en")} entries, same page | ${mib(bytes)} MiB | — | — | — | — | cache budget (32 MiB) + a small constant | see notes |`,
      );
    }
  }
  const load = (k) => {
    const xs = loads.map((l) => l[k]).filter((x) => typeof x === "number");
    return xs.length ? median(xs) : NaN;
  };
  rows.push(
    `| webkv import, then until the wasm is compiled and instantiated (every fresh page; served no-store) | ${(load("importMs") + load("compileMs")).toFixed(1)} ms (import ${load("importMs").toFixed(1)} + rest of the compile ${load("compileMs").toFixed(1)}; the last of its ${load("jsModules")} JS modules received at ${load("jsFetchMs").toFixed(1)}, the .wasm's download ${load("wasmFetchMs").toFixed(1)}) | — | — | — | — | reported apart, kept small | — |`,
  );

  const perRun = ["| item | runs (ms) |", "|---|---|"];
  for (const it of items) {
    const xs = res[it.key];
    const what = it.kind === "open" ? "open + first get" : `cold list of ${coldListN}`;
    perRun.push(
      `| ${it.c.label}, ${it.c.n.toLocaleString("en")} ${it.c.n === 1 ? "entry" : "entries"}, ${what} | ${xs.map((o) => (it.kind === "open" ? o.ms.toFixed(1) : `${o.ms.toFixed(1)} (${o.openMs.toFixed(1)} + ${o.listMs.toFixed(1)})`)).join(", ")} |`,
    );
  }
  const extra = [];
  extra.push(
    `Loading (untimed; webkv: atomic batches of 1000; the others: transactions of ${(100_000).toLocaleString("en")}): ${cases
      .filter((c) => c.n > 1)
      .map((c) => `${c.label} ${c.n.toLocaleString("en")} in ${(c.fillMs / 1000).toFixed(1)} s (${fmt((c.n / c.fillMs) * 1000)}/s)`)
      .join(", ")}.`,
  );
  extra.push(
    `Cold open of a database holding **one** entry: raw IndexedDB ${cell("idb-1")}, webkv ${cell("webkv-1")}.`,
  );
  const openMem = Object.entries(openWasmBytes).map(([id, xs]) => `${id.replace("webkv-", "")} entries ${mib(median(xs))} MiB`);
  if (openMem.length) extra.push(`webkv's wasm memory right after the cold open and first get: ${openMem.join(", ")}.`);
  for (const [id, xs] of Object.entries(getsMs)) {
    extra.push(`1,000 random gets after the cold open, ${id}, per run: ${xs.map((x) => x.toFixed(0)).join(", ")} ms.`);
  }
  for (const [id, xs] of Object.entries(wasmBytes)) {
    extra.push(`wasm memory after 1,000 random gets, ${id.replace("webkv-", "")} entries, per run: ${xs.map(mib).join(", ")} MiB.`);
  }
  if (memory) {
    extra.push(
      `Memory run (one fresh browser, default cacheBytes, ${memN.toLocaleString("en")} entries): ${memory.map(([step, bytes, t]) => `${step} ${mib(bytes)} MiB (${(t / 1000).toFixed(1)} s)`).join("; ")}.`,
    );
  }
  extra.push(
    `webkv import + compile, per fresh page (ms): ${loads.map((l) => `${l.importMs.toFixed(0)}+${l.compileMs.toFixed(0)}`).join(", ")}.`,
  );
  return `
### Cold databases (issue 13): fresh browser per measurement

Median of ${coldRuns} per item; each is a fresh browser launch on the same profile, then one IndexedDB use on another origin, then the database's own origin's page (which imports webkv: timed apart), 0.5 s idle, then the timed item. Values \`{ i, s: "x".repeat(100) }\`, keys \`["c", i]\`. Open + first get: from before \`openKv(name)\` / \`indexedDB.open\` / \`createStore\` / \`new Dexie\` to the value of key ${"`"}["c", ⌊0.54321 n⌋]${"`"}. Cold list: open, then ${coldListN.toLocaleString("en")} entries from a random key (the same for both stores in a round): webkv \`kv.list({ start, end })\`, raw IndexedDB an \`openCursor\` over the same range, every entry checked.

${rows.join("\n")}

${perRun.join("\n")}

${extra.join("\n\n")}
`;
}
const persistNote = persisted
  ? "webkv's named database persisted across a page reload in this build."
  : "**This build of webkv does not persist named databases in the browser** (a value set, closed and reloaded was gone): its numbers here are those of the in-memory database, not of the IndexedDB-backed one.";

console.log(`## In Chromium: webkv vs IndexedDB, idb-keyval and Dexie

Headless Chromium ${version}, every store on one page origin (http://127.0.0.1:port; for the cold open, one origin per database, see below), profile directory on disk (a persistent context: Playwright's default contexts are off-the-record, where IndexedDB lives in memory). webkv: \`openKv(name)\` from \`/pkg/browser.js\`, keys \`["k", i]\`; raw IndexedDB, idb-keyval ${await pkgVersion("idb-keyval")} and Dexie ${await pkgVersion("dexie")}: array keys \`["k", i]\` in an out-of-line-key store; values \`{ n: i, text: "value " + i }\` everywhere. Raw IndexedDB uses one transaction per put (awaited on \`complete\`) and per get, default durability. Sizes: ${N.inflight} concurrent sets (in rounds of 100 issued together), ${N.set} sequential sets, ${N.get} gets, a list of ${N.list} (webkv \`kv.list({ prefix })\`, raw \`getAll\` on the key range, idb-keyval \`entries()\`, Dexie \`where(":id").between().toArray()\`). Median of ${runs} runs after one warm-up run, the stores' order rotated every round; fresh database per run for writes, one filled database per store for reads; ratio = webkv / raw IndexedDB. ${persistNote}

${lines.join("\n")}

Per run:

${runLines.join("\n")}
${notes.length ? `\n${notes.join("\n")}\n` : ""}${coldReport}
Total ${Math.round((Date.now() - t0) / 1000)} s.
`);

async function pkgVersion(name) {
  const json = await readFile(join(root, "node_modules", name, "package.json"), "utf8").catch(() => null);
  return json ? JSON.parse(json).version : "?";
}
