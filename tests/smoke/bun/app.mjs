// Run by Bun (bun.test.mjs spawns it): imports `webkv` by package name, which
// Bun resolves through pkg/package.json "exports" with its "bun" condition,
// runs the scenario and prints one JSON line for the node:test host to assert.
import * as webkv from "webkv";
import { runScenario } from "../scenario.js";

const results = await runScenario(webkv, "bun");
console.log(JSON.stringify({ version: Bun.version, resolved: import.meta.resolve("webkv"), results }));
