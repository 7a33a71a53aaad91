// Builds www/bundled/dist/: the demo bundled by esbuild from the npm package,
// as an app using webkv would be. Usage: node scripts/build-www.mjs
//
// `import { openKv } from "webkv"` resolves through node_modules/webkv (the
// built pkg/) and its "exports": `platform: "browser"` selects the "browser"
// condition, i.e. browser-inline.js, never node.js. That entry carries the
// wasm inside the JS, so the bundle is all there is to serve: no .wasm to
// copy, nothing webkv-specific in this build.
import { build } from "esbuild";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
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
  const inputs = Object.keys(result.metafile.inputs);
  if (!inputs.some((p) => p.endsWith("browser-inline.js")) || inputs.some((p) => /(^|\/)(node|deno|workerd)\.js$/.test(p))) {
    throw new Error(`the bundle did not pick webkv's browser entry: ${inputs.join(", ")}`);
  }
  return { outdir, inputs, warnings: result.warnings };
}

if (import.meta.url === `file://${process.argv[1]}`) await buildWww();
