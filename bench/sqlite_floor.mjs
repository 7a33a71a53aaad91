// The floor under the sequential commits of bench/sqlite_bench.mjs: each
// awaited `set` (or `sum`) is one SQLite transaction and one fsync on every
// side, so this times, in one process, µs per commit for
//   - "raw node:sqlite": only the statements webkv's commit runs (`begin
//     immediate`, the data version update, [the sum's read,] the upsert,
//     `commit`), on a file of Deno's schema, with nothing else around them;
//   - webkv (`openKv(file)`);
//   - the peer: `Deno.openKv(file)` in Deno, `@deno/kv` in Node.
// The sides alternate, a new file each, after a warm-up of 300 commits.
//
//   taskset -c 0 .tools/node-24.21.0/bin/node bench/sqlite_floor.mjs [--op set|sum] [--n 3000] [--rounds 3] [--dir DIR]
//   taskset -c 0 node_modules/@deno/linux-x64-glibc/deno run --unstable-kv -A bench/sqlite_floor.mjs [same]
// --dir picks the directory the files go in (default: the OS's temp
// directory); a tmpfs such as /dev/shm shows the cost without the fsync.
import { DatabaseSync } from "node:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const isDeno = typeof Deno !== "undefined";
const argv = isDeno ? Deno.args : process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const op = opt("op", "set");
const n = Number(opt("n", 3000));
const rounds = Number(opt("rounds", 3));
const dir = mkdtempSync(join(opt("dir", tmpdir()), "webkv-sqlite-floor-"));
let files = 0;
const fresh = () => join(dir, `db-${++files}.sqlite`);

const webkv = await import(new URL(isDeno ? "../pkg/deno.js" : "../pkg/node.js", import.meta.url).href);
const peerOpen = isDeno ? (path) => Deno.openKv(path) : (await import("@deno/kv")).openKv;
const WARM_UP = 300;
const PAYLOAD = "x".repeat(100);

/** µs per commit of `commit(i)` over n commits, after the warm-up. */
async function time(commit) {
  for (let i = 0; i < WARM_UP; i++) await commit(n + i);
  const started = performance.now();
  for (let i = 0; i < n; i++) await commit(i);
  return ((performance.now() - started) / n) * 1000;
}

async function kvSide(open) {
  const kv = await open(fresh());
  try {
    return await time(
      op === "set"
        ? (i) => kv.set(["bench", i], { i, s: PAYLOAD })
        : () => kv.atomic().sum(["counter"], 1n).commit(),
    );
  } finally {
    kv.close();
  }
}

async function rawSide() {
  const path = fresh();
  // webkv makes the file, so that it has Deno's tables and migrations.
  const made = await webkv.openKv(path);
  await made.atomic().sum(["counter"], 0n).commit();
  made.close();
  const db = new DatabaseSync(path);
  db.exec("pragma journal_mode = wal; pragma synchronous = full");
  const bump = db.prepare("update data_version set version = version + ? where k = 0 returning version");
  const read = db.prepare("select v, v_encoding, version from kv where k = ? and (expiration_ms < 0 or expiration_ms > ?)");
  const upsert = db.prepare(
    "insert into kv (k, v, v_encoding, version, expiration_ms) values (?, ?, ?, ?, ?) on conflict(k) do update set v = excluded.v, v_encoding = excluded.v_encoding, version = excluded.version, expiration_ms = excluded.expiration_ms",
  );
  const value = new Uint8Array(120).fill(3); // about the size of the V8 bytes of { i, s }
  const counterKey = new Uint8Array([0x02, ...new TextEncoder().encode("counter"), 0x00]);
  // ["b", i] as Deno encodes it (a 3-byte integer, big-endian): keys in the
  // order webkv's ["bench", i] are, so the upserts append as theirs do.
  const setKey = (i) => new Uint8Array([0x02, 0x62, 0x00, 0x17, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
  const commit = (i) => {
    db.exec("begin immediate");
    const { version } = bump.get(7);
    if (op === "set") {
      upsert.run(setKey(i), value, 1, version, -1);
    } else {
      const row = read.get(counterKey, Date.now());
      const sum = new DataView(row.v.buffer, row.v.byteOffset, 8).getBigUint64(0, true) + 1n;
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, sum, true);
      upsert.run(counterKey, bytes, 2, version, -1);
    }
    db.exec("commit");
  };
  try {
    return await time(async (i) => commit(i));
  } finally {
    db.close();
  }
}

const sides = [
  ["raw node:sqlite", rawSide],
  ["webkv", () => kvSide(webkv.openKv)],
  [isDeno ? "Deno.openKv" : "@deno/kv", () => kvSide(peerOpen)],
];
const results = new Map(sides.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of round % 2 ? [...sides].reverse() : sides) results.get(name).push(await run());
}
rmSync(dir, { recursive: true, force: true });

const runtime = isDeno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
console.log(`## ${runtime}: µs per awaited ${op}, ${n} commits, ${rounds} alternating rounds, files in ${opt("dir", tmpdir())}\n`);
console.log("| side | µs per commit (each round) |\n|---|---|");
for (const [name, us] of results) console.log(`| ${name} | ${us.map((x) => x.toFixed(0)).join(", ")} |`);
