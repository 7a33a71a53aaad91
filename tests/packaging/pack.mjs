// The package as users get it: `npm pack` of pkg/, installed with
// `npm install <tarball>` into a scratch project; and fresh app directories
// holding that installed copy, one per bundler, so that no test reads the
// repo's pkg/ or its node_modules (but for Hono, which the server app
// bundles: the repo's dev dependency).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("./", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Packs pkg/ and installs the tarball under .tmp/<name>/ (emptied first: one
 * directory per test file, so that files running in parallel do not share
 * one); returns { runDir, tarball, installed } where `installed` is
 * node_modules/webkv of the scratch project.
 */
export function packAndInstall(name) {
  const runDir = join(here, ".tmp", name);
  if (!existsSync(join(root, "pkg/package.json"))) {
    throw new Error("pkg/ is not built: run node scripts/build.mjs");
  }
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", runDir], {
    cwd: join(root, "pkg"),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [{ filename }] = JSON.parse(out);
  const tarball = join(runDir, filename);
  const project = join(runDir, "installed");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "webkv-user", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], {
    cwd: project,
    stdio: ["ignore", "ignore", "inherit"],
  });
  return { runDir, tarball, installed: join(project, "node_modules/webkv") };
}

/**
 * A fresh copy of tests/packaging/app/ (plus tests/smoke/scenario.js) in
 * <runDir>/apps/<name>/, with the installed package as node_modules/webkv.
 */
export function makeApp({ runDir, installed }, name) {
  const dir = join(runDir, "apps", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(join(here, "app"))) {
    cpSync(join(here, "app", entry), join(dir, entry), { recursive: true });
  }
  cpSync(join(root, "tests/smoke/scenario.js"), join(dir, "src/scenario.js"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `app-${name}`, private: true, type: "module", dependencies: { webkv: "*" } }, null, 2));
  cpSync(installed, join(dir, "node_modules/webkv"), { recursive: true });
  return dir;
}

/**
 * A fresh copy of tests/packaging/server-app/ in <runDir>/apps/<name>/, with
 * the installed package and the repo's own Hono (a dev dependency) in its
 * node_modules.
 */
export function makeServerApp({ runDir, installed }, name) {
  const dir = join(runDir, "apps", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(here, "server-app"), dir, { recursive: true });
  const dependencies = { hono: "*", webkv: "*" };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `app-${name}`, private: true, type: "module", dependencies }, null, 2));
  cpSync(installed, join(dir, "node_modules/webkv"), { recursive: true });
  cpSync(join(root, "node_modules/hono"), join(dir, "node_modules/hono"), { recursive: true });
  return dir;
}
