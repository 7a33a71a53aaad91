// Package size: the wasm and the JS files of pkg/, raw and gzipped (node:zlib,
// level 9, each file on its own, as a server or CDN would send them), against
// performance.md's target of 250 KB gzipped for the whole package (wasm + JS).
//
//   node bench/size.mjs            (WEBKV_PKG=/path/to/pkg to measure another build)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
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
const sum = (rs, f) => rs.reduce((s, r) => s + r[f], 0);
const code = rows.filter((r) => r.kind !== "types");
const js = rows.filter((r) => r.kind === "js");
const wasm = rows.filter((r) => r.kind === "wasm");
const total = sum(code, "gz");

const lines = [
  "## Package size",
  "",
  `pkg/ files, raw and compressed one by one (gzip level 9; brotli quality 11 for reference). KB = 1000 bytes. Target: wasm + JS ≤ 250 KB gzipped.`,
  "",
  "| file | raw | gzip | brotli |",
  "|---|--:|--:|--:|",
  ...rows.map((r) => `| ${r.name}${r.kind === "types" ? " (types, not loaded at run time; not counted)" : ""} | ${kb(r.raw)} | ${kb(r.gz)} | ${kb(r.br)} |`),
  `| **wasm** | ${kb(sum(wasm, "raw"))} | ${kb(sum(wasm, "gz"))} | ${kb(sum(wasm, "br"))} |`,
  `| **JS (all entries)** | ${kb(sum(js, "raw"))} | ${kb(sum(js, "gz"))} | ${kb(sum(js, "br"))} |`,
  `| **total wasm + JS** | ${kb(sum(code, "raw"))} | **${kb(total)}** | ${kb(sum(code, "br"))} |`,
  "",
  `Total gzipped: ${kb(total)} = ${((total / TARGET) * 100).toFixed(0)}% of the 250 KB budget (${total <= TARGET ? `met, ${kb(TARGET - total)} to spare` : `**over by ${kb(total - TARGET)}**`}). One runtime loads one entry file, so what a browser downloads is a little less than the total.`,
  "",
];
console.log(lines.join("\n"));
