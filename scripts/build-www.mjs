// Builds www/bundled/dist/: the demo bundled by esbuild from the npm package,
// as an app using webkv would be. Usage: node scripts/build-www.mjs
//
// - `import { openKv } from "webkv"` resolves through node_modules/webkv (the
//   built pkg/) and its "exports": `platform: "browser"` selects the
//   "browser" condition, i.e. browser.js, never node.js.
// - browser.js loads its wasm with
//   `new URL("./webkv_wasm_bg.wasm", import.meta.url)`. esbuild leaves that
//   expression as it is (it does not treat it as an asset), and in an ESM
//   bundle `import.meta.url` is the bundle's own URL, so the .wasm must sit
//   beside the bundle under its original name: copy it there.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = join(root, "www/bundled/dist");

export async function buildWww({ quiet = false } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["www/bundled/entry.js"],
    outfile: join(outdir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    metafile: true,
    logLevel: quiet ? "silent" : "info",
  });
  // The package exports "./package.json", so this finds its directory the
  // way a user's build script would.
  const pkgDir = dirname(createRequire(join(root, "www/bundled/entry.js")).resolve("webkv/package.json"));
  copyFileSync(join(pkgDir, "webkv_wasm_bg.wasm"), join(outdir, "webkv_wasm_bg.wasm"));
  const inputs = Object.keys(result.metafile.inputs);
  if (!inputs.some((p) => p.endsWith("browser.js")) || inputs.some((p) => /(^|\/)(node|deno|workerd)\.js$/.test(p))) {
    throw new Error(`the bundle did not pick webkv's browser entry: ${inputs.join(", ")}`);
  }
  if (!quiet) console.log(`copied ${relative(root, join(pkgDir, "webkv_wasm_bg.wasm"))} -> ${relative(root, outdir)}/`);
  // Known: wasm-bindgen's generated webkv_wasm.js lists the same snippet
  // module several times in one object literal, and esbuild warns
  // "Duplicate key ... [duplicate-object-key]" (harmless: every duplicate is
  // the same module namespace). Returned so callers can check for others.
  return { outdir, inputs, warnings: result.warnings };
}

if (import.meta.url === `file://${process.argv[1]}`) await buildWww();
