// webkv's KV Connect client reaching a real denokv directly from Node 20 and
// from workerd (Deno is covered by the conformance, interop and fault suites).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as webkv from "../../pkg/node.js";
import { startDenokv } from "./denokv.mjs";
import { runRemoteScenario } from "./remote_scenario.js";
import { repoRoot, writeConfig } from "../smoke/workerd/config.mjs";
import { freePort, startProcess, tmpDir } from "../smoke/procs.mjs";

let server;
let workerd;
let workerdBase;
const configDir = join(tmpDir, `workerd-remote-${process.pid}`);

function expected(prefix, server) {
  return {
    setOk: true,
    sameVersionstamp: true,
    when: 0,
    big: String(2n ** 70n),
    bytes: [1, 2],
    n: "5",
    failedCheckOk: false,
    keys: ["a", "n"],
    wrongToken:
      `TypeError: Could not open Deno KV database: the metadata endpoint at '${server.url}/' responded with status 401 Unauthorized: Invalid access token.`,
  };
}

before(async () => {
  server = await startDenokv();
  const binary = join(repoRoot, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");
  assert.ok(existsSync(binary), "workerd is installed (npm install)");
  const port = await freePort();
  workerd = startProcess("workerd-remote", binary, ["serve", writeConfig(configDir, { address: `127.0.0.1:${port}` })]);
  await workerd.waitForPort(port, 60_000);
  workerdBase = `http://127.0.0.1:${port}`;
});

after(async () => {
  await workerd?.stop();
  await server?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

test("Node 20 reads and writes denokv directly", async () => {
  assert.deepEqual(await runRemoteScenario(webkv, server.url, server.token, "node"), expected("node", server));
});

test("workerd reads and writes denokv directly", async () => {
  const query = new URLSearchParams({ url: server.url, token: server.token });
  const response = await fetch(`${workerdBase}/remote?${query}`);
  assert.equal(response.status, 200, await response.clone().text());
  assert.deepEqual(await response.json(), expected("workerd", server));
});
