// Runs the conformance files in this page, the way `deno test` would: install the Deno shim,
// import every test file (which only registers tests), then run the tests one after another,
// each with a timeout, and after each one close and delete the databases it opened
// (target.js's cleanupBrowserKvs). Every result goes to the Node runner through
// globalThis.__report (page.exposeFunction in run.mjs) as soon as it is known.
import { install, registered, setCurrentFile, setEnv } from "./deno_shim.js";

const formatError = (e) =>
  e instanceof Error ? (e.stack?.includes(e.message) ? e.stack : `${e.name}: ${e.message}\n${e.stack ?? ""}`) : `thrown: ${String(e)}`;

// Uncaught errors and unhandled rejections go to the test that is running (Deno fails a test
// for them too), or are reported on their own between tests.
let uncaught = null; // array while a test runs
const onUncaught = (what) => {
  if (uncaught) uncaught.push(what);
  else globalThis.__report({ type: "page-error", error: what });
};
addEventListener("error", (ev) => onUncaught(`uncaught error: ${formatError(ev.error ?? ev.message)}`));
addEventListener("unhandledrejection", (ev) => onUncaught(`unhandled rejection: ${formatError(ev.reason)}`));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function run({ files, env, filter, timeoutMs, skips }) {
  const report = globalThis.__report;
  setEnv(env);
  install();
  for (const file of files) {
    setCurrentFile(file);
    try {
      await import(`/tests/conformance/${file}`);
    } catch (e) {
      await report({ type: "load-error", file, error: formatError(e) });
    }
  }
  setCurrentFile(null);
  const { cleanupBrowserKvs, TARGET } = await import("/tests/conformance/target.js");
  const hasDeleteKv = typeof (await import("/pkg/browser.js")).deleteKv === "function";

  const bare = (name) => name.replace(/^\[[^\]]*\] /, ""); // without the "[target] " prefix
  const matches = (name) => (filter === null ? true : filter.regex ? new RegExp(filter.source).test(name) : name.includes(filter.source));
  const onlyUsed = registered.some((t) => t.only);
  const chosen = registered.filter((t) => matches(t.name) && (!onlyUsed || t.only));
  const unknownSkips = Object.keys(skips).filter((s) => !registered.some((t) => bare(t.name) === s));
  await report({ type: "plan", target: TARGET, registered: registered.length, chosen: chosen.length, onlyUsed, unknownSkips, hasDeleteKv });

  for (const t of chosen) {
    const skipReason = Object.hasOwn(skips, bare(t.name)) ? skips[bare(t.name)] : undefined;
    if (skipReason !== undefined) {
      await report({ type: "skip", name: t.name, file: t.file, reason: skipReason });
      continue;
    }
    if (t.ignore) {
      await report({ type: "ignored", name: t.name, file: t.file });
      continue;
    }
    await report({ type: "start", name: t.name, file: t.file });
    const started = performance.now();
    const errors = [];
    uncaught = errors;
    try {
      await withTimeout(Promise.resolve().then(() => t.fn({ name: t.name })), timeoutMs, "the test");
    } catch (e) {
      errors.push(formatError(e));
    }
    let deleted = [];
    try {
      deleted = await withTimeout(cleanupBrowserKvs(), timeoutMs, "closing and deleting the test's databases");
    } catch (e) {
      errors.push(`cleanup: ${formatError(e)}`);
    }
    await tick(); // let a late uncaught error or unhandled rejection of this test surface here
    await tick();
    uncaught = null;
    const ms = Math.round(performance.now() - started);
    await report({ type: errors.length ? "fail" : "pass", name: t.name, file: t.file, ms, errors, databases: deleted });
  }
  // Every database the tests opened should be gone again (deleteKv), keeping the profile clean.
  const leftover = typeof indexedDB?.databases === "function"
    ? (await indexedDB.databases()).map((d) => d.name).filter((n) => n.includes("conformance-"))
    : [];
  await report({ type: "leftover", names: leftover });
  return { onlyUsed };
}

globalThis.__conformance = { run };
