// Bun (npm `bun`, a devDependency; its binary comes from @oven/bun-linux-x64).
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { findBinary, root, runSpawnedScenario } from "./spawned.mjs";

test("bun: scenario, importing `webkv` by name", async (t) => {
  const bun = findBinary("bun", [
    process.env.BUN,
    `${root}node_modules/@oven/bun-linux-x64/bin/bun`,
    `${root}node_modules/.bin/bun`,
  ]);
  await runSpawnedScenario(t, {
    label: "bun",
    cmd: bun,
    app: fileURLToPath(new URL("./bun/app.mjs", import.meta.url)),
    entry: "node.js", // "bun": "./node.js" in pkg/package.json
  });
});
