// wire.js in Node, where a test can look at what it keeps between calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MUTATION, mutationRowsToCommit } from "../../pkg/wire.js";

const ROW = [MUTATION.delete, 0, 0, NaN];

test("the reused rows buffer stays small after a commit of too many mutations", () => {
  // 100,000 mutations: far over Deno's 1,000 per commit, which the wasm
  // then refuses. The buffer that carried them must not be kept.
  const many = Array.from({ length: 100_000 }, () => ROW).flat();
  assert.deepEqual(Array.from(mutationRowsToCommit(many, [], () => false).subarray(0, 4)), ROW);
  const one = mutationRowsToCommit(ROW, [], () => false);
  assert.deepEqual(Array.from(one), ROW);
  assert.ok(one.buffer.byteLength <= 1000 * ROW.length * 8, `${one.buffer.byteLength} bytes kept`);
});
