// Node and Bun have no fetch for file: URLs: read the .wasm from disk.
import { readFile } from "node:fs/promises";
import init from "./webkv_wasm.js";
import { setWasmLoader } from "./kv.js";

setWasmLoader(async () => {
  const bytes = await readFile(new URL("./webkv_wasm_bg.wasm", import.meta.url));
  await init({ module_or_path: bytes });
});

export * from "./api.js";
