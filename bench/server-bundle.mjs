// What a server bundle of webkv costs: an app that imports webkv, built by
// esbuild (--bundle --platform=node --format=esm), in three setups:
//   - unbundled: the app importing the installed package (node.js reads
//     webkv_server_bg.wasm from beside itself);
//   - bundle + .wasm: the bundle with webkv_server_bg.wasm copied beside it
//     (node.js, moved into the bundle, finds the file);
//   - bundle alone: no .wasm beside it, so node.js falls back to the copy
//     inlined in the bundle (webkv_server_inline.js: gzip + base64, inflated
//     with node:zlib).
// Each run is a fresh process (Node 24 and Bun) that imports webkv, opens
// ":memory:", sets and gets one key; it reports ms from the import to the
// get, and ms from the process's start (boot, parsing the bundle) to the get.
// Setups alternate within each round; medians of `runs` rounds.
//
//   node bench/server-bundle.mjs [runs=15]    (WEBKV_PKG=/path/to/pkg; NODE24, BUN)
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const pkg = process.env.WEBKV_PKG ?? join(root, "pkg");
const RUNS = Number(process.argv[2] ?? 15);
const RUNTIMES = {
  "Node 24": process.env.NODE24 ?? join(root, ".tools/node-24.21.0/bin/node"),
  Bun: process.env.BUN ?? join(root, "node_modules/.bin/bun"),
};

const dir = mkdtempSync(join(tmpdir(), "webkv-server-bundle-bench-"));
try {
  const app = join(dir, "app");
  mkdirSync(join(app, "node_modules"), { recursive: true });
  cpSync(pkg, join(app, "node_modules/webkv"), { recursive: true, dereference: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ private: true, type: "module" }));
  // performance.now() is ms since the process started.
  writeFileSync(
    join(app, "probe.mjs"),
    `const started = performance.now();
const { openKv } = await import("webkv");
const kv = await openKv(":memory:");
await kv.set(["k"], { hello: "world" });
if ((await kv.get(["k"])).value?.hello !== "world") throw new Error("wrong value");
const done = performance.now();
console.log(JSON.stringify({ load: done - started, fromStart: done }));
`,
  );
  const withWasm = join(dir, "bundle-and-wasm");
  const alone = join(dir, "bundle-alone");
  await build({
    entryPoints: [join(app, "probe.mjs")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: join(alone, "probe.mjs"),
    logLevel: "warning",
  });
  mkdirSync(withWasm);
  copyFileSync(join(alone, "probe.mjs"), join(withWasm, "probe.mjs"));
  copyFileSync(join(pkg, "webkv_server_bg.wasm"), join(withWasm, "webkv_server_bg.wasm"));

  const bundle = readFileSync(join(alone, "probe.mjs"));
  const wasm = readFileSync(join(pkg, "webkv_server_bg.wasm"));
  const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
  console.log(
    `esbuild bundle: ${kb(bundle.length)} (${kb(gzipSync(bundle, { level: 9 }).length)} gzipped), ` +
      `webkv_server_bg.wasm: ${kb(statSync(join(pkg, "webkv_server_bg.wasm")).size)} (${kb(gzipSync(wasm, { level: 9 }).length)} gzipped)\n`,
  );

  const SETUPS = { unbundled: app, "bundle + .wasm": withWasm, "bundle alone (inlined wasm)": alone };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`ms, median of ${RUNS} fresh processes: import to first get / process start to first get\n`);
  console.log(`| setup | ${Object.keys(RUNTIMES).join(" | ")} |`);
  console.log(`|---|${Object.keys(RUNTIMES).map(() => "--:").join("|")}|`);
  const results = {};
  for (const runtime of Object.keys(RUNTIMES)) {
    for (const setup of Object.keys(SETUPS)) results[`${runtime} ${setup}`] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const [setup, cwd] of Object.entries(SETUPS)) {
        const out = execFileSync(RUNTIMES[runtime], ["probe.mjs"], { cwd, encoding: "utf8" });
        results[`${runtime} ${setup}`].push(JSON.parse(out.trim().split("\n").at(-1)));
      }
    }
  }
  for (const setup of Object.keys(SETUPS)) {
    const cells = Object.keys(RUNTIMES).map((runtime) => {
      const rs = results[`${runtime} ${setup}`];
      return `${median(rs.map((r) => r.load)).toFixed(1)} / ${median(rs.map((r) => r.fromStart)).toFixed(1)}`;
    });
    console.log(`| ${setup} | ${cells.join(" | ")} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
