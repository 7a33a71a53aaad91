// workerd: a worker that imports `webkv` (mapped to the package's "workerd"
// export, see workerd/config.mjs) runs the scenario per request; this test
// starts workerd on a free 127.0.0.1 port and asserts the JSON it returns.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { COMPATIBILITY_DATE, repoRoot, writeConfig, workerdModules } from "./workerd/config.mjs";
import { freePort, startProcess, tmpDir } from "./procs.mjs";
import { assertChecks } from "./checks.mjs";

function findWorkerd() {
  const candidates = [
    process.env.WORKERD,
    join(repoRoot, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
    join(repoRoot, "node_modules/.bin/workerd"),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`workerd not found (tried ${candidates.join(", ")}): run npm install`);
  return found;
}

let server = null;
let base = null;
const configDir = join(tmpDir, `workerd-${process.pid}`);

before(async () => {
  const workerd = findWorkerd();
  let lastError = null;
  for (let attempt = 0; attempt < 3 && server === null; attempt++) {
    const port = await freePort();
    const config = writeConfig(configDir, { address: `127.0.0.1:${port}` });
    const proc = startProcess("workerd", workerd, ["serve", config]);
    try {
      await proc.waitForPort(port, 60_000);
      server = proc;
      base = `http://127.0.0.1:${port}`;
    } catch (error) {
      lastError = error;
      await proc.stop();
      if (!/address already in use/i.test(proc.output())) break;
    }
  }
  if (server === null) throw lastError;
});

after(async () => {
  await server?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

test("workerd: the config lists the package's workerd entry and its files", () => {
  const names = workerdModules().map((m) => `${m.name}:${m.kind}`);
  assert.ok(names.includes("webkv:esModule"));
  assert.ok(names.includes("kv.js:esModule"));
  assert.ok(names.includes("webkv_server.js:esModule"));
  assert.ok(names.includes("webkv_server_bg.wasm:wasm"));
  assert.ok(names.some((n) => /^snippets\/.+\/arguments\.js:esModule$/.test(n)), names.join(", "));
  assert.match(COMPATIBILITY_DATE, /^\d{4}-\d{2}-\d{2}$/);
});

async function getScenario() {
  const response = await fetch(`${base}/scenario`);
  const text = await response.text();
  assert.equal(response.status, 200, `GET /scenario: ${response.status}\n${text}\nworkerd output:\n${server.output()}`);
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`GET /scenario did not return JSON: ${text}`);
  }
}

test("workerd: scenario (first request: loads the wasm)", async (t) => {
  await assertChecks(t, await getScenario(), "workerd");
});

test("workerd: scenario again (second request: wasm already loaded)", async (t) => {
  await assertChecks(t, await getScenario(), "workerd, second request");
});

test("workerd: no errors logged", () => {
  assert.doesNotMatch(server.output(), /error|uncaught|exception/i, server.output());
});
