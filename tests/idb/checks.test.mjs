// The checkers of checks.mjs on synthetic histories (no browser): they pass a
// correct history and catch lost updates, duplicate or backward versionstamps,
// partial commits, lost acknowledged commits and a wrong count, so a pass of
// concurrency.test.mjs and crash.test.mjs means something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkCrashState, checkHistory, ROUND_SPAN } from "./checks.mjs";

const vs = (n) => n.toString(16).padStart(20, "0");

/** A linearizable run of two contexts on one counter, n increments each, alternating turns. */
function goodRuns(n) {
  let version = 0;
  let value = 0;
  const runs = [["A", []], ["B", []]];
  const done = [0, 0];
  let turn = 0;
  while (done[0] < n || done[1] < n) {
    const c = done[turn] < n ? turn : 1 - turn;
    const events = runs[c][1];
    const seen = version === 0 ? null : vs(version);
    events.push(["get", seen]);
    // Every third attempt of A loses a race against B's commit in between.
    if (c === 0 && done[1] < n && events.length % 3 === 0) {
      version++; value++; done[1]++;
      runs[1][1].push(["get", seen], ["ok", vs(version), value, seen]);
      events.push(["conflict", seen]);
    } else {
      version++; value++; done[c]++;
      events.push(["ok", vs(version), value, seen]);
    }
    turn = 1 - turn;
  }
  return { runs, final: { value, versionstamp: vs(version) } };
}

test("checkHistory passes a linearizable history", () => {
  const { runs, final } = goodRuns(50);
  assert.match(checkHistory(runs, final, 50), /A: \d+ conflicts, B: \d+ conflicts/);
});

test("checkHistory catches two independent counters (no shared database)", () => {
  const one = (label) => [label, Array.from({ length: 5 }, (_, i) => [["get", i ? vs(i) : null], ["ok", vs(i + 1), i + 1, i ? vs(i) : null]]).flat()];
  assert.throws(() => checkHistory([one("A"), one("B")], { value: 5, versionstamp: vs(5) }, 5), /versionstamp/);
});

test("checkHistory catches a lost update (both wrote the same value)", () => {
  const runs = [
    ["A", [["get", null], ["ok", vs(1), 1, null]]],
    ["B", [["get", null], ["ok", vs(2), 1, null]]],
  ];
  assert.throws(() => checkHistory(runs, { value: 2, versionstamp: vs(2) }, 1), /wrote 1, 2/);
});

test("checkHistory catches a read going back and a commit below what was seen", () => {
  const back = [["A", [["get", vs(5)], ["get", vs(4)], ["ok", vs(6), 1, vs(4)]]]];
  assert.throws(() => checkHistory(back, { value: 1, versionstamp: vs(6) }, 1), /went back/);
  const below = [["A", [["get", vs(5)], ["ok", vs(3), 1, vs(5)]]]];
  assert.throws(() => checkHistory(below, { value: 1, versionstamp: vs(3) }, 1), /not above/);
});

test("checkHistory catches a wrong final value and too few commits", () => {
  const { runs, final } = goodRuns(3);
  assert.throws(() => checkHistory(runs, { ...final, value: 5 }, 3), /final/);
  assert.throws(() => checkHistory(runs, final, 4), /successful commits/);
});

const u64 = (n) => ({ t: "KvU64", v: String(n) });
const state = (is, count = is.length) => ({ log: is.map((i) => [i, i]), pair: is.map((i) => [i, i]), count: count === null ? { t: "null" } : u64(count) });

test("checkCrashState passes a consistent state, unacknowledged commits included", () => {
  const is = [0, 1, 2, 3, ROUND_SPAN, ROUND_SPAN + 1];
  assert.equal(checkCrashState(state(is), new Set([0, 1, 2, ROUND_SPAN]), 2), 6);
  assert.equal(checkCrashState(state([], null), new Set(), 0), 0);
});

test("checkCrashState catches partial commits, lost acknowledged ones, a wrong count, holes", () => {
  const partial = state([0, 1, 2]);
  partial.pair.pop();
  assert.throws(() => checkCrashState(partial, new Set([0]), 1), /partly present/);
  assert.throws(() => checkCrashState(state([0, 1]), new Set([0, 1, 2]), 1), /acknowledged commits are missing/);
  assert.throws(() => checkCrashState(state([0, 1], 3), new Set([0]), 1), /count/);
  assert.throws(() => checkCrashState({ ...state([0]), count: { t: "number", v: "1" } }, new Set([0]), 1), /count/);
  assert.throws(() => checkCrashState(state([0, 2]), new Set([0]), 1), /round 0: commit 2 present but 1 is not/);
  const wrongValue = state([0, 1]);
  wrongValue.log[1] = [1, 7];
  assert.throws(() => checkCrashState(wrongValue, new Set(), 1), /\["log", 1\] = 7/);
});
