// webkv's durable browser database vs raw IndexedDB, idb-keyval and Dexie, in
// headless Chromium, in one run: workloads 1–4 with every store on one page
// origin, the cold open with each database on an origin of its own (see urlFor).
//
//   node bench/idb/run.mjs [--runs 5] [--cold-runs 3] [--only inflight,set,get,list,cold]
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
const COLD_N = 100_000;
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
      await bench.fill(name, "c", 1);
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

  // ---- workload 5: cold open of 100,000 entries ----
  if (selected("cold")) {
    // Each store's database of COLD_N entries, plus databases of one entry
    // (webkv's and raw IndexedDB's), which show the fixed cost of a cold open.
    const cases = [
      ...PEERS.map(([id, label]) => ({ id, peer: id, label, n: COLD_N })),
      { id: "webkv-1", peer: "webkv", label: "webkv, 1 entry", n: 1 },
      { id: "idb-1", peer: "idb", label: "raw IDB, 1 entry", n: 1 },
    ];
    for (const c of cases) c.name = dbName(c.id, "cold");
    const fillMs = {};
    for (const c of cases) {
      c.url = await urlFor(`cold-${c.id}`);
      page = await newPage(c.url);
      fillMs[c.id] = await page.evaluate(
        async ([peer, name, n]) => {
          await bench.open(peer, name);
          const ms = await bench.fill(name, "c", n);
          await bench.close(name, false);
          return ms;
        },
        [c.peer, c.name, c.n],
      );
      await page.close();
      log(`cold     fill ${String(c.n).padEnd(6)} ${c.label.padEnd(13)} ${Math.round(fillMs[c.id])} ms`);
    }
    notes.push(
      `Loading the 100,000 entries (untimed; webkv: atomic batches of 1000, the others: one transaction): ${PEERS.map(([id, label]) => `${label} ${fmt((COLD_N / fillMs[id]) * 1000)}/s`).join(", ")}.`,
    );
    // Cold: the browser is closed and launched again on the same profile
    // before each open. A page of another origin then uses IndexedDB (a
    // browser already in use, but nothing of this origin open), the bench
    // page of the database's origin is loaded and left idle for a moment,
    // and the open and first get are timed in it.
    await context.close();
    context = null;
    const res = Object.fromEntries(cases.map((c) => [c.id, []]));
    const found = Object.fromEntries(cases.map((c) => [c.id, true]));
    // webkv's wasmMemoryBytes() after each cold open of 100,000 and 1,000 random gets.
    const wasmBytes = [];
    for (let r = 0; r < coldRuns; r++) {
      for (let j = 0; j < cases.length; j++) {
        const c = cases[(j + r) % cases.length];
        const probe = Math.min(54_321, c.n - 1);
        context = await launch();
        const other = await newPage(await urlFor("wake"));
        await other.evaluate(async () => {
          await bench.open("idb", "other-origin");
          await bench.fill("other-origin", "w", 1);
          await bench.close("other-origin", false);
        });
        await other.close();
        const p = await newPage(c.url);
        await p.waitForTimeout(SETTLE_MS);
        const out = await p.evaluate(([peer, name, i, n]) => bench.cold(peer, name, i, n), [c.peer, c.name, probe, c.n]);
        if (out.wasmBytes !== null) wasmBytes.push(out.wasmBytes);
        await p.evaluate((name) => bench.close(name, false), c.name);
        await context.close();
        context = null;
        res[c.id].push(out.ms);
        found[c.id] &&= out.found;
        log(`cold     run ${r + 1}  ${c.label.padEnd(13)} ${out.ms.toFixed(1)} ms${out.found ? "" : " (entry NOT found)"}`);
      }
    }
    context = await launch();
    for (const c of cases) {
      page = await newPage(c.url);
      await page.evaluate(([peer, name]) => bench.destroy(peer, name), [c.peer, c.name]);
      await page.close();
    }
    results.cold = { res, found };
    log(`cold done at ${elapsed()}`);
    const one = (id) => `${median(res[id]).toFixed(1)} ms (runs: ${res[id].map((x) => x.toFixed(1)).join(", ")})`;
    const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
    if (wasmBytes.length > 0) {
      notes.push(
        `webkv's wasm memory (\`wasmMemoryBytes()\`) after the cold open of 100,000 entries and 1,000 random gets: ${mib(median(wasmBytes))} MiB (runs: ${wasmBytes.map(mib).join(", ")}).`,
      );
    }
    notes.push(
      `Cold open of a database holding **one** entry, timed the same way: raw IndexedDB ${one("idb-1")}, webkv ${one("webkv-1")}${found["webkv-1"] ? "" : " (entry not found)"}. The first is the fixed cost of a fresh browser's first IndexedDB access on an origin, which every IndexedDB-backed store pays; the second adds webkv's wasm start-up and its own open. Each cold-open database has an origin of its own (Chromium keeps one LevelDB per origin, so a shared origin would make every cold open load all four stores' data).`,
    );
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
if (results.cold) {
  const { res, found } = results.cold;
  const m = Object.fromEntries(PEERS.map(([id]) => [id, median(res[id])]));
  const ms = (id) => `${m[id].toFixed(1)} ms${found[id] ? "" : " (entry not found)"}`;
  const met = !found.webkv ? "**not met** (no data after restart)" : m.webkv <= 100 ? "met" : "**not met**";
  lines.push(
    `| cold open of 100,000 entries → first get (ms, lower is better) | ${PEERS.map(([id]) => ms(id)).join(" | ")} | ${fmtRatio(m.webkv / m.idb)} the time | ≤ 100 ms | ${met} |`,
  );
  runLines.push(`| cold (ms) | ${PEERS.map(([id]) => res[id].map((x) => x.toFixed(1)).join(", ")).join(" | ")} |`);
}
const coldMethod = ` Cold open: median of ${coldRuns}; each is a fresh browser launch on the same profile, then one IndexedDB use on another origin, then the page, 0.5 s idle, and the time from before \`openKv(name)\` / \`indexedDB.open\` / \`createStore\` / \`new Dexie\` to the first get's value (key 54321 of 100,000).`;
const persistNote = persisted
  ? "webkv's named database persisted across a page reload in this build."
  : "**This build of webkv does not persist named databases in the browser** (a value set, closed and reloaded was gone): its numbers here are those of the in-memory database, not of the IndexedDB-backed one.";

console.log(`## In Chromium: webkv vs IndexedDB, idb-keyval and Dexie

Headless Chromium ${version}, every store on one page origin (http://127.0.0.1:port; for the cold open, one origin per database, see below), profile directory on disk (a persistent context: Playwright's default contexts are off-the-record, where IndexedDB lives in memory). webkv: \`openKv(name)\` from \`/pkg/browser.js\`, keys \`["k", i]\`; raw IndexedDB, idb-keyval ${await pkgVersion("idb-keyval")} and Dexie ${await pkgVersion("dexie")}: array keys \`["k", i]\` in an out-of-line-key store; values \`{ n: i, text: "value " + i }\` everywhere. Raw IndexedDB uses one transaction per put (awaited on \`complete\`) and per get, default durability. Sizes: ${N.inflight} concurrent sets (in rounds of 100 issued together), ${N.set} sequential sets, ${N.get} gets, a list of ${N.list} (webkv \`kv.list({ prefix })\`, raw \`getAll\` on the key range, idb-keyval \`entries()\`, Dexie \`where(":id").between().toArray()\`). Median of ${runs} runs after one warm-up run, the stores' order rotated every round; fresh database per run for writes, one filled database per store for reads; ratio = webkv / raw IndexedDB.${results.cold ? coldMethod : ""} ${persistNote}

${lines.join("\n")}

Per run:

${runLines.join("\n")}
${notes.length ? `\n${notes.join("\n")}\n` : ""}
Total ${Math.round((Date.now() - t0) / 1000)} s.
`);

async function pkgVersion(name) {
  const json = await readFile(join(root, "node_modules", name, "package.json"), "utf8").catch(() => null);
  return json ? JSON.parse(json).version : "?";
}
