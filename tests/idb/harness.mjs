// Shared harness for the IndexedDB persistence tests (tests/idb/*.test.mjs).
//
// - startServer(): a static HTTP server on 127.0.0.1 (random port) serving the
//   repository root, so pages load /pkg/browser.js and /tests/idb/pages/*.
// - makeProfile(): a temporary Chromium user-data-dir, removed on exit.
// - launch(profile): spawns /usr/bin/chromium itself (headless=new,
//   --remote-debugging-port=0), detached in its own process group, reads the
//   DevTools ws URL from stderr and connects playwright-core over CDP.
//   session.kill() SIGKILLs the whole process group (no graceful shutdown) and
//   waits until no process of the group, and none naming the profile, is left;
//   launch() again on the same profile is a relaunch after a crash.
// - Everything started here is killed, by process group or PID, and every
//   temporary profile removed, when the tests end, fail or are interrupted.
//
// WEBKV_IDB_IMPL picks what the pages test (see pages/impl.js): "webkv"
// (default) is /pkg/browser.js; "raw" is pages/rawkv.js, a small stand-in over
// raw IndexedDB with the same API subset, which the tests must pass (the
// harness and the tests are sound); "memory" is the package on ":memory:",
// which the persistence, concurrency and crash tests must fail.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startStaticServer } from "../static-server.mjs";
import { CHROMIUM, CHROMIUM_FLAGS, FOREGROUND_TABS } from "../chromium.mjs";

export const IMPL = process.env.WEBKV_IDB_IMPL ?? "webkv";
if (!["webkv", "raw", "memory"].includes(IMPL)) throw new Error(`WEBKV_IDB_IMPL must be webkv, raw or memory, not ${IMPL}`);
/** The IndexedDB database name prefix of each implementation. */
export const IDB_PREFIX = IMPL === "raw" ? "rawkv:" : "webkv:";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// Spawned by hand, not through Playwright, so that a test can SIGKILL it.
const SPAWN_FLAGS = [
  "--headless=new",
  ...CHROMIUM_FLAGS,
  "--no-default-browser-check",
  ...FOREGROUND_TABS,
  "--remote-debugging-address=127.0.0.1",
  "--remote-debugging-port=0",
];

// ---------------------------------------------------------------- cleanup

const sessions = new Set(); // live Session objects
const profiles = new Set(); // temp dirs to remove
const servers = new Set();

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Kills every browser started here and removes every temp profile
 * (synchronous, for exit and signal handlers). The sentinels go last: if this
 * process is killed midway, they finish the job.
 */
export function cleanupSync() {
  const live = [...sessions];
  for (const s of live) s.killSync({ endSentinel: false });
  for (const server of servers) {
    try { server.closeAllConnections?.(); server.close(); } catch {}
  }
  servers.clear();
  for (const dir of profiles) {
    try { rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
  }
  profiles.clear();
  for (const s of live) s.endSentinel();
}

process.once("exit", cleanupSync);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    cleanupSync();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[signal]);
  });
}

// ---------------------------------------------------------------- /proc

/** Live (non-zombie) processes: [{ pid, pgrp, state, cmdline }]. */
function processes() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const statText = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...; comm may contain spaces and parens.
      const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
      const state = fields[0];
      if (state === "Z" || state === "X") continue;
      let cmdline = "";
      try { cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " "); } catch {}
      out.push({ pid: Number(name), pgrp: Number(fields[2]), state, cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/**
 * Live processes in process group `pgid` (pass null once the group leader has
 * been reaped: its id may be reused) or whose command line names `profile`.
 */
export function leftovers(pgid, profile) {
  return processes().filter((p) => (pgid !== null && p.pgrp === pgid) || (profile !== undefined && p.cmdline.includes(profile)));
}

// ---------------------------------------------------------------- server

// WEBKV_IDB_PKG=<dir> serves /pkg/ from <dir> instead of the repository's
// pkg/ (say, a copy of a finished build, while pkg/ is being rebuilt).
const PKG_DIR = process.env.WEBKV_IDB_PKG ? resolve(process.env.WEBKV_IDB_PKG) : null;

/**
 * Serves the repository root on 127.0.0.1:<random>. Returns { origin,
 * close(), requests } (tests/static-server.mjs); closed at exit.
 */
export async function startServer() {
  const routes = PKG_DIR === null ? [["/", ROOT]] : [["/pkg/", PKG_DIR], ["/", ROOT]];
  const web = await startStaticServer({ routes });
  servers.add(web.server);
  return {
    ...web,
    close: () => {
      servers.delete(web.server);
      return web.close();
    },
  };
}

// ---------------------------------------------------------------- profiles

/** A new empty temporary user-data-dir, removed when the process exits. */
export function makeProfile(label = "profile") {
  const dir = mkdtempSync(join(tmpdir(), `webkv-idbtest-${label}-`));
  profiles.add(dir);
  return dir;
}

/** Removes a profile now (its browser must be dead). */
export function removeProfile(dir) {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  profiles.delete(dir);
}

// ---------------------------------------------------------------- browser

class Session {
  constructor(child, profile) {
    this.child = child;
    this.pid = child.pid; // == process group id (detached: setsid)
    this.profile = profile;
    this.stderr = "";
    this.exited = null;
    this.exitPromise = new Promise((resolve) => {
      child.once("exit", (code, signal) => { this.exited = { code, signal }; resolve(this.exited); });
      child.once("error", (error) => { this.exited = { error }; resolve(this.exited); });
    });
    this.browser = null;
    this.context = null;
    this.killed = false;
  }

  /** The last bytes Chromium wrote to stderr, for failure messages. */
  stderrTail(n = 4000) {
    return this.stderr.slice(-n);
  }

  /** Our processes: the group while its leader is not reaped (so its id is not reused), and any naming the profile. */
  leftovers() {
    return leftovers(this.exited === null ? this.pid : null, this.profile);
  }

  /**
   * SIGKILLs the browser's process group, then any process left naming the
   * profile (chrome_crashpad_handler runs outside the group), and waits up to
   * a second for them to go. Synchronous, for exit handlers.
   */
  killSync({ endSentinel = true } = {}) {
    this.killed = true;
    if (this.exited === null) {
      try { process.kill(-this.pid, "SIGKILL"); } catch {}
    }
    for (let i = 0; i < 50; i++) {
      const left = this.leftovers();
      if (left.length === 0) break;
      for (const p of left) {
        try { process.kill(p.pid, "SIGKILL"); } catch {}
      }
      sleepSync(20);
    }
    sessions.delete(this);
    if (endSentinel) this.endSentinel();
  }

  /** Ends the sentinel (by its PID, while it is our unreaped child). */
  endSentinel() {
    const s = this.sentinel;
    if (s !== undefined && s.exitCode === null && s.signalCode === null) {
      try { process.kill(s.pid, "SIGKILL"); } catch {}
    }
  }

  /**
   * SIGKILL, no graceful shutdown: the whole process group at once. Resolves
   * when the browser process has been reaped and no process of the group, or
   * naming the profile, is alive. Throws if that takes over `timeoutMs`.
   */
  async kill(timeoutMs = 10_000) {
    this.killSync({ endSentinel: false });
    const deadline = Date.now() + timeoutMs;
    await Promise.race([this.exitPromise, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    while (this.exited === null || this.leftovers().length > 0) {
      if (Date.now() > deadline) {
        throw new Error(`browser ${this.pid} still has processes after SIGKILL: ${JSON.stringify(this.leftovers())}`);
      }
      for (const p of this.leftovers()) {
        try { process.kill(p.pid, "SIGKILL"); } catch {}
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.endSentinel();
  }

  /** A new page at `url` that has finished loading its test modules (window.ready). */
  async openPage(url, { timeout = 30_000 } = {}) {
    const page = await this.context.newPage();
    return preparePage(page, url, timeout);
  }
}

/** Records a page's console, errors and workers' console in page.log (an array of strings). */
export function watchPage(page) {
  page.log = [];
  page.on("console", (m) => {
    const text = m.text();
    if (text.startsWith("ack:")) return; // the crash test's acknowledgements, counted elsewhere
    page.log.push(`${m.type()}: ${text}`);
  });
  page.on("pageerror", (e) => page.log.push(`pageerror: ${e.stack ?? e}`));
  page.on("requestfailed", (r) => page.log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("worker", (w) => w.on("console", (m) => page.log.push(`worker ${m.type()}: ${m.text()}`)));
  return page;
}

/** Navigates `page` to `url` and waits for the page's modules (window.ready, or window.loadError). */
export async function preparePage(page, url, timeout = 30_000) {
  if (page.log === undefined) watchPage(page);
  await page.goto(url, { timeout });
  await waitReady(page, timeout);
  return page;
}

/** Waits for pages/page.html's modules after a goto or reload. */
export async function waitReady(page, timeout = 30_000) {
  try {
    await page.waitForFunction(() => window.ready === true || window.loadError !== undefined, null, { timeout });
  } catch (error) {
    throw new Error(`page did not load: ${error.message}\n${(page.log ?? []).join("\n")}`);
  }
  const loadError = await page.evaluate(() => window.loadError);
  if (loadError !== undefined) throw new Error(`page modules failed to load: ${loadError}\n${(page.log ?? []).join("\n")}`);
}

// (dash's kill takes no "--"; "$1" is a process group id, so "-$1" is negative.)
const SENTINEL = 'read _ ; kill -KILL "-$1" 2>/dev/null ; if [ -n "$2" ]; then sleep 1 ; rm -rf -- "$2" ; fi';

function withoutXdg(env) {
  const out = { ...env };
  for (const k of Object.keys(out)) if (k.startsWith("XDG_")) delete out[k];
  return out;
}

/** Kills every browser started here (awaiting their end) and closes the servers: for after() hooks. */
export async function closeAll() {
  await Promise.all([...sessions].map((s) => s.kill().catch(() => s.killSync())));
  await Promise.all([...servers].map((server) => new Promise((resolve) => {
    servers.delete(server);
    server.closeAllConnections?.();
    server.close(() => resolve());
  })));
}

/**
 * Spawns Chromium on `profile` (a user-data-dir; reusing one is a relaunch)
 * and connects playwright-core to it over CDP. Returns a Session:
 * { browser, context, pid, openPage(url), kill(), stderrTail() }.
 */
export async function launch(profile, { timeoutMs = 30_000 } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium)`);
  const child = spawn(CHROMIUM, [...SPAWN_FLAGS, `--user-data-dir=${profile}`, "about:blank"], {
    detached: true, // setsid(): its own process group, killed as a whole
    stdio: ["ignore", "ignore", "pipe"],
    // chrome_crashpad_handler daemonizes into sessions of its own, outside the
    // process group; with HOME in the profile its command line names the
    // profile (--database=<profile>/.config/chromium/Crash Reports), so
    // leftovers() finds it. (--disable-crashpad-for-testing would avoid it
    // but makes Chromium 156's network service crash on an FD check.)
    env: { ...withoutXdg(process.env), HOME: profile },
  });
  const session = new Session(child, profile);
  sessions.add(session);
  // A sentinel outside the browser's process group, reading a pipe from this
  // process: if this process dies without cleaning up (even by SIGKILL), the
  // pipe closes and the sentinel SIGKILLs the browser's group and removes the
  // temporary profile. kill() ends the sentinel, by its PID, once the
  // browser is gone.
  session.sentinel = spawn("/bin/sh", ["-c", SENTINEL, "sentinel", String(child.pid), profiles.has(profile) ? profile : ""], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  session.sentinel.unref();
  session.sentinel.stdin.on("error", () => {});
  session.sentinel.stdin.unref?.();
  child.stderr.setEncoding("utf8");
  let onLine;
  const wsUrl = new Promise((resolve, reject) => {
    onLine = resolve;
    session.exitPromise.then((e) => reject(new Error(`chromium exited before DevTools was up: ${JSON.stringify(e)}\n${session.stderrTail()}`)));
    setTimeout(() => reject(new Error(`no DevTools URL from chromium within ${timeoutMs} ms\n${session.stderrTail()}`)), timeoutMs).unref();
  });
  child.stderr.on("data", (chunk) => {
    session.stderr = (session.stderr + chunk).slice(-200_000);
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(session.stderr);
    if (m) onLine(m[1]);
  });
  try {
    const url = await wsUrl;
    // From here on the CDP connection keeps this process alive while needed;
    // the browser's stderr pipe and the child itself must not.
    child.stderr.unref?.();
    child.unref();
    session.browser = await chromium.connectOverCDP(url, { timeout: timeoutMs });
    session.context = session.browser.contexts()[0];
    if (session.context === undefined) throw new Error("no default browser context over CDP");
  } catch (error) {
    await session.kill().catch(() => {});
    throw error;
  }
  return session;
}

/** The URL of pages/page.html with the implementation selected by WEBKV_IDB_IMPL. */
export function pageUrl(origin) {
  return `${origin}/tests/idb/pages/page.html?impl=${IMPL}`;
}

/** `promise`, or a rejection naming `what` if it has not settled within `ms`. */
export async function within(ms, what, promise) {
  const limit = deadline(ms, what);
  try {
    return await Promise.race([promise, limit]);
  } finally {
    limit.cancel();
  }
}

/** Rejects after `ms` with `what` in the message (for Promise.race). */
export function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  promise.cancel = () => clearTimeout(timer);
  promise.catch(() => {});
  return promise;
}
