// For runtimes driven as a child process (Bun, Deno): run <runtime>/app.mjs,
// which imports `webkv` by package name and prints one JSON line, and assert
// it in node:test.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { linkPkg } from "./link-pkg.mjs";
import { assertChecks } from "./checks.mjs";

export const root = fileURLToPath(new URL("../../", import.meta.url));

export function findBinary(label, candidates) {
  const list = candidates.filter(Boolean);
  const found = list.find((p) => existsSync(p));
  if (!found) throw new Error(`${label} not found (tried ${list.join(", ")}): run npm install`);
  return found;
}

/**
 * Runs `cmd [...args, app]` from the repo root; asserts that `webkv`
 * resolved to pkg/<entry> and that every scenario check passed.
 */
export async function runSpawnedScenario(t, { label, cmd, args = [], app, entry }) {
  linkPkg();
  const { stdout, stderr } = await new Promise((resolve, reject) => {
    execFile(cmd, [...args, app], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${label} exited with ${error.code ?? error.signal}:\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
  let report;
  try {
    report = JSON.parse(stdout.trim().split("\n").at(-1));
  } catch {
    assert.fail(`${label} printed no JSON:\n${stdout}\n${stderr}`);
  }
  t.diagnostic(`${label} ${report.version}`);
  await t.test(`\`webkv\` resolves to the package's ${label} export (${entry})`, () => {
    assert.equal(report.resolved, pathToFileURL(`${root}pkg/${entry}`).href);
  });
  await t.test("no stderr output", () => assert.equal(stderr, ""));
  await assertChecks(t, report.results, label);
}
