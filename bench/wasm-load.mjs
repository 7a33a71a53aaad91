// How long a page takes to its first finished openKv + set + get with each
// way the browser entry loads the wasm:
//   - browser.js (webpack, import maps): fetches webkv_wasm_bg.wasm and
//     compiles it as it streams in;
//   - browser-inline.js (every other bundler): the wasm inside the JS,
//     gzipped + base64, inflated by DecompressionStream.
// Served gzipped (as a real server would) from 127.0.0.1, in headless
// Chromium; each load on a fresh browser context (cold: empty HTTP cache)
// and again in the same context (warm: HTTP cache, and for the fetched .wasm
// Chromium's compiled-code cache), unthrottled and over a simulated network
// (40 ms round trip, 20 Mbit/s down).
//
//   node bench/wasm-load.mjs [runs=7]      (needs pkg/: node scripts/build.mjs)
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { launchChromium } from "../tests/chromium.mjs";

const pkgDir = fileURLToPath(new URL("../pkg/", import.meta.url));
const RUNS = Number(process.argv[2] ?? 7);
const MIME = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

const page = (entry) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "webkv": "/pkg/${entry}" } }</script>
<script type="module">
  import { openKv } from "webkv";
  const kv = await openKv(":memory:");
  await kv.set(["k"], { hello: "world" });
  await kv.get(["k"]);
  window.__ready = performance.now();
</script>`;

const cache = new Map();
const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  let body;
  let type;
  if (path === "/fetch.html" || path === "/inline.html") {
    body = Buffer.from(page(path === "/fetch.html" ? "browser.js" : "browser-inline.js"));
    type = MIME[".html"];
  } else if (path.startsWith("/pkg/")) {
    const file = normalize(join(pkgDir, path.slice(5)));
    if (!file.startsWith(pkgDir) || !(await stat(file).catch(() => null))?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    body = await readFile(file);
    type = MIME[extname(file)] ?? "application/octet-stream";
  } else {
    res.writeHead(404).end();
    return;
  }
  if (!cache.has(path)) cache.set(path, gzipSync(body, { level: 6 }));
  // Revalidated on each load: what most static hosts send for unhashed files.
  res.writeHead(200, { "content-type": type, "content-encoding": "gzip", "cache-control": "max-age=3600" });
  res.end(cache.get(path));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await launchChromium();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(kind, network) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    const tab = await context.newPage();
    if (network) {
      const cdp = await context.newCDPSession(tab);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 40,
        downloadThroughput: (20e6 / 8),
        uploadThroughput: (5e6 / 8),
      });
    }
    for (const list of [cold, warm]) {
      await tab.goto(`${base}/${kind}.html`);
      await tab.waitForFunction(() => window.__ready !== undefined, null, { timeout: 60_000 });
      list.push(await tab.evaluate(() => window.__ready));
    }
    await context.close();
  }
  return { cold: median(cold), warm: median(warm) };
}

console.log(`median of ${RUNS} loads, ms from navigation to the first openKv + set + get done`);
console.log("| entry | network | cold | warm |\n|---|---|--:|--:|");
for (const network of [false, true]) {
  for (const kind of ["fetch", "inline"]) {
    const { cold, warm } = await measure(kind, network);
    const name = kind === "fetch" ? "browser.js (fetches the .wasm)" : "browser-inline.js (inlined)";
    console.log(`| ${name} | ${network ? "40 ms RTT, 20 Mbit/s" : "loopback"} | ${cold.toFixed(0)} | ${warm.toFixed(0)} |`);
  }
}
await browser.close();
server.close();
