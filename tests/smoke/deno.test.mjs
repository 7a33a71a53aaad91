// Deno (npm `deno`, a devDependency): `deno run` resolves `webkv` from
// tests/smoke/node_modules through the "deno" export condition.
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { findBinary, root, runSpawnedScenario } from "./spawned.mjs";

const deno = () =>
  findBinary("deno", [
    process.env.DENO,
    `${root}node_modules/@deno/linux-x64-glibc/deno`,
    `${root}node_modules/.bin/deno`,
  ]);
const app = fileURLToPath(new URL("./deno/app.mjs", import.meta.url));
const common = ["run", "--quiet", "--no-lock", "--no-prompt"];

test("deno: scenario, importing `webkv` by name (--allow-read on pkg/)", async (t) => {
  await runSpawnedScenario(t, {
    label: "deno",
    cmd: deno(),
    args: [...common, `--allow-read=${root}pkg`],
    app,
    entry: "deno.js",
  });
});

// A user's `deno run main.ts` grants nothing. Importing a package needs no
// permission, and neither does Deno.openKv(":memory:"), so neither should
// webkv. (Fails while pkg/deno.js fetches its .wasm from a file: URL, which
// needs read access; `import source` of the .wasm would not.)
test("deno: scenario with no permissions granted (plain `deno run`)", async (t) => {
  await runSpawnedScenario(t, {
    label: "deno",
    cmd: deno(),
    args: common,
    app,
    entry: "deno.js",
  });
});
