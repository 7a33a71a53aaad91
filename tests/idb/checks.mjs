// The assertions of the concurrency and crash tests, as plain functions of
// what the pages report, so checks.test.mjs can show they catch bad histories.
import assert from "node:assert/strict";

// ------------------------------------------------------------ concurrency

/**
 * Checks one context's event list (see pages/helpers.js increments()) and
 * returns its successful commits [{ vs, value, label }].
 */
export function checkContext(label, events, n) {
  const commits = [];
  let last = null; // highest versionstamp this context has seen or written
  let lastCommit = null;
  for (const [i, ev] of events.entries()) {
    const where = `${label} event ${i} ${JSON.stringify(ev)}`;
    if (ev[0] === "get") {
      const vs = ev[1];
      if (vs === null) assert.equal(last, null, `${where}: the counter vanished after ${last}`);
      else if (last !== null) assert.ok(vs >= last, `${where}: read went back from ${last}`);
      if (vs !== null) last = vs;
    } else if (ev[0] === "ok") {
      const [, vs, value, checked] = ev;
      assert.match(vs, /^[0-9a-f]{20}$/, where);
      if (lastCommit !== null) assert.ok(vs > lastCommit, `${where}: commit versionstamp not above the previous commit's ${lastCommit}`);
      if (checked !== null) assert.ok(vs > checked, `${where}: commit versionstamp not above the checked ${checked}`);
      if (last !== null) assert.ok(vs > last, `${where}: commit versionstamp not above what this context saw, ${last}`);
      last = lastCommit = vs;
      commits.push({ vs, value, label });
    } else {
      assert.equal(ev[0], "conflict", where);
    }
  }
  assert.equal(commits.length, n, `${label}: ${commits.length} successful commits, not ${n}`);
  return commits;
}

/**
 * runs: [[label, events]...], each with n successful increments; final: the
 * counter's { value, versionstamp } read at the end. Returns a summary line.
 */
export function checkHistory(runs, final, n) {
  const all = runs.flatMap(([label, events]) => checkContext(label, events, n));
  all.sort((a, b) => (a.vs < b.vs ? -1 : a.vs > b.vs ? 1 : 0));
  for (let i = 1; i < all.length; i++) {
    assert.notEqual(all[i].vs, all[i - 1].vs, `two commits got versionstamp ${all[i].vs}`);
  }
  const wrote = all.map((c) => c.value);
  const expected = Array.from({ length: all.length }, (_, i) => i + 1);
  assert.deepEqual(wrote, expected, "in versionstamp order the commits wrote 1, 2, ..., total");
  assert.deepEqual(final, { value: runs.length * n, versionstamp: all.at(-1).vs }, "final value and versionstamp");
  return runs.map(([label, events]) => `${label}: ${events.filter((e) => e[0] === "conflict").length} conflicts`).join(", ");
}

// ------------------------------------------------------------ crash

/** The first i of crash round r (round r's probe commit; its loop starts at base + 1). */
export const ROUND_SPAN = 10_000_000;

/**
 * Checks the crash-test database after a relaunch:
 * state: { log: [[i, v]...], pair: [[i, v]...], count: describe(KvU64 | null) };
 * acked: Set of i whose commit the page acknowledged (reported to Node);
 * rounds: how many rounds have started (their i are in [r*SPAN, (r+1)*SPAN)).
 * Every acknowledged commit is fully present; no commit is partly present;
 * the count is the number of present commits; within a round the present
 * commits are a prefix (the loop awaited each commit before the next).
 */
export function checkCrashState(state, acked, rounds) {
  for (const [i, v] of state.log) assert.equal(v, i, `["log", ${i}] = ${v}`);
  for (const [i, v] of state.pair) assert.equal(v, i, `["pair", ${i}] = ${v}`);
  const log = new Set(state.log.map(([i]) => i));
  const pair = new Set(state.pair.map(([i]) => i));
  const onlyLog = [...log].filter((i) => !pair.has(i));
  const onlyPair = [...pair].filter((i) => !log.has(i));
  assert.deepEqual({ onlyLog, onlyPair }, { onlyLog: [], onlyPair: [] }, "partly present commits");
  const missing = [...acked].filter((i) => !log.has(i)).sort((a, b) => a - b);
  assert.deepEqual(missing, [], `${missing.length} acknowledged commits are missing`);
  const expectedCount = log.size === 0 ? { t: "null" } : { t: "KvU64", v: String(log.size) };
  assert.deepEqual(state.count, expectedCount, `["count"] for ${log.size} present commits`);
  for (let r = 0; r < rounds; r++) {
    const present = [...log].filter((i) => i >= r * ROUND_SPAN && i < (r + 1) * ROUND_SPAN).sort((a, b) => a - b);
    present.forEach((i, k) => assert.equal(i, r * ROUND_SPAN + k, `round ${r}: commit ${i} present but ${r * ROUND_SPAN + k} is not`));
  }
  return log.size;
}
