// A wasm file inlined in the JS (scripts/build.mjs: gzipped, then base64)
// as a Response the glue's init compiles while the browser inflates it.

/**
 * `text`: the base64 of the gzipped .wasm; `fallback`: what a browser
 * without DecompressionStream does instead, for the error that says so.
 */
export function inlineWasm(text, fallback) {
  if (typeof DecompressionStream !== "function") {
    throw new TypeError(
      `webkv: this browser has no DecompressionStream (Chrome 80, Firefox 113, Safari 16.4 have it); ${fallback}`,
    );
  }
  let bytes;
  if (typeof Uint8Array.fromBase64 === "function") {
    bytes = Uint8Array.fromBase64(text);
  } else {
    const binary = atob(text);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  }
  const wasm = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(wasm, { headers: { "content-type": "application/wasm" } });
}
