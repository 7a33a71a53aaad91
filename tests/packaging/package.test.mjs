// What the packed tarball carries: a README and the MIT LICENSE, the
// metadata npm shows (repository, homepage, engines, keywords), every file
// the exports name, and "sideEffects" listing each entry of "." and
// "./kv-connect": they
// register how the wasm loads, and a bundler told they have no side effects
// drops that (webpack then fails at the first openKv).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packAndInstall } from "./pack.mjs";

const { tarball, installed } = packAndInstall("package");
const files = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" })
  .split("\n")
  .filter(Boolean)
  .map((f) => f.replace(/^package\//, ""));
const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));

/** Every string an exports entry resolves to, with its conditions. */
function targets(value, path = []) {
  if (typeof value === "string") return [{ path, target: value }];
  return Object.entries(value).flatMap(([k, v]) => targets(v, [...path, k]));
}

test("README.md and LICENSE (MIT) are in the tarball", () => {
  assert.ok(files.includes("README.md"), files.join(" "));
  assert.ok(files.includes("LICENSE"), files.join(" "));
  const readme = readFileSync(join(installed, "README.md"), "utf8");
  for (const section of ["npm install webkv", "## Runtimes", "## Bundlers and frameworks", "## In a browser", "## KV Connect", "## Hono: `webkv/hono`", "## Limits and differences from Deno"]) {
    assert.ok(readme.includes(section), `README lacks ${section}`);
  }
  assert.match(readFileSync(join(installed, "LICENSE"), "utf8"), /^MIT License\n/);
  assert.equal(pkg.license, "MIT");
});

test("metadata: repository, homepage, engines, keywords, description", () => {
  assert.match(pkg.repository?.url ?? "", /^git\+https:\/\//);
  assert.match(pkg.homepage ?? "", /^https:\/\//);
  assert.match(pkg.engines?.node ?? "", /^>=\d+/);
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.length >= 5);
  assert.ok(pkg.description.length > 20);
});

test("every file the exports and legacy fields name is in the tarball", () => {
  const named = [pkg.main, pkg.module, pkg.types, ...targets(pkg.exports).map((t) => t.target)].filter(Boolean);
  for (const target of named) assert.ok(files.includes(target.replace(/^\.\//, "")), `${target} is not packed`);
});

// "./kv-connect" too: apps import it bare (`import "webkv/kv-connect"`), and
// esbuild drops a bare import of a side-effect free file, with a warning.
test('"sideEffects" lists every entry of "." and "./kv-connect" (and nothing is marked side-effect free by accident)', () => {
  assert.ok(Array.isArray(pkg.sideEffects), `sideEffects is ${JSON.stringify(pkg.sideEffects)}`);
  const entries = new Set(
    [".", "./kv-connect"].flatMap((name) => targets(pkg.exports[name])).filter((t) => t.target.endsWith(".js")).map((t) => t.target),
  );
  for (const entry of entries) assert.ok(pkg.sideEffects.includes(entry), `${entry} is missing from sideEffects`);
});

test("the glue has no duplicate object keys and no default wasm URL", () => {
  const glue = readFileSync(join(installed, "webkv_wasm.js"), "utf8");
  // The glue is minified (scripts/build.mjs): the import object is one line.
  const keys = [...glue.matchAll(/("[^"]+")\s*:\s*import\d+\b/g)].map((m) => m[1]);
  assert.ok(keys.length > 0);
  assert.equal(new Set(keys).size, keys.length, keys.join("\n"));
  assert.doesNotMatch(glue, /import\.meta/);
});
