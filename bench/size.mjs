// Package size: the wasm and the JS files of pkg/, raw and gzipped (node:zlib,
// level 9, each file on its own, as a server or CDN would send them), and
// what each entry loads (its import graph: the JS files plus the .wasm it
// fetches or imports), against performance.md's target of 250 KB gzipped for
// the default browser path (browser-inline.js, the entry every bundler but
// webpack picks).
//
//   node bench/size.mjs            (WEBKV_PKG=/path/to/pkg to measure another build)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const pkg = process.env.WEBKV_PKG ?? fileURLToPath(new URL("../pkg/", import.meta.url));
const TARGET = 250 * 1000; // "250 KB": read as 250,000 bytes (the stricter reading; 250 KiB = 256,000)

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = walk(pkg)
  .filter((p) => p.endsWith(".js") || p.endsWith(".wasm") || p.endsWith(".d.ts"))
  .sort();
const rows = files.map((p) => {
  const bytes = readFileSync(p);
  return {
    name: relative(pkg, p),
    kind: p.endsWith(".wasm") ? "wasm" : p.endsWith(".d.ts") ? "types" : "js",
    raw: bytes.length,
    gz: gzipSync(bytes, { level: 9 }).length,
    br: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
});

const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const byName = new Map(rows.map((r) => [r.name, r]));

/** The files `entry` loads: static imports and the .wasm it names, transitively. */
function graph(entry) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !byName.has(name)) return;
    seen.add(name);
    if (!name.endsWith(".js")) return;
    const text = readFileSync(join(pkg, name), "utf8");
    const refs = [
      // Minified: several statements to a line (scripts/build.mjs).
      ...text.matchAll(/(?:^|[;}\s])(?:import|export)\b[^;"'()]*?from\s*["'](\.[^"']+)["']/g),
      ...text.matchAll(/(?:^|[;}\s])import\s*["'](\.[^"']+)["']/g),
      ...text.matchAll(/new URL\(\s*["'](\.[^"']+)["'],\s*import\.meta\.url\s*\)/g),
    ];
    for (const [, ref] of refs) visit(relative(pkg, join(pkg, dirname(name), ref)));
  };
  visit(entry);
  return [...seen].map((name) => byName.get(name));
}

const ENTRIES = [
  ["browser-inline.js", "browsers via esbuild, Rollup, bun build, Vite, Parcel (the default browser path)"],
  ["browser.js", "webpack, import maps (fetches the .wasm)"],
  ["node.js", "Node, Bun"],
  ["deno.js", "Deno"],
  ["workerd.js", "workerd / wrangler"],
];
const KV_CONNECT = [
  ["kv-connect.js", "browser-inline.js"],
  ["kv-connect-browser.js", "browser.js"],
];
const sum = (rs, f) => rs.reduce((s, r) => s + r[f], 0);
const entries = ENTRIES.filter(([name]) => byName.has(name)).map(([name, who]) => {
  const files = graph(name);
  return { name, who, files, raw: sum(files, "raw"), gz: sum(files, "gz"), br: sum(files, "br") };
});
const budget = entries.find((e) => e.name === "browser-inline.js") ?? entries[0];
const inline = byName.get("webkv_wasm_inline.js");
const wasm = byName.get("webkv_wasm_bg.wasm");

const lines = [
  "## Package size",
  "",
  `pkg/ files, raw and compressed one by one (gzip level 9; brotli quality 11 for reference). KB = 1000 bytes. Target: the default browser path ≤ 250 KB gzipped.`,
  "",
  "| file | raw | gzip | brotli |",
  "|---|--:|--:|--:|",
  ...rows.map((r) => `| ${r.name}${r.kind === "types" ? " (types, not loaded at run time)" : ""} | ${kb(r.raw)} | ${kb(r.gz)} | ${kb(r.br)} |`),
  "",
  "What each entry loads (its JS files and the wasm, each file compressed on its own):",
  "",
  "| entry | for | files | raw | gzip | brotli |",
  "|---|---|--:|--:|--:|--:|",
  ...entries.map((e) => `| ${e.name} | ${e.who} | ${e.files.length} | ${kb(e.raw)} | **${kb(e.gz)}** | ${kb(e.br)} |`),
  "",
  "What `import \"webkv/kv-connect\"` adds in browsers (the KV Connect build; files the entry loads already not counted):",
  "",
  "| with | files | raw | gzip | brotli |",
  "|---|--:|--:|--:|--:|",
  ...KV_CONNECT.filter(([name, base]) => byName.has(name) && byName.has(base)).map(([name, base]) => {
    const files = graph(name).filter((f) => !graph(base).includes(f));
    return `| ${base} + ${name} | ${files.length} | ${kb(sum(files, "raw"))} | **${kb(sum(files, "gz"))}** | ${kb(sum(files, "br"))} |`;
  }),
  "",
  `Default browser path (${budget.name}): ${kb(budget.gz)} gzipped = ${((budget.gz / TARGET) * 100).toFixed(0)}% of the 250 KB budget (${budget.gz <= TARGET ? `met, ${kb(TARGET - budget.gz)} to spare` : `**over by ${kb(budget.gz - TARGET)}**`}).`,
  ...(inline && wasm
    ? [`The inlined wasm (webkv_wasm_inline.js, gzip + base64) is ${kb(inline.raw)} raw and ${kb(inline.gz)} gzipped, against ${kb(wasm.raw)} raw and ${kb(wasm.gz)} gzipped for the .wasm file: served uncompressed it is ${((1 - inline.raw / wasm.raw) * 100).toFixed(0)}% smaller, served gzipped ${inline.gz <= wasm.gz ? `${kb(wasm.gz - inline.gz)} smaller` : `${kb(inline.gz - wasm.gz)} larger`}.`]
    : []),
  "",
];
console.log(lines.join("\n"));
