// Makes `webkv` resolvable by name from tests/smoke/: a symlink
// tests/smoke/node_modules/webkv -> ../../../pkg (relative, so a fresh clone
// anywhere works). Not committed (tests/smoke/.gitignore).
import { lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function linkPkg() {
  const dir = fileURLToPath(new URL("./node_modules/", import.meta.url));
  const link = dir + "webkv";
  const target = "../../../pkg";
  const pkgJson = fileURLToPath(new URL("../../pkg/package.json", import.meta.url));
  if (!existsSync(pkgJson)) {
    throw new Error(`pkg/ is not built (${pkgJson} missing): run node scripts/build.mjs`);
  }
  mkdirSync(dir, { recursive: true });
  let current = null;
  try {
    current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : "not a symlink";
  } catch {}
  if (current === target) return link;
  if (current !== null) rmSync(link, { recursive: true, force: true });
  try {
    symlinkSync(target, link, "dir");
  } catch (error) {
    if (error.code !== "EEXIST") throw error; // another test file linked it first
  }
  return link;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(linkPkg());
