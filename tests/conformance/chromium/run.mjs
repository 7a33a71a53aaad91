// Runs the conformance suite (tests/conformance/*.test.js) in a real headless Chromium page
// against webkv's browser build (pkg/browser.js), as KV_TARGET=webkv-idb. See README.md.
//
//   node tests/conformance/chromium/run.mjs [--filter <substring>|/<regex>/] [--timeout <ms>]
//
// Environment: CHROMIUM (default /usr/bin/chromium).
// Exit status 0 only if at least one test ran, none failed, every skipped test exists, the page
// raised no uncaught error and no conformance-* IndexedDB database was left. console.error output is printed and counted, not a failure
// (webkv logs "Exception in queue handler" there, as Deno does).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../../chromium.mjs";
import { CROSS_ORIGIN_ISOLATED, startStaticServer } from "../../static-server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const conformanceDir = join(root, "tests", "conformance");

// Tests a browser page can never pass, by name without the "[target] " prefix: name -> reason.
// None today; a stale entry fails the run.
const SKIPS = {
};

function parseArgs(argv) {
  const opts = { filter: null, timeoutMs: 15_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--filter") {
      const f = value();
      const re = /^\/(.*)\/$/.exec(f);
      opts.filter = re ? { regex: true, source: re[1] } : { regex: false, source: f };
    } else if (a === "--timeout") {
      opts.timeoutMs = Number(value());
      if (!(opts.timeoutMs > 0)) usage("--timeout needs a positive number of milliseconds");
    } else usage(`unknown argument ${a}`);
  }
  return opts;
}

function usage(why) {
  console.error(`${why}\nusage: node tests/conformance/chromium/run.mjs [--filter <substring>|/<regex>/] [--timeout <ms>]`);
  process.exit(2);
}

// Serves the repository root. Cross-origin isolation (COOP + COEP) makes the page a place where
// SharedArrayBuffer exists, as it does in Deno (values.test.js stores one to check the error).
const startServer = () => startStaticServer({ routes: [["/", root]], headers: CROSS_ORIGIN_ISOLATED });

const dbs = (ev) => (ev.databases.length ? `, ${ev.databases.length} db${ev.databases.length > 1 ? "s" : ""}` : "");
const indent = (s, by = "    ") => s.replace(/^/gm, by);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const files = readdirSync(conformanceDir).filter((f) => f.endsWith(".test.js")).sort();
  const server = await startServer();
  const base = server.origin;
  const notFound = () => server.requests.filter(([status]) => status !== 200).map(([, path]) => path);
  const counts = { pass: 0, fail: 0, skip: 0, ignored: 0, databases: 0 };
  let hasDeleteKv = false;
  const failed = [];
  const problems = []; // page errors, load errors, crashes, 404s: each fails the run
  const consoleErrors = []; // reported, not a failure
  const pageErrors = []; // Playwright's pageerror events
  const seenInPage = []; // uncaught errors page.js reported
  let browser;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on("console", (m) => {
      const where = m.location()?.url ? ` (${m.location().url}:${m.location().lineNumber})` : "";
      if (m.type() === "error") {
        consoleErrors.push(`${m.text()}${where}`);
        console.log(`  [page console.error] ${m.text()}${where}`);
      } else {
        console.log(`  [page console.${m.type()}] ${m.text()}`);
      }
    });
    // page.js reports uncaught errors itself (and fails the running test); Playwright's pageerror
    // is the fallback for any it did not see, checked at the end.
    page.on("pageerror", (e) => pageErrors.push(e));
    page.on("crash", () => {
      problems.push("the page crashed");
      console.log("  [page crashed]");
    });
    page.on("requestfailed", (r) => {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });

    let current = null;
    await page.exposeFunction("__report", (ev) => {
      switch (ev.type) {
        case "plan":
          console.log(
            `KV_TARGET=${ev.target} in ${browser.version()} (Chromium): ${ev.registered} tests registered by ${files.length} files, running ${ev.chosen}`,
          );
          hasDeleteKv = ev.hasDeleteKv;
          for (const name of ev.unknownSkips) problems.push(`SKIPS names a test that does not exist: ${name}`);
          if (ev.onlyUsed) problems.push('a test uses the "only" option (as in deno test, that fails the run)');
          break;
        case "start":
          current = ev.name;
          break;
        case "pass":
          counts.pass++;
          counts.databases += ev.databases.length;
          console.log(`ok      ${ev.name} (${ev.ms} ms${dbs(ev)})`);
          current = null;
          break;
        case "fail":
          seenInPage.push(...ev.errors);
          counts.fail++;
          counts.databases += ev.databases.length;
          failed.push(ev.name);
          console.log(`FAILED  ${ev.name} (${ev.ms} ms${dbs(ev)})\n${indent(ev.errors.join("\n"))}`);
          current = null;
          break;
        case "skip":
          counts.skip++;
          console.log(`skip    ${ev.name}: ${ev.reason}`);
          break;
        case "ignored":
          counts.ignored++;
          console.log(`ignored ${ev.name} (ignore: true in ${ev.file})`);
          break;
        case "load-error":
          problems.push(`${ev.file} failed to load: ${ev.error}`);
          console.log(`ERROR   loading ${ev.file}\n${indent(ev.error)}`);
          break;
        case "page-error":
          seenInPage.push(ev.error);
          problems.push(ev.error);
          console.log(`ERROR   outside any test: ${ev.error}`);
          break;
        case "leftover":
          if (ev.names.length) problems.push(`IndexedDB databases left after the run: ${ev.names.join(", ")}`);
          break;
        default:
          problems.push(`unknown report ${JSON.stringify(ev)}`);
      }
    });

    const watchdog = setTimeout(() => {
      console.log(`ERROR   the run did not finish in time${current ? ` (running: ${current})` : ""}`);
      process.exit(1);
    }, 60_000 + opts.timeoutMs * 2);
    await page.goto(`${base}/tests/conformance/chromium/index.html`);
    await page.waitForFunction(() => globalThis.__conformance !== undefined, null, { timeout: 30_000 });
    const isolated = await page.evaluate(() => crossOriginIsolated);
    if (!isolated) problems.push("the page is not cross-origin isolated (COOP/COEP headers missing?)");
    await page.evaluate((args) => globalThis.__conformance.run(args), {
      files,
      env: { KV_TARGET: "webkv-idb" },
      filter: opts.filter,
      timeoutMs: opts.timeoutMs,
      skips: SKIPS,
    });
    clearTimeout(watchdog);
  } catch (e) {
    problems.push(`runner: ${e.stack ?? e}`);
  } finally {
    await browser?.close().catch(() => {});
    await server.close();
  }

  for (const e of pageErrors) {
    if (!seenInPage.some((text) => text.includes(e.message))) problems.push(`page error: ${e.stack ?? e}`);
  }
  for (const path of notFound()) problems.push(`404 for ${path}`);
  const ran = counts.pass + counts.fail;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `\n${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped, ${counts.ignored} ignored (${secs} s)`,
  );
  console.log(
    `${counts.databases} databases opened by name (conformance-<n>-<random>), closed and ${
      hasDeleteKv ? "deleted with deleteKv" : "left in place (the package exports no deleteKv)"
    }`,
  );
  if (consoleErrors.length) {
    console.log(`${consoleErrors.length} console.error message(s) (reported above, not a failure):`);
    for (const m of consoleErrors) console.log(`  ${m.split("\n")[0]}`);
  }
  if (failed.length) console.log(`failed:\n${failed.map((n) => `  ${n}`).join("\n")}`);
  if (problems.length) console.log(`errors:\n${problems.map((p) => indent(p, "  ")).join("\n")}`);
  if (ran === 0) console.log("no test ran");
  const ok = ran > 0 && counts.fail === 0 && problems.length === 0;
  console.log(ok ? "ok" : "FAILED");
  process.exit(ok ? 0 : 1);
}

await main();
