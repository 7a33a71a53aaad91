// Next.js (App Router) from the packed tarball, with no next.config and
// nothing webkv-specific: tests/packaging/next-app/ built and served three
// ways, one after the other (a Next build takes both cores of a small
// machine): Turbopack `next build` + `next start`, `next build --webpack` +
// `next start`, and `next dev` (Turbopack). Each time:
//   - `/` (a client component) in Chromium: the smoke scenario in memory and
//     a named (IndexedDB) database round trip, read from the DOM;
//   - `/server` (a server component rendered per request) in Chromium: the
//     smoke scenario, run in Next's server bundle;
//   - `/api/kv` (a route handler) fetched: the smoke scenario, and a SQLite
//     file written, closed and opened again;
//   - no console error or warning, no failed request (status >= 400 or
//     aborted) in the browser; no warning or error in what Next printed while
//     building or serving.
// Next's server bundles rewrite `new URL("./x.wasm", import.meta.url)` to a
// URL that names no file; webkv's node.js must then load its inlined wasm
// (it used to hand that URL to readFile, and every server component failed).
//
//   bash tests/packaging/run.sh next.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../chromium.mjs";
import { assertChecks } from "../smoke/checks.mjs";
import { installTools } from "./install-tools.mjs";
import { makeNextApp, packAndInstall } from "./pack.mjs";
import { DURABLE_EXPECTED } from "./app/src/durable.js";

const NODE24 = process.env.NODE24 ?? fileURLToPath(new URL("../../.tools/node-24.21.0/bin/node", import.meta.url));

// How long each step may take on a loaded 2-core machine (a warm build takes
// 4-10 s, `next dev` compiles a page on its first request).
const BUILD_TIMEOUT = 240_000;
const READY_TIMEOUT = 60_000;
const PAGE_TIMEOUT = 120_000;

const MODES = [
  { name: "Turbopack: next build + next start", build: ["build"], serve: ["start"] },
  { name: "webpack: next build --webpack + next start", build: ["build", "--webpack"], serve: ["start"] },
  { name: "Turbopack: next dev", serve: ["dev"] },
];

// What Next prints that says nothing about webkv, so is not counted as a
// warning (Next 16.5 builds and serves this app without any other).
const NOT_ABOUT_WEBKV = [
  // Printed where CI is set (as in .ci/run): each build starts from nothing
  // on purpose.
  /No build cache found\. Please configure build caching/,
];

let tools;
let packed;
let browser;
const children = new Set();
const tempDirs = [];

before(async () => {
  tools = installTools();
  packed = packAndInstall("next");
  browser = await launchChromium();
});

after(async () => {
  await Promise.all([...children].map(stop));
  await browser?.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts `next <args>` in `app`, in a process group of its own so that
 * `stop` ends whatever Next forks (`next dev` runs its server in a child).
 */
function startNext(app, args, env) {
  const child = spawn(NODE24, [join(app, "node_modules/next/dist/bin/next"), ...args], {
    cwd: app,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.output = "";
  child.stdout.on("data", (d) => (child.output += d));
  child.stderr.on("data", (d) => (child.output += d));
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const kill = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch (error) {
      if (error.code !== "ESRCH") throw error;
    }
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), 5_000);
  await child.exited;
  clearTimeout(timer);
}

/** Rejects with Next's output if `promise` takes longer than `ms`. */
async function within(ms, what, child, promise) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s\n${child.output}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `next build ...` to its end; returns what it printed. */
async function build(app, args, env) {
  const child = startNext(app, args, env);
  try {
    const { code, signal } = await within(BUILD_TIMEOUT, `next ${args.join(" ")}`, child, child.exited);
    assert.equal(code, 0, `next ${args.join(" ")} exited with ${code ?? signal}\n${child.output}`);
    return child.output;
  } finally {
    await stop(child);
  }
}

/** Starts `next start|dev` on a port of its choosing; resolves its URL once it is ready. */
async function serve(app, args, env) {
  const child = startNext(app, [...args, "--port", "0", "--hostname", "127.0.0.1"], env);
  const ready = new Promise((resolve, reject) => {
    const look = () => {
      const url = /- Local:\s+(http:\/\/\S+)/.exec(child.output)?.[1];
      if (url && /Ready in/.test(child.output)) resolve(url.replace(/\/?$/, "/"));
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.exited.then(({ code, signal }) => reject(new Error(`next ${args[0]} exited with ${code ?? signal}\n${child.output}`)));
  });
  const url = await within(READY_TIMEOUT, `next ${args[0]}`, child, ready);
  return { child, url };
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (text) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

/** Lines of Next's output that warn or report an error. */
function problems(output) {
  return stripAnsi(output)
    .split("\n")
    .filter((line) => /warn|⚠|error|⨯|fail/i.test(line) && !NOT_ABOUT_WEBKV.some((re) => re.test(line)));
}

/**
 * Opens `/` and `/server` in one fresh context; returns what each showed in
 * #result (parsed), the console and failed requests, and every response.
 */
async function runInChromium(url) {
  const context = await browser.newContext();
  const log = [];
  const responses = [];
  context.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  context.on("weberror", (e) => log.push(`pageerror: ${e.error()?.stack ?? e.error()}`));
  context.on("requestfailed", (r) => log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  context.on("response", (r) => responses.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"] ?? "" }));
  const results = {};
  try {
    const page = await context.newPage();
    for (const path of ["", "server"]) {
      await page.goto(url + path, { timeout: PAGE_TIMEOUT });
      try {
        // The client component marks its result done; the server
        // component's is in the HTML, but hydration is waited for too, so
        // that its errors would be seen.
        await page.waitForSelector(path ? "#result" : '#result[data-done="yes"]', { timeout: PAGE_TIMEOUT });
        await page.waitForLoadState("networkidle", { timeout: PAGE_TIMEOUT });
      } catch (error) {
        throw new Error(`/${path} did not finish: ${error.message}\n${log.join("\n")}`);
      }
      const text = await page.textContent("#result");
      try {
        results[`/${path}`] = JSON.parse(text);
      } catch {
        throw new Error(`/${path} showed no JSON: ${text}\n${log.join("\n")}`);
      }
    }
  } finally {
    await context.close();
  }
  return { results, log, responses };
}

describe("Next.js (App Router): client component, server component and route handler, zero config", () => {
  for (const mode of MODES) {
    test(mode.name, { timeout: BUILD_TIMEOUT + READY_TIMEOUT + 3 * PAGE_TIMEOUT }, async (t) => {
      const app = makeNextApp(packed, "next", tools);
      const dbDir = mkdtempSync(join(tmpdir(), "webkv-next-db-"));
      tempDirs.push(app, dbDir);
      const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", WEBKV_PACKAGING_DB_DIR: dbDir };
      // Not a child of this test run, nor of its module paths.
      delete env.NODE_TEST_CONTEXT;
      delete env.NODE_OPTIONS;
      delete env.NODE_PATH;

      const started = Date.now();
      const buildOutput = mode.build ? await build(app, mode.build, env) : "";
      const built = Date.now();
      const { child, url } = await serve(app, mode.serve, env);
      const ready = Date.now();
      let seen;
      let route;
      try {
        seen = await runInChromium(url);
        const response = await within(PAGE_TIMEOUT, "/api/kv", child, fetch(`${url}api/kv`));
        const text = await response.text();
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = { error: `not JSON: ${text.slice(0, 2000)}` };
        }
        route = { status: response.status, body };
      } catch (error) {
        error.message += `\n--- next ${mode.serve[0]}\n${child.output}`;
        throw error;
      } finally {
        await stop(child);
      }
      t.diagnostic(
        `${mode.build ? `build ${((built - started) / 1000).toFixed(1)} s, ` : ""}` +
          `ready ${((ready - built) / 1000).toFixed(1)} s, pages and route ${((Date.now() - ready) / 1000).toFixed(1)} s`,
      );
      const wasm = seen.responses.filter((r) => /\.wasm(\?|$)/.test(r.url));
      t.diagnostic(`browser .wasm requests: ${wasm.length ? wasm.map((r) => `${r.status} ${r.type} ${r.url}`).join(", ") : "none (the inlined copy)"}`);
      const client = seen.results["/"];
      const server = seen.results["/server"];

      if (mode.build) {
        await t.test("next build printed no warning", () => assert.deepEqual(problems(buildOutput), [], buildOutput));
      }
      await t.test("client component: smoke scenario", async (t) => {
        assert.equal(client.error, undefined, client.error);
        await assertChecks(t, client.scenario, `${mode.name} client component`);
      });
      await t.test("client component: named (IndexedDB) database", () => assert.deepEqual(client.durable, DURABLE_EXPECTED));
      await t.test("server component: smoke scenario", async (t) => {
        assert.equal(server.error, undefined, server.error);
        await assertChecks(t, server.scenario, `${mode.name} server component`);
      });
      await t.test("route handler: smoke scenario", async (t) => {
        assert.equal(route.status, 200, route.body.error ?? JSON.stringify(route.body));
        await assertChecks(t, route.body.scenario, `${mode.name} route handler`);
      });
      await t.test("route handler: SQLite file, written and reopened", () => {
        assert.deepEqual(route.body.sqlite, { value: { n: 1 }, reopened: { value: { n: 1 }, count: "2" } });
      });
      await t.test("no console errors or warnings, no failed request", () => {
        assert.deepEqual(seen.log.filter((l) => /^(error|warning|pageerror|requestfailed)/.test(l)), []);
        assert.deepEqual(seen.responses.filter((r) => r.status >= 400), []);
        for (const r of wasm) assert.equal(r.type, "application/wasm", r.url);
      });
      await t.test(`next ${mode.serve[0]} printed no warning or error`, () => assert.deepEqual(problems(child.output), [], child.output));
    });
  }
});

test("Node 24 exists", () => assert.ok(existsSync(NODE24), `${NODE24} missing: bash scripts/setup.sh`));
