// The README's Hono section cannot rot: its example app is examples/hono-app.js
// (which hono.test.mjs runs in four runtimes) word for word, and its first
// snippet runs here, in Node, as written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");
const section = readme.slice(readme.indexOf("## Hono: "), readme.indexOf("\n## ", readme.indexOf("## Hono: ") + 1));
const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

test("README: the Hono section has its snippet and the example app", () => {
  assert.ok(section.startsWith("## Hono: "), "the section exists");
  assert.equal(blocks.length, 2, "two js blocks");
});

test("README: the example app is examples/hono-app.js, from its first import on", () => {
  const file = readFileSync(`${root}examples/hono-app.js`, "utf8");
  assert.equal(blocks[1], file.slice(file.indexOf('import { Hono } from "hono";')));
});

test("README: the first snippet counts visits in one shared database", async () => {
  // Written beside this file so that `hono` and `webkv/hono` resolve as in an app.
  const dir = fileURLToPath(new URL("./.tmp/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}readme-snippet-${process.pid}.mjs`;
  writeFileSync(file, `${blocks[0]}\nexport { app };\n`);
  try {
    const { app } = await import(pathToFileURL(file).href);
    const visits = [];
    for (let i = 0; i < 2; i++) {
      const response = await app.request("/visits", { method: "POST" });
      assert.equal(response.status, 200);
      visits.push(await response.json());
    }
    assert.deepEqual(visits, [{ visits: "1" }, { visits: "2" }]);
  } finally {
    rmSync(file, { force: true });
  }
});
