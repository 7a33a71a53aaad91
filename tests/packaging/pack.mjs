// The package as users get it: `npm pack` of pkg/, installed with
// `npm install <tarball>` into a scratch project; and fresh app directories
// holding that installed copy, one per bundler, so that no test reads the
// repo's pkg/ or its node_modules (but for Hono, which the server app
// bundles: the repo's dev dependency).
import { execFileSync } from "node:child_process";
import {
  copyFileSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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

/**
 * A fresh copy of tests/packaging/next-app/ in a new directory under the
 * system temp dir (returned; the caller removes it), with the installed
 * package as node_modules/webkv, tests/smoke/scenario.js and
 * app/src/durable.js in lib/, and Next.js, React and what they need from the
 * tools (`toolsDir`, see install-tools.mjs) in node_modules/.
 *
 * Not under .tmp/ like the other apps: Next.js takes the nearest lockfile
 * above the app as the workspace root, which there would be the repo's, and
 * the repo's node_modules would be in reach. And Next's packages are real
 * directories, not symlinks into the tools: Turbopack refuses a `next` whose
 * real path is outside the workspace root ("Could not find the Next.js
 * package"). Hard links, so that the 300 MB of Next.js and its SWC binary
 * cost no copy (a copy where the temp dir is on another file system).
 * Nothing writes into node_modules, so the tools' files stay as installed.
 */
export function makeNextApp({ installed }, name, toolsDir) {
  const dir = mkdtempSync(join(tmpdir(), `webkv-${name}-`));
  cpSync(join(here, "next-app"), dir, { recursive: true });
  mkdirSync(join(dir, "lib"));
  cpSync(join(root, "tests/smoke/scenario.js"), join(dir, "lib/scenario.js"));
  cpSync(join(here, "app/src/durable.js"), join(dir, "lib/durable.js"));
  const dependencies = { next: "*", react: "*", "react-dom": "*", webkv: "*" };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `app-${name}`, private: true, dependencies }, null, 2));
  cpSync(installed, join(dir, "node_modules/webkv"), { recursive: true });
  for (const pkg of installedClosure(toolsDir, ["next", "react", "react-dom"])) {
    linkTree(join(toolsDir, pkg), join(dir, pkg));
  }
  return dir;
}

/**
 * The node_modules/... paths of `names` and everything they depend on
 * (optional and peer dependencies included) as installed in `projectDir`,
 * read from its package-lock.json and resolved the way Node looks packages
 * up (nested node_modules first); optional packages for other platforms,
 * which npm skipped, are left out. Nested paths (next/node_modules/postcss)
 * come with their parent's tree.
 */
function installedClosure(projectDir, names) {
  const { packages } = JSON.parse(readFileSync(join(projectDir, "package-lock.json"), "utf8"));
  const installedAt = (path) => path in packages && existsSync(join(projectDir, path));
  const resolve = (from, name) => {
    for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf("/node_modules/")))) {
      const path = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (installedAt(path)) return path;
      if (!base) return null;
    }
  };
  const found = new Set();
  const todo = names.map((name) => resolve("", name));
  while (todo.length) {
    const path = todo.pop();
    if (path === null) throw new Error(`${names.join(", ")}: a package is missing in ${projectDir}`);
    if (found.has(path)) continue;
    found.add(path);
    const entry = packages[path];
    for (const deps of [entry.dependencies, entry.optionalDependencies, entry.peerDependencies]) {
      for (const dep of Object.keys(deps ?? {})) {
        const at = resolve(path, dep);
        if (at) todo.push(at);
      }
    }
  }
  return [...found].filter((path) => ![...found].some((other) => path.startsWith(`${other}/`)));
}

/** Recreates `src` at `dst` with hard links (copies across file systems). */
function linkTree(src, dst) {
  const stats = lstatSync(src);
  if (stats.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else if (stats.isDirectory()) {
    mkdirSync(dst, { recursive: true });
    for (const entry of readdirSync(src)) linkTree(join(src, entry), join(dst, entry));
  } else {
    mkdirSync(dirname(dst), { recursive: true });
    try {
      linkSync(src, dst);
    } catch (error) {
      if (error.code !== "EXDEV" && error.code !== "EPERM") throw error;
      copyFileSync(src, dst);
    }
  }
}
