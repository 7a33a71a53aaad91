// Builds the npm package into pkg/: the release wasm, its wasm-bindgen glue
// (--target web: one ES module that every runtime can instantiate), wasm-opt
// from npm's binaryen, and the files of pkg-template/.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "pkg");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "--lib"]);

rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg);
run("wasm-bindgen", [
  "--target", "web",
  "--weak-refs",
  "--out-dir", pkg,
  "--out-name", "webkv_wasm",
  join(root, "target/wasm32-unknown-unknown/release/webkv.wasm"),
]);

// Never Debian's binaryen 108: its output breaks wasm-bindgen 0.2.130 modules.
const wasmOpt = join(root, "node_modules/.bin/wasm-opt");
const wasmFile = join(pkg, "webkv_wasm_bg.wasm");
run(wasmOpt, [
  "-O3",
  "--enable-bulk-memory",
  "--enable-reference-types",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-multivalue",
  "--enable-mutable-globals",
  wasmFile,
  "-o",
  wasmFile,
]);

for (const name of readdirSync(join(root, "pkg-template"))) {
  cpSync(join(root, "pkg-template", name), join(pkg, name), { recursive: true });
}
// wasm-bindgen's own d.ts describes the glue, not the API.
for (const name of ["webkv_wasm.d.ts", "webkv_wasm_bg.wasm.d.ts", ".gitignore"]) {
  rmSync(join(pkg, name), { force: true });
}
// Lets the repo's own scripts and tests import the package by name.
mkdirSync(join(root, "node_modules"), { recursive: true });
rmSync(join(root, "node_modules/webkv"), { recursive: true, force: true });
symlinkSync("../pkg", join(root, "node_modules/webkv"), "dir");

console.log(`pkg/ built: webkv_wasm_bg.wasm ${statSync(wasmFile).size} bytes`);
