// Builds the npm package into pkg/: two release wasm files (the browser and
// the server build), their wasm-bindgen glue (--target web: one ES module
// that every runtime can instantiate), wasm-opt from npm's binaryen, and the
// files of pkg-template/.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipAsync } from "@gfx/zopfli";
import { transformSync } from "esbuild";
import { refreshWireShapes } from "./wire-shapes.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "pkg");
const run = (cmd, args, env = {}) => execFileSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });

// Two wasm files from the one crate (Cargo.toml's features): browsers get
// the IndexedDB backend without SQLite, Node, Bun, Deno and workerd (for
// Durable Objects' SQLite storage) get SQLite without IndexedDB; each runtime's entry file loads one of them
// (bench/README.md has the sizes). The server build has its own target
// directory: cargo names a cdylib's output without a hash of its features, so
// in one directory each build would overwrite the other's webkv and every run
// would compile webkv twice. Apart, an unchanged crate is not recompiled; the
// cost is compiling the dependencies once more, the first time.
const builds = [
  {
    name: "webkv_wasm",
    features: "indexeddb",
    targetDir: "target",
    // Every page that imports webkv downloads and compiles this one, so it
    // carries memory and IndexedDB databases only; KV Connect is the
    // separate webkv_remote below (bench/README.md, "The KV Connect client
    // in a wasm of its own": the default browser path 248.5 -> 184.1 KB
    // gzipped), which left room to build webkv itself at opt-level 3 again.
    has: ["openIndexedDb"],
    lacks: ["openSqlite", "openDurableObject", "openRemote"],
    inline: true,
  },
  {
    // A browser loads this one only when it opens an http(s):// URL (the
    // browser entries' dynamic import; loader.js's loadRemoteWasm). Its
    // code waits on the network, so it is built for size.
    name: "webkv_remote",
    features: "remote",
    // The same directory as the browser build: both build the same
    // dependencies, and each overwrites the other's webkv.wasm only after
    // wasm-bindgen has read it.
    targetDir: "target",
    env: { CARGO_PROFILE_RELEASE_OPT_LEVEL: "s" },
    has: ["openRemote"],
    lacks: ["openIndexedDb", "openSqlite", "openDurableObject", "warmUp"],
    inline: true,
  },
  {
    name: "webkv_server",
    features: "sqlite,remote",
    targetDir: "target/server",
    has: ["openSqlite", "openDurableObject", "openRemote"],
    lacks: ["openIndexedDb", "warmUp"],
    // For node.js's fallback when the .wasm is not beside it: server
    // bundles, which copy no .wasm (bench/README.md, "Server bundles").
    inline: true,
  },
];

rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg);
for (const build of builds) {
  run("cargo", [
    "build",
    "--release",
    "--target",
    "wasm32-unknown-unknown",
    "--lib",
    "--no-default-features",
    "--features",
    build.features,
    "--target-dir",
    build.targetDir,
  ], build.env);
  run("wasm-bindgen", [
    "--target", "web",
    "--weak-refs",
    "--out-dir", pkg,
    "--out-name", build.name,
    join(root, build.targetDir, "wasm32-unknown-unknown/release/webkv.wasm"),
  ]);

  // Never Debian's binaryen 108: its output breaks wasm-bindgen 0.2.130 modules.
  const wasmOpt = join(root, "node_modules/.bin/wasm-opt");
  const wasmFile = join(pkg, `${build.name}_bg.wasm`);
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

  // The glue, made fit for bundlers (every edit checked: a wasm-bindgen
  // upgrade that changes what it generates fails the build instead of
  // shipping unedited glue).
  const gluePath = join(pkg, `${build.name}.js`);
  const glue = fixGlue(readFileSync(gluePath, "utf8"), build.name);
  for (const name of build.has) {
    if (!new RegExp(`^export (?:async )?function ${name}\\(`, "m").test(glue)) {
      throw new Error(`build: ${build.name}.js does not export ${name}`);
    }
  }
  for (const name of build.lacks) {
    if (new RegExp(`\\b${name}\\b`).test(glue)) throw new Error(`build: ${build.name}.js has ${name}`);
  }
  writeFileSync(gluePath, glue);
}
const wasmFile = join(pkg, "webkv_wasm_bg.wasm");
const serverWasmFile = join(pkg, "webkv_server_bg.wasm");

// browser-inline.js's copies of the browser wasm files: gzipped, then
// base64. Browsers inflate them with their own DecompressionStream, and
// served gzipped they cost what the compressed bytes cost (the base64 of
// compressed bytes gzips back to about their size). Zopfli's gzip is 5%
// smaller than zlib's -9 (203 KB against 214 KB here) for a few seconds of
// build. The server build's copy is node.js's, for bundles that leave the
// .wasm behind.
for (const build of builds.filter((b) => b.inline)) {
  const gz = Buffer.from(await gzipAsync(readFileSync(join(pkg, `${build.name}_bg.wasm`)), { numiterations: 5 }));
  writeFileSync(
    join(pkg, `${build.name}_inline.js`),
    `// ${build.name}_bg.wasm, gzipped and base64-encoded by scripts/build.mjs, for\n` +
      "// the entries that load it: bundles that do not copy the .wasm still have it.\n" +
      `export default "${gz.toString("base64")}";\n`,
  );
}

// wasm-bindgen's own d.ts describes the glue, not the API.
for (const name of [...builds.flatMap((b) => [`${b.name}.d.ts`, `${b.name}_bg.wasm.d.ts`]), ".gitignore"]) {
  rmSync(join(pkg, name), { force: true });
}
// wire.js's constants are the wasm's (both builds have the same shapes).
if (await refreshWireShapes(join(root, "pkg-template/wire.js"), join(pkg, "webkv_server.js"), serverWasmFile)) {
  console.log("build: pkg-template/wire.js's SHAPES rewritten from the wasm's wireShapes()");
}
for (const name of readdirSync(join(root, "pkg-template"))) {
  cpSync(join(root, "pkg-template", name), join(pkg, name), { recursive: true });
}
// The repo's license is the package's.
cpSync(join(root, "LICENSE"), join(pkg, "LICENSE"));
minifyJs(pkg);
// Lets the repo's own scripts and tests import the package by name.
mkdirSync(join(root, "node_modules"), { recursive: true });
rmSync(join(root, "node_modules/webkv"), { recursive: true, force: true });
symlinkSync("../pkg", join(root, "node_modules/webkv"), "dir");

/**
 * Every JS file of the package without its comments and whitespace, names
 * kept (bench/README.md: 48.6 -> 32.5 KB gzipped on the default browser
 * path, whose files are sent one by one, so a bundler-less app or a CDN pays
 * for every comment). A file with comments inside an `import()` (node.js)
 * keeps its whitespace, see below. Each gets an external source map with the original
 * text, so devtools and stack traces still show the commented source.
 * Identifiers are not mangled: class and function names are part of what
 * users see (`kv.constructor.name`, stack traces, Deno's inspect output).
 */
function minifyJs(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      minifyJs(path);
      continue;
    }
    // The inlined wasm is one string literal: nothing to strip.
    if (!name.endsWith(".js") || name.endsWith("_inline.js")) continue;
    const source = readFileSync(path, "utf8");
    const { code, map } = transformSync(source, {
      loader: "js",
      format: "esm",
      target: "esnext",
      // Comments inside an `import(...)` are instructions to bundlers
      // (node.js's `webpackIgnore`, `@vite-ignore`): esbuild keeps them,
      // and strips every other comment, only while it keeps the whitespace.
      minifyWhitespace: !/\bimport\(\s*\/\*/.test(source),
      legalComments: "none",
      sourcemap: "external",
      sourcefile: name,
      sourcesContent: true,
    });
    writeFileSync(path, `${code}//# sourceMappingURL=${name}.map\n`);
    writeFileSync(`${path}.map`, map);
  }
}

/**
 * wasm-bindgen (0.2.130) writes one import namespace per `extern "C"` block,
 * so the object of wasm imports lists the same snippet module several times:
 * esbuild warns "Duplicate key" for each, in every app that bundles webkv.
 * The duplicates are the same module namespace, so keeping the first of each
 * changes nothing. The default wasm URL of the glue's init goes too: every
 * entry passes its own source, and bundlers that copy
 * `new URL(..., import.meta.url)` files would otherwise copy the .wasm into
 * apps that load the inlined copy.
 */
function fixGlue(glue, glueName) {
  const file = `${glueName}.js`;
  const entry = /^ {8}("[^"]+"): (import\d+),\n/gm;
  const seen = new Set();
  const dropped = [];
  glue = glue.replace(entry, (line, key, name) => {
    if (!seen.has(key)) {
      seen.add(key);
      return line;
    }
    dropped.push(name);
    return "";
  });
  for (const name of dropped) {
    const line = new RegExp(`^import \\* as ${name} from "[^"]+";?\\n`, "m");
    if (!line.test(glue)) throw new Error(`build: ${file} has no import line for ${name}`);
    glue = glue.replace(line, "");
    if (new RegExp(`\\b${name}\\b`).test(glue)) throw new Error(`build: ${file} still uses ${name}`);
  }
  const defaultUrl = new RegExp(
    `\\n {4}if \\(module_or_path === undefined\\) \\{\\n {8}module_or_path = new URL\\('${glueName}_bg\\.wasm', import\\.meta\\.url\\);\\n {4}\\}\\n`,
  );
  if (!defaultUrl.test(glue)) throw new Error(`build: ${file}'s init has no default wasm URL to remove`);
  glue = glue.replace(
    defaultUrl,
    "\n    if (module_or_path === undefined) throw new TypeError('webkv: no wasm source given');\n",
  );
  if (/import\.meta/.test(glue)) throw new Error(`build: ${file} still refers to import.meta`);
  const keys = [...glue.matchAll(entry)].map((m) => m[1]);
  if (keys.length === 0 || keys.length !== new Set(keys).size) {
    throw new Error(`build: ${file}'s wasm imports are not unique: ${keys.join(", ")}`);
  }
  return glue;
}

console.log(
  `pkg/ built: webkv_wasm_bg.wasm (browsers) ${statSync(wasmFile).size} bytes, ` +
    `webkv_remote_bg.wasm (KV Connect in browsers) ${statSync(join(pkg, "webkv_remote_bg.wasm")).size} bytes, ` +
    `webkv_server_bg.wasm (Node, Bun, Deno, workerd) ${statSync(serverWasmFile).size} bytes`,
);
