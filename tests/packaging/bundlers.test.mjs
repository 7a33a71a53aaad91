// Zero-config bundling: the app in tests/packaging/app/ (`import ... from
// "webkv"`, a module Worker, nothing webkv-specific in any configuration) is
// built by each bundler from the packed tarball, served from 127.0.0.1, and
// run in headless Chromium: the smoke scenario (open, set, get, list, atomic,
// ...), a named IndexedDB database and, through `import "webkv/kv-connect"`,
// a KV Connect database (a real denokv behind scripts/kv-proxy.mjs, which
// allows only that app's origin), in the page and in the Worker. Also
// checked: no bundler warnings, no failed request or console error, and
// which copy of the wasm each build loads (webpack: the .wasm file it
// emits; every other tool: the copy inlined in the JS, with no .wasm file
// left in the build).
//
// And server bundles: tests/packaging/server-app/ (webkv, webkv/kv-connect,
// webkv/hono in a Hono app) built by esbuild --platform=node and
// `bun build --target=node|bun`, each bundle copied alone into an empty
// directory (no node_modules, no .wasm beside it) and run in Node 24 and
// Bun: memory, SQLite file (and reopened), Hono and KV Connect round trips,
// and no bundler warnings.
//
//   bash tests/packaging/run.sh            (builds pkg/ if missing, installs the tools)
//   PACKAGING_ONLY=esbuild,webpack bash tests/packaging/run.sh bundlers.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { launchChromium } from "../chromium.mjs";
import { assertChecks } from "../smoke/checks.mjs";
import { installTools } from "./install-tools.mjs";
import { makeApp, makeServerApp, packAndInstall } from "./pack.mjs";
import { DURABLE_EXPECTED } from "./app/src/durable.js";
import { REMOTE_EXPECTED } from "./app/src/remote.js";
import { startDenokv } from "../kvconnect/denokv.mjs";
import { startKvProxy } from "../../scripts/kv-proxy.mjs";

const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
const NODE24 = process.env.NODE24 ?? fileURLToPath(new URL("../../.tools/node-24.21.0/bin/node", import.meta.url));
const BUILD_SLOTS = Number(process.env.PACKAGING_BUILD_SLOTS ?? 3);
const ONLY = process.env.PACKAGING_ONLY?.split(",").filter(Boolean);

let tools;
let packed; // { runDir, tarball, installed }
let browser;
let denokv;
const servers = [];
const proxies = [];

/** Runs a command; resolves { stdout, stderr }, rejects with both on failure. */
function run(cmd, args, options) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, timeout: 300_000, ...options }, (error, stdout, stderr) => {
      if (error) {
        error.message += `\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
        reject(error);
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

const importTool = (path) => import(pathToFileURL(join(tools, "node_modules", path)).href);

/** An index.html for builds whose output is dist/main.js (+ dist/worker.js). */
function writePage(dist, script = '<script type="module" src="./main.js"></script>') {
  writeFileSync(join(dist, "index.html"), `<!doctype html>\n<meta charset="utf-8">\n<title>webkv packaging</title>\n<link rel="icon" href="data:,">\n${script}\n`);
}

/** Runs webpack with `config`: its warnings' messages, or its errors thrown. */
async function webpackWarnings(config) {
  const { default: webpack } = await importTool("webpack/lib/index.js");
  const stats = await new Promise((resolve, reject) => {
    webpack(config, (error, result) => (error ? reject(error) : resolve(result)));
  });
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  if (stats.hasErrors()) throw new Error(info.errors.map((e) => e.message).join("\n"));
  return info.warnings.map((w) => w.message);
}

// Each tool: `build(app)` builds app/dist and returns the warnings it
// printed; or `dev(app)` starts a dev server and returns { url, close }.
// `wasmFile`: whether the build loads webkv_wasm_bg.wasm as a file.
const TOOLS = [
  {
    name: "esbuild",
    async build(app) {
      const { stderr } = await run(join(tools, "node_modules/.bin/esbuild"), [
        "src/main.js", "src/worker.js", "--bundle", "--format=esm", "--outdir=dist", "--log-level=warning",
      ], { cwd: app });
      writePage(join(app, "dist"));
      return stderr.trim() ? [stderr.trim()] : [];
    },
  },
  {
    name: "rollup + node-resolve",
    async build(app) {
      const { rollup } = await importTool("rollup/dist/es/rollup.js");
      const { nodeResolve } = await importTool("@rollup/plugin-node-resolve/dist/es/index.js");
      const warnings = [];
      const bundle = await rollup({
        input: [join(app, "src/main.js"), join(app, "src/worker.js")],
        plugins: [nodeResolve({ browser: true })],
        onLog: (level, log) => warnings.push(`${level}: ${log.message}`),
      });
      await bundle.write({ dir: join(app, "dist"), format: "es" });
      await bundle.close();
      writePage(join(app, "dist"));
      return warnings;
    },
  },
  {
    name: "bun build",
    async build(app) {
      const { stdout, stderr } = await run(BUN, [
        "build", "src/main.js", "src/worker.js", "--target=browser", "--outdir=dist",
      ], { cwd: app });
      writePage(join(app, "dist"));
      return /warn/i.test(stdout + stderr) ? [(stdout + stderr).trim()] : [];
    },
  },
  ...["vite6", "vite7", "vite8"].flatMap((vite) => [
    {
      name: `${vite} build`,
      async build(app) {
        const { build, createLogger } = await importTool(`${vite}/dist/node/index.js`);
        const { logger, warnings } = capturingLogger(createLogger);
        await build({ root: app, configFile: false, customLogger: logger, logLevel: "warn" });
        return warnings;
      },
    },
    {
      name: `${vite} dev`,
      async dev(app) {
        const { createServer: createViteServer, createLogger } = await importTool(`${vite}/dist/node/index.js`);
        const { logger, warnings } = capturingLogger(createLogger);
        const server = await createViteServer({
          root: app,
          configFile: false,
          customLogger: logger,
          logLevel: "warn",
          server: { host: "127.0.0.1", port: 0, strictPort: false },
        });
        await server.listen();
        const { port } = server.httpServer.address();
        return { url: `http://127.0.0.1:${port}/`, close: () => server.close(), warnings };
      },
    },
  ]),
  {
    name: "webpack 5",
    wasmFile: true,
    async build(app) {
      const warnings = await webpackWarnings({
        mode: "production",
        context: app,
        entry: "./src/main.js",
        output: { path: join(app, "dist") },
      });
      writePage(join(app, "dist"), '<script defer src="./main.js"></script>');
      // webpack's performance hints flag any asset over 244 KiB, so the
      // 510 KiB .wasm itself; they say nothing about webkv's code.
      return warnings.filter((m) => !/^(asset|entrypoint) size limit:/.test(m));
    },
  },
  {
    name: "parcel 2",
    async build(app) {
      const { stdout, stderr } = await run(join(tools, "node_modules/.bin/parcel"), [
        // The cache goes in the app: Parcel would otherwise put it in the
        // first parent with a lock file, the repo.
        "build", "index.html", "--dist-dir", "dist", "--cache-dir", ".parcel-cache", "--no-autoinstall", "--log-level", "warn",
      ], { cwd: app, env: { ...process.env, PARCEL_WORKERS: "1" } });
      return (stdout + stderr).trim() ? [(stdout + stderr).trim()] : [];
    },
  },
].filter((tool) => !ONLY || ONLY.some((only) => tool.name.startsWith(only)));

// Server bundles: each builds server-app/server.js into dist/server.mjs and
// returns the warnings it printed; `runtimes`: what runs the bundle. A
// bundle for Node runs in Bun too (Bun runs Node code, and webkv picks
// bun:sqlite there at run time).
const SERVER_TOOLS = [
  {
    name: "server: esbuild --platform=node",
    runtimes: ["node", "bun"],
    async build(app) {
      const { stderr } = await run(join(tools, "node_modules/.bin/esbuild"), [
        "server.js", "--bundle", "--platform=node", "--format=esm", "--outfile=dist/server.mjs", "--log-level=warning",
      ], { cwd: app });
      return stderr.trim() ? [stderr.trim()] : [];
    },
  },
  ...[
    // webpack copies the .wasm that node.js reads with `new URL(...,
    // import.meta.url)` and puts the inlined copy in a chunk of its own, so
    // its whole output directory is the deployment (the inlined chunk is
    // then never loaded)...
    ["server: webpack 5 --target=node", true],
    // ...unless the URL is made relative to a web server, as Next.js makes
    // it for every server bundle: then it names no file, and the inlined
    // copy is the one (node.js used to pass it to readFile and fail).
    ["server: webpack 5 --target=node, URLs relative as in Next.js", "relative"],
  ].map(([name, url]) => ({
    name,
    runtimes: ["node", "bun"],
    wholeOutput: true,
    build: (app) =>
      webpackWarnings({
        mode: "production",
        context: app,
        entry: "./server.js",
        target: "node22",
        experiments: { outputModule: true },
        output: { path: join(app, "dist"), filename: "server.mjs", module: true, chunkFormat: "module", chunkLoading: "import" },
        module: { parser: { javascript: { url } } },
        // Hono and webkv are server code: nothing to gain from size hints.
        performance: false,
      }),
  })),
  ...["node", "bun"].map((target) => ({
    name: `server: bun build --target=${target}`,
    runtimes: target === "node" ? ["node", "bun"] : ["bun"],
    async build(app) {
      const { stdout, stderr } = await run(BUN, ["build", "server.js", `--target=${target}`, "--outfile=dist/server.mjs"], { cwd: app });
      return /warn/i.test(stdout + stderr) ? [(stdout + stderr).trim()] : [];
    },
  })),
].filter((tool) => !ONLY || ONLY.some((only) => tool.name.startsWith(only)));

const RUNTIMES = { node: NODE24, bun: BUN };

const ROUND_TRIP = { value: { n: 1 }, count: "2" };
const SERVER_EXPECTED = { memory: ROUND_TRIP, sqlite: ROUND_TRIP, reopened: { n: 1 }, hono: "2", remote: ROUND_TRIP };

// Vite 8's Rolldown warns [PLUGIN_TIMINGS] when its JS plugins take much of
// a build's time, which on a loaded 2-core machine says more about the
// machine than about the code: not counted. Nor is Vite's generic hint for
// chunks over 500 kB (like webpack's for assets over 244 KiB, below): the
// app imports webkv/kv-connect, whose inlined wasm puts it past that.
const NOT_ABOUT_WEBKV = /\[PLUGIN_TIMINGS\]|Some chunks are larger than 500 kB after minification/;

function capturingLogger(createLogger) {
  const logger = createLogger("warn");
  const warnings = [];
  const keep = (msg) => {
    if (!NOT_ABOUT_WEBKV.test(msg)) warnings.push(msg);
  };
  const { warn, warnOnce, error } = logger;
  logger.warn = (msg, opts) => { keep(msg); warn(msg, opts); };
  logger.warnOnce = (msg, opts) => { keep(msg); warnOnce(msg, opts); };
  logger.error = (msg, opts) => { keep(msg); error(msg, opts); };
  return { logger, warnings };
}

// ---------------------------------------------------------------------------
// Serving a build, as any static host would: files as they are, the .wasm
// as application/wasm, 404 for anything missing (no HTML fallback).

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
};

async function serveStatic(dir) {
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) || !(await stat(file).catch(() => null))?.isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(await readFile(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}/`;
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Files of a build, with their gzipped size, for the log. */
function describeBuild(dist) {
  return walk(dist)
    .filter((p) => /\.(m?js|wasm)$/.test(p))
    .map((p) => ({ file: relative(dist, p), bytes: statSync(p).size, gzip: gzipSync(readFileSync(p), { level: 9 }).length }));
}

// ---------------------------------------------------------------------------

let slots = BUILD_SLOTS;
const waiting = [];
async function withSlot(fn) {
  if (slots === 0) await new Promise((resolve) => waiting.push(resolve));
  else slots--;
  try {
    return await fn();
  } finally {
    if (waiting.length) waiting.shift()();
    else slots++;
  }
}

/** Opens `url` in a fresh context and returns what the app recorded. */
async function runInChromium(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = [];
  const requests = [];
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.stack ?? e}`));
  page.on("requestfailed", (r) => log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("worker", (w) => w.on("console", (m) => log.push(`worker ${m.type()}: ${m.text()}`)));
  context.on("response", (r) => requests.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"] ?? "" }));
  try {
    await page.goto(url);
    try {
      await page.waitForFunction(() => window.__packaging?.done === true, null, { timeout: 120_000, polling: 100 });
    } catch (error) {
      throw new Error(`the app did not finish: ${error.message}\n${log.join("\n")}`);
    }
    return { state: await page.evaluate(() => window.__packaging), log, requests };
  } finally {
    await context.close();
  }
}

before(async () => {
  tools = installTools();
  packed = packAndInstall("bundlers");
  if (TOOLS.length > 0) browser = await launchChromium();
  denokv = await startDenokv();
});

after(async () => {
  await browser?.close();
  for (const server of servers) server.close();
  for (const proxy of proxies) await proxy.stop();
  await denokv?.stop();
});

/** A kv-proxy in front of the test's denokv that allows only `pageUrl`'s origin. */
async function proxyFor(pageUrl) {
  const proxy = await startKvProxy({
    target: denokv.url,
    token: denokv.token,
    port: 0,
    allowOrigins: [new URL(pageUrl).origin],
    log: () => {},
  });
  proxies.push(proxy);
  return proxy.url;
}

describe("bundlers: an app importing webkv, zero config, in Chromium (page and module Worker)", { concurrency: true }, () => {
  for (const tool of TOOLS) {
    test(tool.name, async (t) => {
      const app = makeApp(packed, tool.name.replace(/[^a-z0-9]+/gi, "-"));
      let url;
      let warnings;
      let close = null;
      const started = Date.now();
      await withSlot(async () => {
        if (tool.build) {
          warnings = await tool.build(app);
          url = await serveStatic(join(app, "dist"));
        } else {
          ({ url, close, warnings } = await tool.dev(app));
        }
      });
      const built = Date.now();
      let result;
      try {
        result = await runInChromium(`${url}#kv=${encodeURIComponent(await proxyFor(url))}`);
      } finally {
        await close?.();
      }
      t.diagnostic(`${tool.build ? "build" : "dev server start"} ${((built - started) / 1000).toFixed(1)} s, Chromium run ${((Date.now() - built) / 1000).toFixed(1)} s`);
      if (tool.build) {
        for (const f of describeBuild(join(app, "dist"))) t.diagnostic(`${f.file}: ${f.bytes} bytes, ${f.gzip} gzipped`);
      }
      const { state, log, requests } = result;

      await t.test("no bundler warnings", () => assert.deepEqual(warnings, []));
      assert.deepEqual(state.errors, [], `${state.errors.join("\n")}\n${log.join("\n")}`);
      await t.test("page: scenario", (t) => assertChecks(t, state.page, `${tool.name} page`));
      await t.test("page: named (IndexedDB) database", () => assert.deepEqual(state.durable, DURABLE_EXPECTED));
      await t.test("module Worker: scenario", async (t) => {
        assert.equal(state.worker?.error, undefined, `${state.worker?.error}\n${log.join("\n")}`);
        await assertChecks(t, state.worker.scenario, `${tool.name} worker`);
      });
      await t.test("module Worker: named (IndexedDB) database", () => assert.deepEqual(state.worker?.durable, DURABLE_EXPECTED));
      await t.test("page: KV Connect (webkv/kv-connect)", () => assert.deepEqual(state.remote, REMOTE_EXPECTED));
      await t.test("module Worker: KV Connect (webkv/kv-connect)", () => assert.deepEqual(state.worker?.remote, REMOTE_EXPECTED));
      await t.test("no console errors or warnings, no failed request", () => {
        assert.deepEqual(log.filter((l) => /^(worker )?(error|warning|pageerror|requestfailed)/.test(l)), []);
        assert.deepEqual(requests.filter((r) => r.status >= 400), []);
      });
      await t.test(tool.wasmFile ? "loads the .wasm file the build emitted" : "loads the inlined wasm: no .wasm request or file", () => {
        const wasmRequests = requests.filter((r) => /\.wasm(\?|$)/.test(r.url));
        if (tool.wasmFile) {
          assert.ok(wasmRequests.length >= 1, `no .wasm request: ${JSON.stringify(requests)}`);
          for (const r of wasmRequests) assert.deepEqual([r.status, r.type], [200, "application/wasm"]);
        } else {
          assert.deepEqual(wasmRequests, []);
          if (tool.build) assert.deepEqual(walk(join(app, "dist")).filter((p) => p.endsWith(".wasm")), []);
        }
      });
    });
  }
});

/** Whether `dir` or a directory above it has a node_modules. */
function nodeModulesAbove(dir) {
  for (;;) {
    if (existsSync(join(dir, "node_modules"))) return true;
    if (dirname(dir) === dir) return false;
    dir = dirname(dir);
  }
}

describe("server bundles: a Hono app importing webkv, zero config, copied alone and run in Node 24 and Bun", { concurrency: true }, () => {
  for (const tool of SERVER_TOOLS) {
    test(tool.name, async (t) => {
      const app = makeServerApp(packed, tool.name.replace(/[^a-z0-9]+/gi, "-"));
      const started = Date.now();
      const warnings = await withSlot(() => tool.build(app));
      t.diagnostic(`build ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const f of describeBuild(join(app, "dist"))) t.diagnostic(`${f.file}: ${f.bytes} bytes, ${f.gzip} gzipped`);

      await t.test("no bundler warnings", () => assert.deepEqual(warnings, []));
      for (const runtime of tool.runtimes) {
        await t.test(`${runtime}: memory, SQLite file, Hono and KV Connect round trips`, async () => {
          // Outside the repo, whose node_modules would otherwise resolve
          // whatever the bundle left out.
          const dir = mkdtempSync(join(tmpdir(), "webkv-server-bundle-"));
          try {
            assert.ok(!nodeModulesAbove(dir), `${dir} has a node_modules above it`);
            if (tool.wholeOutput) cpSync(join(app, "dist"), dir, { recursive: true });
            else copyFileSync(join(app, "dist/server.mjs"), join(dir, "server.mjs"));
            const env = { ...process.env, DENO_KV_ACCESS_TOKEN: denokv.token };
            // Not a child of this test run, nor of its module paths.
            delete env.NODE_TEST_CONTEXT;
            delete env.NODE_OPTIONS;
            delete env.NODE_PATH;
            const { stdout } = await run(RUNTIMES[runtime], ["server.mjs", dir, denokv.url], { cwd: dir, env, timeout: 120_000 });
            assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)), SERVER_EXPECTED);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        });
      }
    });
  }
});

test("the tools exist", () => {
  assert.ok(TOOLS.length + SERVER_TOOLS.length > 0, `PACKAGING_ONLY=${process.env.PACKAGING_ONLY} matches no tool`);
  assert.ok(existsSync(BUN), `${BUN} missing: npm install`);
  assert.ok(existsSync(NODE24), `${NODE24} missing: bash scripts/setup.sh`);
});
