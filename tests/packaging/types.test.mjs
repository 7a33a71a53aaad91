// The package's types as a TypeScript user meets them, from the packed
// tarball: a small strict program (tests/packaging/types/app.ts, and
// tests/packaging/types/hono.ts for webkv/hono with real Hono) compiled
// with `tsc --noEmit` by TypeScript 5.9, 6 and 7, with the default libs and
// with `"lib": ["es2022", "dom"]`, under moduleResolution bundler, node16
// and nodenext, with no @types packages at all (`"types": []`); a Durable
// Object (tests/packaging/types/durable-object.ts) against Cloudflare's own
// types, `@cloudflare/workers-types`, as a Worker project compiles it; then
// `attw --pack --profile esm-only` and `publint`, which must report nothing.
//
//   bash tests/packaging/run.sh types.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { installTools } from "./install-tools.mjs";
import { packAndInstall } from "./pack.mjs";

const tools = installTools();
const packed = packAndInstall("types");
const pkgDir = fileURLToPath(new URL("../../pkg/", import.meta.url));
const appSource = fileURLToPath(new URL("./types/app.ts", import.meta.url));
const honoSource = fileURLToPath(new URL("./types/hono.ts", import.meta.url));
// Hono as the repo's own tests use it (a dev dependency), not a tools copy.
const honoPackage = fileURLToPath(new URL("../../node_modules/hono", import.meta.url));
const durableObjectSource = fileURLToPath(new URL("./types/durable-object.ts", import.meta.url));
const bin = (path) => join(tools, "node_modules", path);

function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, timeout: 300_000, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
}

// TypeScript 5.9 defaults to target ES5 (whose lib has no Promise, Symbol
// or async iteration, for webkv or any async code), so it gets es2022, the
// target node16 and nodenext imply anyway; 6 and 7 keep their defaults.
const TYPESCRIPTS = [
  ["TypeScript 5.9", "typescript/bin/tsc", { target: "es2022" }],
  ["TypeScript 6", "typescript6/bin/tsc", {}],
  ["TypeScript 7", "typescript7/bin/tsc", {}],
];
const LIBS = [
  ["default libs", undefined],
  ['lib ["es2022", "dom"]', ["es2022", "dom"]],
];
const RESOLUTIONS = [
  ["bundler", { module: "esnext", moduleResolution: "bundler" }],
  ["node16", { module: "node16", moduleResolution: "node16" }],
  ["nodenext", { module: "nodenext", moduleResolution: "nodenext" }],
];

let slots = 3;
const waiting = [];
async function withSlot(fn) {
  if (slots === 0) await new Promise((resolve) => waiting.push(resolve));
  else slots--;
  try {
    return await fn();
  } finally {
    if (waiting.length) waiting.shift()();
    else slots++;
  }
}

/**
 * A project in `dir` with the installed webkv (and `packages`: names in the
 * tools' node_modules, or `[name, directory]`), `sources` (`[path, file]`)
 * and `compilerOptions`: `tsc -p` must pass and print nothing.
 */
async function typeCheck({ dir, tsc, sources, packages = [], compilerOptions }) {
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  cpSync(packed.installed, join(dir, "node_modules/webkv"), { recursive: true });
  for (const pkg of packages) {
    const [name, from] = Array.isArray(pkg) ? pkg : [pkg, bin(pkg)];
    cpSync(from, join(dir, "node_modules", name), { recursive: true });
  }
  for (const [source, file] of sources) cpSync(source, join(dir, file));
  const files = sources.map(([, file]) => file);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "types-app", private: true, type: "module" }));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files }, null, 2));
  const { code, output } = await withSlot(() => run(process.execPath, [bin(tsc), "-p", "tsconfig.json"], { cwd: dir }));
  assert.equal(code, 0, `tsc failed (${dir}):\n${output}`);
  assert.equal(output, "");
}

test("tsc --noEmit --strict on a program using webkv and webkv/hono, without @types/node", { concurrency: true }, async (t) => {
  const runs = [];
  for (const [tsName, tsc, tsOptions] of TYPESCRIPTS) {
    for (const [libName, lib] of LIBS) {
      for (const [resolution, options] of RESOLUTIONS) {
        const name = `${tsName}, ${libName}, moduleResolution ${resolution}`;
        runs.push(t.test(name, async () => {
          const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, types: [], ...tsOptions, ...options };
          if (lib) compilerOptions.lib = lib;
          await typeCheck({
            dir: join(packed.runDir, "tsc", name.replace(/[^a-z0-9]+/gi, "-")),
            tsc,
            sources: [[appSource, "app.ts"], [honoSource, "hono.ts"]],
            packages: [["hono", honoPackage]],
            compilerOptions,
          });
        }));
      }
    }
  }
  await Promise.all(runs);
});

// A Worker project's usual setup: Cloudflare's types declare the runtime's
// globals (so no "dom" lib) and the "cloudflare:workers" module.
test("a Durable Object typed with @cloudflare/workers-types: openKv(this.ctx.storage), tsc --strict", { concurrency: true }, async (t) => {
  const runs = TYPESCRIPTS.map(([tsName, tsc, tsOptions]) =>
    t.test(tsName, () =>
      typeCheck({
        dir: join(packed.runDir, "durable-object", tsName.replace(/[^a-z0-9]+/gi, "-")),
        tsc,
        sources: [[durableObjectSource, "worker.ts"]],
        packages: ["@cloudflare/workers-types"],
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          target: "es2022",
          lib: ["es2022"],
          types: ["@cloudflare/workers-types"],
          module: "esnext",
          moduleResolution: "bundler",
          ...tsOptions,
        },
      }),
    ),
  );
  await Promise.all(runs);
});

test("attw --pack --profile esm-only: no problems", async () => {
  const { code, output } = await run(process.execPath, [bin("@arethetypeswrong/cli/dist/index.js"), "--pack", ".", "--profile", "esm-only"], { cwd: pkgDir });
  assert.equal(code, 0, output);
  // The profile still lists what it ignores (CommonJS resolutions): every
  // line with a problem mark must be one of those.
  const problems = output.split("\n").filter((line) => /[⚠❌💀🥴🐛🎭]/u.test(line) && !/\(ignored/.test(line));
  assert.deepEqual(problems, [], output);
});

test("publint: no errors, warnings or suggestions", async () => {
  const { code, output } = await run(process.execPath, [bin("publint/src/cli.js"), "--strict", "."], { cwd: pkgDir });
  assert.equal(code, 0, output);
  assert.doesNotMatch(output, /error|warning|suggestion/i, output);
});
