// Host-side assertions for a scenario result (see scenario.js): one node:test
// subtest per check, plus one that the run was complete.
import assert from "node:assert/strict";
import { CHECK_COUNT } from "./scenario.js";

/** Asserts a `runScenario` result inside the node:test context `t`. */
export async function assertChecks(t, results, label = results?.runtime ?? "scenario") {
  assert.ok(results && Array.isArray(results.checks), `${label}: no checks in ${JSON.stringify(results)}`);
  for (const { name, actual, expected } of results.checks) {
    await t.test(name, () => {
      assert.deepStrictEqual(actual, expected, `${label}: ${name}`);
    });
  }
  await t.test("ran every check", () => {
    const names = results.checks.map((c) => c.name);
    assert.equal(names.at(-1), "scenario completed", `${label}: last check`);
    assert.equal(names.length, CHECK_COUNT, `${label}: checks run: ${names.join(", ")}`);
  });
}
