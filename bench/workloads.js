// The benchmark workloads, shared verbatim by every implementation.
//
// An implementation is `{ name, openKv, KvU64 }`, where `openKv()` (no
// arguments) returns a fresh, empty, in-memory database with Deno's Kv API.
// Every workload opens its own fresh database for each run, does any untimed
// setup, times the workload, checks the result and closes the database.
//
// Works unchanged in Deno and Node (no runtime-specific APIs).

export const N = 10_000;
const PAYLOAD = "x".repeat(100);

export const key = (i) => ["bench", i];
export const value = (i) => ({ i, s: PAYLOAD });

const now = () => performance.now();

function check(cond, message) {
  if (!cond) throw new Error(`benchmark self-check failed: ${message}`);
}

/** Untimed setup: N entries through atomic batches of 1000. */
async function fill(kv, n = N) {
  for (let b = 0; b < n; b += 1000) {
    const op = kv.atomic();
    for (let i = b; i < Math.min(b + 1000, n); i++) op.set(key(i), value(i));
    const r = await op.commit();
    check(r.ok, "fill commit");
  }
}

/**
 * Each workload: `run(kv, impl)` returns the number of operations it timed
 * (entries for list); `setup(kv)` is untimed.
 */
export const workloads = [
  {
    id: "set",
    label: "sequential set, each awaited",
    unit: "sets/s",
    async run(kv) {
      for (let i = 0; i < N; i++) await kv.set(key(i), value(i));
      return N;
    },
    async verify(kv) {
      const e = await kv.get(key(N - 1));
      check(e.value?.i === N - 1, "set: last entry");
    },
  },
  {
    id: "get",
    label: "sequential get, each awaited",
    unit: "gets/s",
    setup: fill,
    async run(kv) {
      let sum = 0;
      for (let i = 0; i < N; i++) {
        const e = await kv.get(key(i));
        sum += e.value.i;
      }
      check(sum === (N * (N - 1)) / 2, "get: values");
      return N;
    },
  },
  {
    id: "list",
    label: "list 10,000 by prefix",
    unit: "entries/s",
    setup: fill,
    async run(kv) {
      let count = 0;
      for await (const e of kv.list({ prefix: ["bench"] })) {
        check(e.value.i === count, "list: order");
        count++;
      }
      check(count === N, "list: count");
      return count;
    },
  },
  {
    id: "checkset",
    label: "get + check + set loop",
    unit: "loops/s",
    async run(kv) {
      const k = ["bench", "counter"];
      for (let i = 0; i < N; i++) {
        const e = await kv.get(k);
        const r = await kv.atomic().check(e).set(k, (e.value ?? 0) + 1).commit();
        check(r.ok, "check+set: commit");
      }
      return N;
    },
    async verify(kv) {
      const e = await kv.get(["bench", "counter"]);
      check(e.value === N, "check+set: final value");
    },
  },
  {
    id: "sum",
    label: "`sum` increments, each awaited",
    unit: "commits/s",
    async run(kv) {
      const k = ["bench", "sum"];
      for (let i = 0; i < N; i++) {
        const r = await kv.atomic().sum(k, 1n).commit();
        check(r.ok, "sum: commit");
      }
      return N;
    },
    async verify(kv, impl) {
      const e = await kv.get(["bench", "sum"]);
      check(e.value instanceof impl.KvU64 && e.value.value === BigInt(N), "sum: final value");
    },
  },
  {
    id: "inflight",
    label: "100 sets in flight (Promise.all of 100)",
    unit: "sets/s",
    async run(kv) {
      for (let b = 0; b < N; b += 100) {
        const batch = [];
        for (let i = b; i < b + 100; i++) batch.push(kv.set(key(i), value(i)));
        await Promise.all(batch);
      }
      return N;
    },
    async verify(kv) {
      const e = await kv.get(key(N - 1));
      check(e.value?.i === N - 1, "in flight: last entry");
    },
  },
  {
    id: "bulk",
    label: "bulk set, atomic batches of 1000",
    unit: "sets/s",
    async run(kv) {
      await fill(kv, N);
      return N;
    },
    async verify(kv) {
      const e = await kv.get(key(N - 1));
      check(e.value?.i === N - 1, "bulk: last entry");
    },
  },
];

/** One timed run of `w` on a fresh database of `impl`: ops/s. */
export async function runOnce(w, impl) {
  const kv = await impl.openKv();
  try {
    if (w.setup) await w.setup(kv);
    globalThis.gc?.();
    const t0 = now();
    const ops = await w.run(kv, impl);
    const ms = now() - t0;
    if (w.verify) await w.verify(kv, impl);
    return (ops / ms) * 1000;
  } finally {
    kv.close();
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs every workload on both implementations: one warm-up run each, then
 * `runs` timed rounds. The order alternates every round (and the first
 * round's order alternates per workload), so neither side always goes first.
 * Returns rows `{ w, a: {median, runs}, b: {median, runs}, ratio }`.
 */
export async function compare(a, b, { runs = 3, only = null, log = () => {} } = {}) {
  const rows = [];
  let k = 0;
  for (const w of workloads) {
    if (only && !only.includes(w.id)) continue;
    const res = new Map([[a, []], [b, []]]);
    for (let r = -1; r < runs; r++) {
      const order = (r + k) % 2 === 0 ? [a, b] : [b, a];
      for (const impl of order) {
        const opsPerSec = await runOnce(w, impl);
        if (r >= 0) res.get(impl).push(opsPerSec);
        log(`${w.id.padEnd(9)} ${r < 0 ? "warm-up" : `run ${r + 1} `} ${impl.name.padEnd(14)} ${fmt(opsPerSec)}/s`);
      }
    }
    const ma = median(res.get(a));
    const mb = median(res.get(b));
    rows.push({ w, a: { median: ma, runs: res.get(a) }, b: { median: mb, runs: res.get(b) }, ratio: ma / mb });
    k++;
  }
  return rows;
}

export function fmt(opsPerSec) {
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)}M`;
  if (opsPerSec >= 1e4) return `${Math.round(opsPerSec / 1e3)}k`;
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toFixed(1)}k`;
  return `${Math.round(opsPerSec)}`;
}

/** A markdown table of `compare`'s rows, with a target column. */
export function table(rows, aName, bName, targets = {}) {
  const lines = [
    `| workload | ${aName} | ${bName} | ratio | target | met? | runs (${aName} / ${bName}) |`,
    "|---|--:|--:|--:|--:|:-:|---|",
  ];
  for (const { w, a, b, ratio } of rows) {
    // A target is [">" | "≥", ratio].
    const t = targets[w.id];
    const met = t === undefined ? "" : (t[0] === ">" ? ratio > t[1] : ratio >= t[1]) ? "yes" : "**no**";
    const runs = `${a.runs.map(fmt).join(", ")} / ${b.runs.map(fmt).join(", ")}`;
    lines.push(
      `| ${w.label} (${w.unit}) | ${fmt(a.median)} | ${fmt(b.median)} | ${ratio.toFixed(2)}× | ${t === undefined ? "—" : `${t[0]} ${t[1]}×`} | ${met} | ${runs} |`,
    );
  }
  return lines.join("\n");
}
