// Real `wrangler dev` on an app directory, for the tests that run a Worker as
// its README says to (tests/durable-object/, tests/hono/). wrangler needs
// Node 22.12+: it runs on the Node 24 that scripts/setup.sh unpacks into
// .tools/. It bundles the Worker with its own esbuild and runs it in workerd
// through miniflare, offline: nothing is sent anywhere.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./procs.mjs";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const wranglerBin = join(repoRoot, "node_modules/wrangler/bin/wrangler.js");

// The same Node 24 as the SQLite tests (tests/sqlite/helpers.mjs).
const NODE24 = process.env.NODE24 ?? join(repoRoot, ".tools/node-24.21.0/bin/node");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `wrangler dev` in `app` (which holds wrangler.toml and the app's
 * node_modules), keeping local state in `persistTo` and wrangler's own
 * files in `configHome`. It runs in its own process group, since wrangler
 * runs workerd as a child that a stop must end too. Resolves once `ready`
 * (a fetch of the Worker's base URL) says the Worker answers; returns
 * { base, output(), stop() }.
 */
export async function startWrangler({ app, persistTo, configHome, ready }) {
  if (!existsSync(NODE24)) throw new Error(`no ${NODE24}: run bash scripts/setup.sh (wrangler needs Node 22.12+)`);
  const port = await freePort();
  // Its own devtools port too: wrangler's default, 9229, may be taken.
  const inspectorPort = await freePort();
  const child = spawn(
    NODE24,
    [
      wranglerBin,
      "dev",
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-ip",
      "127.0.0.1",
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
      "--persist-to",
      persistTo,
    ],
    {
      cwd: app,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", XDG_CONFIG_HOME: configHome },
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  let exited = null;
  const exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve((exited = { code, signal }))));
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {}
  };
  const killOnExit = () => killGroup("SIGKILL");
  process.once("exit", killOnExit);
  const handle = {
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (exited) return;
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 5000);
      await exit;
      clearTimeout(timer);
      // workerd may outlive wrangler by a moment; nothing of the group stays.
      killGroup("SIGKILL");
      process.off("exit", killOnExit);
    },
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited (${JSON.stringify(exited)}):\n${output}`);
    try {
      if (await ready(await fetch(handle.base + "/"))) return handle;
    } catch {}
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
    }
    await sleep(200);
  }
}
