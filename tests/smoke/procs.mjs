// Helpers for servers the smoke tests start: a free 127.0.0.1 port, waiting
// for a port, and child processes whose PIDs are recorded in
// tests/smoke/.tmp/pids/ (run.sh's trap kills any left there) and killed by
// PID on exit.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { fileURLToPath } from "node:url";

export const tmpDir = fileURLToPath(new URL("./.tmp/", import.meta.url));
const pidDir = `${tmpDir}pids/`;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Spawns `cmd args`, records its PID, and returns { child, output(), stop() }.
 * The child is killed (by PID) when the test process exits.
 */
export function startProcess(label, cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => { exited = { code, signal }; resolve(exited); });
    child.once("error", (error) => { exited = { error }; resolve(exited); });
  });
  mkdirSync(pidDir, { recursive: true });
  const pidFile = `${pidDir}${label}-${process.pid}.pid`;
  if (child.pid !== undefined) writeFileSync(pidFile, `${child.pid}\n`);
  const killNow = () => {
    if (exited === null && child.pid !== undefined) {
      try { process.kill(child.pid, "SIGKILL"); } catch {}
    }
    rmSync(pidFile, { force: true });
  };
  process.once("exit", killNow);
  return {
    child,
    output: () => output,
    exited: () => exited,
    /** Waits until `port` accepts connections; fails if the child exits first. */
    async waitForPort(port, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited !== null) {
          throw new Error(`${label} exited (${JSON.stringify(exited)}) before listening on ${port}:\n${output}`);
        }
        if (await canConnect(port)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${label} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output}`);
    },
    async stop() {
      if (exited === null && child.pid !== undefined) {
        try { process.kill(child.pid, "SIGTERM"); } catch {}
        const timer = setTimeout(() => { try { process.kill(child.pid, "SIGKILL"); } catch {} }, 3000);
        await exitPromise;
        clearTimeout(timer);
      }
      rmSync(pidFile, { force: true });
      process.removeListener("exit", killNow);
    },
  };
}
