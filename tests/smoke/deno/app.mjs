// Run by Deno (deno.test.mjs spawns it): imports `webkv` by package name, which
// Deno resolves from node_modules through pkg/package.json "exports" with its
// "deno" condition, runs the scenario and prints one JSON line.
import * as webkv from "webkv";
import { runScenario } from "../scenario.js";

const results = await runScenario(webkv, "deno");
console.log(JSON.stringify({ version: Deno.version.deno, resolved: import.meta.resolve("webkv"), results }));
