// Node 20: import `webkv` by package name, resolved through pkg/package.json
// "exports" (the "node" condition), as an app with webkv in node_modules would.
// tests/smoke/node_modules/webkv is a symlink to pkg/ made by link-pkg.mjs
// (run.sh calls it; this file does too, so `node --test` works alone).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { linkPkg } from "./link-pkg.mjs";
import { runScenario } from "./scenario.js";
import { assertChecks } from "./checks.mjs";

linkPkg();

test("node: `webkv` resolves through the node export condition", () => {
  const resolved = fileURLToPath(import.meta.resolve("webkv"));
  assert.equal(resolved, fileURLToPath(new URL("../../pkg/node.js", import.meta.url)));
});

test("node: scenario", async (t) => {
  const webkv = await import("webkv");
  await assertChecks(t, await runScenario(webkv, "node"), "node");
});

test("node: a second openKv gets an independent in-memory database", async () => {
  const { openKv } = await import("webkv");
  const a = await openKv(":memory:");
  const b = await openKv(":memory:");
  await a.set(["k"], 1);
  assert.deepEqual((await b.get(["k"])).value, null);
  assert.deepEqual((await a.get(["k"])).value, 1);
  a.close();
  b.close();
});
