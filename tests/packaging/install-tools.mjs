// Installs the packaging tests' bundlers and type checkers
// (tests/packaging/tools/package.json and its lock) into
// tests/packaging/.tmp/tools/, an ignored directory that stays between runs.
// A run whose package.json and lock match the last install's returns at
// once; anything else (a fresh clone, a changed tool list, a half-done
// install) installs again, so nothing depends on the cache being there.
//
//   node tests/packaging/install-tools.mjs      (prints the tools directory)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("./tools/", import.meta.url));
export const toolsDir = fileURLToPath(new URL("./.tmp/tools/", import.meta.url));
const FILES = ["package.json", "package-lock.json"];

export function installTools({ quiet = false } = {}) {
  const hash = createHash("sha256");
  for (const name of FILES) hash.update(readFileSync(source + name));
  const stamp = hash.digest("hex");
  const stampFile = `${toolsDir}.installed`;
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && existsSync(`${toolsDir}node_modules`)) {
    return toolsDir;
  }
  const started = Date.now();
  if (!quiet) console.log(`tests/packaging: installing the bundlers into ${toolsDir}`);
  mkdirSync(toolsDir, { recursive: true });
  rmSync(stampFile, { force: true });
  for (const name of FILES) copyFileSync(source + name, toolsDir + name);
  // Not `npm ci`: the registry lacks other platforms' optional packages (see
  // scripts/setup.sh); `npm install` still follows the lock.
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: toolsDir,
    stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
  });
  writeFileSync(stampFile, stamp);
  if (!quiet) console.log(`tests/packaging: bundlers installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return toolsDir;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(installTools());
