// Writes the wasm's wireShapes() (src/bindings/wire/mod.rs) into
// pkg-template/wire.js's SHAPES, so that the JS half of the boundary has the
// Rust half's numbers as constants. scripts/build.mjs runs it on every build;
// src/bindings/wire/tests.rs fails while wire.js is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const BEGIN = /^\/\/ wire-shapes-begin.*\n/m;
const END = /^\/\/ wire-shapes-end\n/m;

/** `source` (wire.js) with `shapes` as its SHAPES. */
export function withShapes(source, shapes) {
  const begin = BEGIN.exec(source);
  const end = END.exec(source);
  if (begin === null || end === null || end.index < begin.index) {
    throw new Error("wire.js has no // wire-shapes-begin ... // wire-shapes-end block");
  }
  const tables = Object.entries(shapes).map(([table, numbers]) => `  ${table}: ${JSON.stringify(numbers)},\n`);
  const block = `const SHAPES = {\n${tables.join("")}};\n`;
  return source.slice(0, begin.index + begin[0].length) + block + source.slice(end.index);
}

/**
 * Rewrites `wireJsPath` with the shapes of the server glue at `gluePath`
 * (its wasm at `wasmPath`); true when the file changed.
 */
export async function refreshWireShapes(wireJsPath, gluePath, wasmPath) {
  const glue = await import(pathToFileURL(gluePath).href);
  glue.initSync({ module: readFileSync(wasmPath) });
  const source = readFileSync(wireJsPath, "utf8");
  const fresh = withShapes(source, glue.wireShapes());
  if (fresh === source) return false;
  writeFileSync(wireJsPath, fresh);
  return true;
}
