// Shared by the tests in this directory: where the runtimes are, how to run
// a script in one of them, fresh temporary directories.
import { execFile, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const scripts = join(root, "tests/sqlite/scripts");
export const NODE24 = process.env.NODE24 ?? join(root, ".tools/node-24.21.0/bin/node");
// Node 22 LTS: the newest, and 22.13, the oldest with node:sqlite unflagged,
// which lacks StatementSync.setReturnArrays (webkv reads rows as objects).
export const NODE22 = process.env.NODE22 ?? join(root, ".tools/node-22.23.5/bin/node");
export const NODE22_13 = process.env.NODE22_13 ?? join(root, ".tools/node-22.13.1/bin/node");
export const DENO = join(root, "node_modules/@deno/linux-x64-glibc/deno");
export const BUN = join(root, "node_modules/bun/bin/bun.exe");
export const DENOKV = process.env.DENOKV ?? join(process.env.HOME, ".cargo/bin/denokv");

/** How to run a script: webkv in Node 24 or 22, Bun or Deno, or real Deno's KV. */
export const RUNTIMES = {
  node24: (script) => [NODE24, [script]],
  node22: (script) => [NODE22, [script]],
  "node22.13": (script) => [NODE22_13, [script]],
  bun: (script) => [BUN, [script]],
  // Only read and write permissions: all webkv needs for a file.
  deno: (script) => [DENO, ["run", "--allow-read", "--allow-write", script]],
  "deno-kv": (script) => [DENO, ["run", "--unstable-kv", "-A", script]],
};

/** Every Node that webkv's openKv(path) is tested on. */
export const NODES = ["node24", "node22", "node22.13"];

export function command(runtime, script, args = []) {
  const [bin, pre] = RUNTIMES[runtime](join(scripts, script));
  // A missing runtime fails the test that needs it, saying how to get it.
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`tests/sqlite: ${runtime} (${bin}) missing: run bash scripts/setup.sh`);
  }
  return [bin, [...pre, ...args.map(String)]];
}

/** Runs a script to its end; resolves with its stdout, rejects on failure. */
export function run(runtime, script, args = [], { timeout = 60_000, env = {} } = {}) {
  const [bin, argv] = command(runtime, script, args);
  return new Promise((resolve, reject) => {
    execFile(bin, argv, { timeout, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${runtime} ${script} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export function start(runtime, script, args = [], env = {}) {
  const [bin, argv] = command(runtime, script, args);
  return spawn(bin, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "webkv-sqlite-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const lines = (text, prefix) =>
  text.split("\n").filter((l) => l.startsWith(prefix + " ")).map((l) => l.slice(prefix.length + 1));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
