// Memory used by 100,000 entries `["bench", i] -> { i, s: "x".repeat(100) }`.
//
// webkv: wasmMemoryBytes() after inserting vs before (after the first openKv).
// WebAssembly memory only grows (in 64 KiB pages) and never shrinks, so each
// measurement runs in a fresh Node process (this file re-spawns itself), and
// the figure includes allocator slack: it is what the process pays.
// For context, the JS heap growth (after a full GC) of webkv and of @deno/kv's
// pure-JS in-memory store holding the same entries.
//
//   node bench/memory.mjs            (WEBKV_PKG=/path/to/pkg to measure another build)
import { execFileSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const COUNT = 100_000;
const PAYLOAD = "x".repeat(100);
const mode = process.argv[2];

async function insert(kv, how) {
  if (how === "batch") {
    for (let b = 0; b < COUNT; b += 1000) {
      const op = kv.atomic();
      for (let i = b; i < b + 1000; i++) op.set(["bench", i], { i, s: PAYLOAD });
      if (!(await op.commit()).ok) throw new Error("commit failed");
    }
  } else {
    for (let i = 0; i < COUNT; i++) await kv.set(["bench", i], { i, s: PAYLOAD });
  }
  const last = await kv.get(["bench", COUNT - 1]);
  if (last.value?.i !== COUNT - 1) throw new Error("missing entry");
}

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

if (mode) {
  // Child: one measurement, printed as JSON.
  const [impl, how] = mode.split(":");
  let out;
  if (impl === "webkv") {
    const pkgUrl = process.env.WEBKV_PKG
      ? pathToFileURL(`${process.env.WEBKV_PKG.replace(/\/?$/, "/")}node.js`)
      : new URL("../pkg/node.js", import.meta.url);
    const m = await import(pkgUrl.href);
    const kv = await m.openKv(":memory:");
    const wasmBefore = m.wasmMemoryBytes();
    const heapBefore = heap();
    await insert(kv, how);
    const heapAfter = heap();
    const wasmAfter = m.wasmMemoryBytes();
    out = { wasmBefore, wasmAfter, heapDelta: heapAfter - heapBefore };
    kv.close();
  } else {
    const { openKv } = await import("@deno/kv");
    const kv = await openKv("");
    const heapBefore = heap();
    await insert(kv, how);
    const heapAfter = heap();
    out = { heapDelta: heapAfter - heapBefore };
    kv.close();
  }
  console.log(JSON.stringify(out));
} else {
  const self = fileURLToPath(import.meta.url);
  const measure = (m) =>
    JSON.parse(execFileSync(process.execPath, ["--expose-gc", self, m], { encoding: "utf8" }).trim().split("\n").pop());
  const mb = (n) => `${(n / 1048576).toFixed(1)} MiB`;
  const per = (n) => `${Math.round(n / COUNT)} B`;
  const lines = [
    "## Memory: 100,000 entries",
    "",
    `Keys \`["bench", i]\`, values \`{ i, s: "x".repeat(100) }\` (16 B of encoded key and 117 B of V8-serialized value per entry). Each row is a fresh Node ${process.version} process. wasm memory = \`wasmMemoryBytes()\` after the inserts minus before (after \`openKv\`); it grows in 64 KiB pages and includes allocator slack. JS heap = \`heapUsed\` growth after a full GC.`,
    "",
    "| store, how inserted | wasm memory before → after | wasm bytes / entry | JS heap growth | JS heap bytes / entry |",
    "|---|--:|--:|--:|--:|",
  ];
  for (const how of ["batch", "seq"]) {
    const r = measure(`webkv:${how}`);
    const d = r.wasmAfter - r.wasmBefore;
    lines.push(
      `| webkv, ${how === "batch" ? "atomic batches of 1000" : "sequential awaited sets"} | ${mb(r.wasmBefore)} → ${mb(r.wasmAfter)} | **${per(d)}** | ${mb(r.heapDelta)} | ${per(r.heapDelta)} |`,
    );
  }
  const p = measure("denokv:batch");
  lines.push(`| @deno/kv in-memory (JS), atomic batches of 1000 | — | — | ${mb(p.heapDelta)} | ${per(p.heapDelta)} |`);
  lines.push("");
  console.log(lines.join("\n"));
}
