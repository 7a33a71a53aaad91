// A real `denokv` KV Connect server for tests, usable from Node and Deno.
//
//   import { startDenokv } from "./denokv.mjs";
//   const server = await startDenokv();      // { url, token, port, pid, sqlitePath, stop() }
//   ... Deno.openKv(server.url) / openKv(server.url, { accessToken: server.token }) ...
//   await server.stop();
//
// - Runs `denokv --sqlite-path <tmp file> serve --access-token <random> --addr 127.0.0.1:<free port>`.
//   The binary is $DENOKV, else `denokv` on PATH, else ~/.cargo/bin/denokv
//   (installed by scripts/setup.sh).
// - Binds only to 127.0.0.1. The PID goes to tests/kvconnect/.tmp/denokv-<port>.pid and the
//   server's log to tests/kvconnect/.tmp/denokv-<port>.log (.tmp is git-ignored).
// - Resolves once the port accepts TCP connections.
// - The server is always killed, by its PID only: by stop(), on process exit, on
//   SIGINT/SIGTERM/SIGHUP and on an uncaught exception or unhandled rejection.
// - startDenokv() first removes leftovers of earlier runs that died without cleaning up: it
//   kills a PID recorded in .tmp only if /proc/<pid>/cmdline is still exactly the command
//   we started (so a reused PID is never touched).
//
// As a command (what tests/kvconnect/run.sh and bench/run.sh use):
//   node tests/kvconnect/denokv.mjs serve [--write-env FILE] [--port N]
// starts a server, prints (and writes to FILE) the lines KV_CONNECT_URL=..., KV_CONNECT_TOKEN=...,
// KV_CONNECT_PID=... and KV_CONNECT_SQLITE=... (its database file), and keeps it running
// until this process gets SIGTERM/SIGINT or its parent process goes away. (The flag is not
// called --env-file because Node 20 takes that one for itself wherever it appears.)
//
// Also: a watchdog shell per process kills it even if this process is SIGKILLed.

import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const TMP_DIR = path.join(here, ".tmp");

/** The denokv binary to run. */
export function denokvBinary() {
  if (process.env.DENOKV) return process.env.DENOKV;
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, "denokv");
    if (isExecutable(p)) return p;
  }
  const cargo = path.join(os.homedir(), ".cargo", "bin", "denokv");
  if (isExecutable(cargo)) return cargo;
  throw new Error("denokv not found: run `bash scripts/setup.sh` (cargo install denokv --version 0.14.0 --locked) or set DENOKV");
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The installed denokv's version, e.g. "0.14.0", or null. denokv has no --version flag:
 * this asks `cargo install --list` (scripts/setup.sh installs it with cargo).
 */
export function denokvVersion() {
  try {
    const out = execFileSync("cargo", ["install", "--list"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return /^denokv v(\S+):/m.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a TCP connection. */
export async function waitForPort(port, { timeoutMs = 10_000, isDead = () => null } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = isDead();
    if (dead) throw new Error(dead);
    const ok = await new Promise((resolve) => {
      const sock = net.connect({ host: "127.0.0.1", port });
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ------------------------------------------------------------------ tracked processes

const live = new Set(); // processes this process started and that still run
let hooksInstalled = false;

function killSync(proc) {
  if (proc.exited) return;
  try {
    process.kill(proc.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

// The log is kept only if the process ended by itself (that is worth a look).
function forgetFiles(proc, withLog) {
  for (const f of [proc.pidFile, ...proc.files, withLog ? proc.logPath : null]) {
    try {
      if (f) fs.rmSync(f, { force: true });
    } catch {
      // ignore
    }
  }
}

function killAllSync() {
  for (const p of live) {
    const running = !p.exited;
    killSync(p);
    forgetFiles(p, running);
  }
  live.clear();
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    try {
      process.on(sig, () => {
        killAllSync();
        process.exit(sig === "SIGINT" ? 130 : 143);
      });
    } catch {
      // a runtime without this signal
    }
  }
  if (typeof globalThis.Deno !== "undefined" && typeof globalThis.addEventListener === "function") {
    // Deno: listen without preventDefault(), so Deno still reports the error
    // and exits as usual; "unload" also covers a normal exit.
    globalThis.addEventListener("error", killAllSync);
    globalThis.addEventListener("unhandledrejection", killAllSync);
    globalThis.addEventListener("unload", killAllSync);
  } else {
    // Node: a listener replaces the default crash, so print and exit(1) as Node would.
    const crash = (err) => {
      killAllSync();
      console.error(err);
      process.exit(1);
    };
    process.on("uncaughtException", crash);
    process.on("unhandledRejection", crash);
  }
}

// A detached shell that SIGKILLs the process once its owner is gone, even if
// the owner was SIGKILLed and no hook ran. It checks that the PID still runs
// the exact command first, so a reused PID is never hit.
function startWatchdog(pid, cmdline) {
  const expected = cmdline.join(" ");
  const script = 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
    'if [ "$(tr "\\000" " " < /proc/"$2"/cmdline 2>/dev/null)" = "$3 " ]; then kill -9 "$2"; fi';
  try {
    const w = spawn("sh", ["-c", script, "watchdog", String(process.pid), String(pid), expected], {
      stdio: "ignore",
      detached: true,
    });
    w.unref();
    return w.pid;
  } catch {
    return null;
  }
}

/** Kills processes recorded in .tmp by runs that could not clean up (only if the PID still runs that exact command). */
export function cleanupStale() {
  let names;
  try {
    names = fs.readdirSync(TMP_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/\.pid$/.test(name)) continue;
    const file = path.join(TMP_DIR, name);
    let rec;
    try {
      rec = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    if (rec.owner && rec.owner !== process.pid && isAlive(rec.owner)) continue; // its owner still runs
    let cmdline = null;
    try {
      cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      // process gone
    }
    if (cmdline && JSON.stringify(cmdline) === JSON.stringify(rec.cmdline)) {
      try {
        process.kill(rec.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    for (const f of [file, ...(rec.files ?? [])]) {
      try {
        fs.rmSync(f, { force: true });
      } catch {
        // ignore
      }
    }
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/**
 * Spawns `command args` with its PID recorded in .tmp/<name>.pid and the
 * cleanup guarantees above. stdio: "log" (to .tmp/<name>.log) or "pipe" (stdout
 * piped, stderr to the log). `files` are removed with the PID file on stop.
 * Returns { pid, child, name, logPath, exited, exitInfo, whenExited, stop() }.
 */
export function spawnTracked(name, command, args, { stdio = "log", files = [], env } = {}) {
  fs.mkdirSync(TMP_DIR, { recursive: true });
  installHooks();
  const logPath = path.join(TMP_DIR, `${name}.log`);
  const logFd = fs.openSync(logPath, "w");
  const child = spawn(command, args, {
    stdio: ["ignore", stdio === "pipe" ? "pipe" : logFd, logFd],
    env: env ?? process.env,
  });
  fs.closeSync(logFd);
  const proc = {
    name,
    pid: child.pid,
    child,
    logPath,
    pidFile: path.join(TMP_DIR, `${name}.pid`),
    files,
    exited: false,
    exitInfo: null,
    spawnError: null,
  };
  proc.whenExited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      proc.exited = true;
      proc.exitInfo = { code, signal };
      resolve();
    });
    child.once("error", (e) => {
      proc.spawnError = e;
      proc.exited = true;
      resolve();
    });
  });
  // Do not keep the event loop alive for it: stop() or the exit hooks end it.
  child.unref();
  if (child.stdout) child.stdout.unref?.();
  if (child.pid !== undefined) {
    fs.writeFileSync(
      proc.pidFile,
      JSON.stringify({ pid: child.pid, owner: process.pid, cmdline: [command, ...args], files }) + "\n",
    );
    live.add(proc);
    proc.watchdogPid = startWatchdog(child.pid, [command, ...args]);
  }
  proc.stop = async () => {
    live.delete(proc);
    const running = !proc.exited;
    if (running) {
      try {
        process.kill(proc.pid, "SIGTERM");
      } catch {
        // gone
      }
      const t = setTimeout(() => killSync(proc), 2000);
      await proc.whenExited;
      clearTimeout(t);
    }
    forgetFiles(proc, running);
  };
  return proc;
}

// ------------------------------------------------------------------ denokv

/**
 * Starts denokv on 127.0.0.1 with a fresh SQLite file and a random token.
 * Options: port (default: a free one), token (default: 32 random hex chars),
 * binary, timeoutMs (readiness).
 * Returns { url, token, port, pid, sqlitePath, logPath, stop() }.
 */
export async function startDenokv(opts = {}) {
  fs.mkdirSync(TMP_DIR, { recursive: true });
  cleanupStale();
  const binary = opts.binary ?? denokvBinary();
  const token = opts.token ?? randomBytes(16).toString("hex");
  if (token.length < 12) throw new Error("denokv needs an access token of at least 12 characters");

  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port ?? await freePort();
    try {
      return await startOnce(binary, port, token, opts);
    } catch (e) {
      lastError = e;
      if (opts.port) break; // a fixed port: do not retry elsewhere
    }
  }
  throw lastError;
}

async function startOnce(binary, port, token, opts) {
  const sqlitePath = path.join(TMP_DIR, `denokv-${port}-${randomBytes(4).toString("hex")}.sqlite`);
  const args = ["--sqlite-path", sqlitePath, "serve", "--access-token", token, "--addr", `127.0.0.1:${port}`];
  const proc = spawnTracked(`denokv-${port}`, binary, args, {
    files: [sqlitePath, sqlitePath + "-wal", sqlitePath + "-shm", sqlitePath + "-journal"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
  });
  const server = {
    url: `http://127.0.0.1:${port}`,
    token,
    port,
    pid: proc.pid,
    sqlitePath,
    logPath: proc.logPath,
    proc,
    get exited() {
      return proc.exited;
    },
    stop: () => proc.stop(),
  };
  try {
    await waitForPort(port, {
      timeoutMs: opts.timeoutMs ?? 10_000,
      isDead: () =>
        proc.spawnError
          ? `could not run ${binary}: ${proc.spawnError.message}`
          : proc.exited
          ? `denokv exited (${JSON.stringify(proc.exitInfo)}) before listening; log:\n${tail(proc.logPath)}`
          : null,
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  // The port accepting connections could be someone else's listener that won
  // a race for the free port: make sure ours is still alive.
  await new Promise((r) => setTimeout(r, 30));
  if (proc.exited) {
    await proc.stop();
    throw new Error(`denokv exited right after start; log:\n${tail(proc.logPath)}`);
  }
  return server;
}

export function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ------------------------------------------------------------------ CLI

const isMain = (() => {
  try {
    if (typeof globalThis.Deno !== "undefined") return import.meta.main === true;
    return process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (isMain) {
  const argv = process.argv.slice(2);
  const cmd = argv[0];
  if (cmd !== "serve") {
    console.error("usage: node tests/kvconnect/denokv.mjs serve [--write-env FILE] [--port N]");
    process.exit(2);
  }
  const envFile = argv.includes("--write-env") ? argv[argv.indexOf("--write-env") + 1] : null;
  const port = argv.includes("--port") ? Number(argv[argv.indexOf("--port") + 1]) : undefined;
  const server = await startDenokv({ port });
  const env = `KV_CONNECT_URL=${server.url}\nKV_CONNECT_TOKEN=${server.token}\nKV_CONNECT_PID=${server.pid}\n` +
    `KV_CONNECT_SQLITE=${server.sqlitePath}\n`;
  if (envFile) {
    fs.writeFileSync(envFile + ".part", env, { mode: 0o600 });
    fs.renameSync(envFile + ".part", envFile);
  }
  process.stdout.write(env);
  // Keep running until signalled, or until the parent (e.g. run.sh) has gone.
  const parent = process.ppid;
  const timer = setInterval(async () => {
    if (process.ppid !== parent || !isAlive(parent)) {
      clearInterval(timer);
      await server.stop();
      process.exit(0);
    }
    if (server.exited) {
      console.error(`denokv exited unexpectedly (${JSON.stringify(server.proc.exitInfo)}); log:\n${tail(server.logPath)}`);
      process.exit(1);
    }
  }, 500);
}
