// webkv/hono with real Hono in Node, Deno, Bun and workerd: the test app
// (app.js, which mounts the README's example, examples/hono-app.js) runs in
// each runtime and checks.mjs drives it, with a real denokv for the KV
// Connect checks. Node runs the app in this process (app.request); Deno and
// Bun serve it on 127.0.0.1 (Deno.serve, Bun.serve); workerd serves it
// bundled by esbuild as wrangler would, with an outbound network limited to
// 127.0.0.1. Needs pkg/ built (node scripts/build.mjs) and denokv
// (scripts/setup.sh). Servers are killed by PID (tests/smoke/procs.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDenokv } from "../kvconnect/denokv.mjs";
import { freePort, startProcess, tmpDir } from "../smoke/procs.mjs";
import { buildWorkerd } from "./workerd.mjs";
import { runChecks } from "./checks.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL("./", import.meta.url));

// Every runtime must find no token in its environment (one check expects
// the error for a KV Connect URL without one).
delete process.env.DENO_KV_ACCESS_TOKEN;
const childEnv = { ...process.env };

function binary(label, candidates) {
  const found = candidates.filter(Boolean).find((p) => existsSync(p));
  assert.ok(found, `${label} not found (tried ${candidates.filter(Boolean).join(", ")}): run npm install`);
  return found;
}

/** Spawns a server that prints one JSON line with its port; resolves to { base, info, proc }. */
async function spawnServer(label, cmd, args) {
  const proc = startProcess(`hono-${label}`, cmd, args, { cwd: root, env: childEnv });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = proc.output().split("\n").find((l) => l.startsWith("{"));
    if (line) {
      const info = JSON.parse(line);
      return { base: `http://127.0.0.1:${info.port}`, info, proc };
    }
    if (proc.exited() !== null || Date.now() > deadline) {
      await proc.stop();
      assert.fail(`${label} did not start (${JSON.stringify(proc.exited())}):\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const overHttp = (base) => (path, init) => fetch(base + path, init);

async function withDenokv(fn) {
  const denokv = await startDenokv();
  try {
    await fn(denokv);
  } finally {
    await denokv.stop();
  }
}

test("node: webkv/hono with Hono (app.request)", async (t) => {
  assert.equal(fileURLToPath(import.meta.resolve("webkv/hono")), join(root, "pkg/hono.js"));
  const { createTestApp } = await import("./app.js");
  const app = createTestApp("node");
  await withDenokv((denokv) => runChecks(t, { request: (path, init) => app.request(path, init), denokv, runtime: "node" }));
});

test("deno: webkv/hono with Hono on Deno.serve (--allow-net=127.0.0.1 only)", async (t) => {
  const deno = binary("deno", [process.env.DENO, join(root, "node_modules/@deno/linux-x64-glibc/deno")]);
  const server = await spawnServer("deno", deno, [
    "run", "--quiet", "--no-lock", "--no-prompt", "--allow-net=127.0.0.1", join(here, "deno.js"),
  ]);
  try {
    t.diagnostic(`deno ${server.info.version}`);
    assert.equal(server.info.resolved, `file://${root}pkg/hono.js`);
    await withDenokv((denokv) => runChecks(t, { request: overHttp(server.base), denokv, runtime: "deno" }));
    assert.doesNotMatch(server.proc.output(), /error|uncaught/i, server.proc.output());
  } finally {
    await server.proc.stop();
  }
});

test("bun: webkv/hono with Hono on Bun.serve", async (t) => {
  const bun = binary("bun", [process.env.BUN, join(root, "node_modules/@oven/bun-linux-x64/bin/bun"), join(root, "node_modules/.bin/bun")]);
  const server = await spawnServer("bun", bun, [join(here, "bun.js")]);
  try {
    t.diagnostic(`bun ${server.info.version}`);
    assert.equal(server.info.resolved, `file://${root}pkg/hono.js`);
    await withDenokv((denokv) => runChecks(t, { request: overHttp(server.base), denokv, runtime: "bun" }));
    assert.doesNotMatch(server.proc.output(), /error|uncaught/i, server.proc.output());
  } finally {
    await server.proc.stop();
  }
});

test("workerd: webkv/hono with Hono in a worker bundled by esbuild", async (t) => {
  const workerd = binary("workerd", [process.env.WORKERD, join(root, "node_modules/@cloudflare/workerd-linux-64/bin/workerd")]);
  const outDir = join(tmpDir, `hono-workerd-${process.pid}`);
  const port = await freePort();
  const { config, inputs } = await buildWorkerd(outDir, { address: `127.0.0.1:${port}` });
  assert.ok(inputs.includes("pkg/workerd.js") && inputs.includes("pkg/hono.js"), inputs.join(", "));
  assert.ok(!inputs.some((p) => /^pkg\/(node|deno|browser)\.js$/.test(p)), "only the workerd entry is bundled");
  const proc = startProcess("hono-workerd", workerd, ["serve", config], { env: childEnv });
  try {
    await proc.waitForPort(port, 60_000);
    await withDenokv((denokv) => runChecks(t, { request: overHttp(`http://127.0.0.1:${port}`), denokv, runtime: "workerd" }));
    assert.doesNotMatch(proc.output(), /error|uncaught|exception/i, proc.output());
  } finally {
    await proc.stop();
    rmSync(outDir, { recursive: true, force: true });
  }
});
