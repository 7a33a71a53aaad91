// A runtime-independent text for a KV entry, so that values written in one
// runtime and read in another (Node 24, Bun, Deno, real Deno.openKv) can be
// compared exactly. Loaded by every script in this directory.
export function canon(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "bigint":
      return `${value}n`;
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return String(value);
  }
  const tag = Object.prototype.toString.call(value);
  if (value?.[Symbol.toStringTag] === "Deno.KvU64") return `u64:${value.value}`;
  if (value instanceof Uint8Array) return `bytes:[${Array.from(value).join(",")}]`;
  if (value instanceof Date) return `date:${value.getTime()}`;
  if (value instanceof RegExp) return `re:${value.source}/${value.flags}`;
  if (value instanceof Map) return `map{${[...value].map(([k, v]) => `${canon(k)}=>${canon(v)}`).join(",")}}`;
  if (value instanceof Set) return `set{${[...value].map(canon).join(",")}}`;
  if (value instanceof Error) return `error:${value.name}:${value.message}`;
  if (Array.isArray(value)) return `[${value.map(canon).join(",")}]`;
  if (tag === "[object Object]") {
    return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${canon(value[k])}`).join(",")}}`;
  }
  return `?${tag}`;
}

export function canonKey(key) {
  return `[${key.map(canon).join(",")}]`;
}

/** Every entry of the database as `key = value @ versionstamp` lines. */
export async function dump(kv) {
  const lines = [];
  for await (const e of kv.list({ prefix: [] })) lines.push(`${canonKey(e.key)} = ${canon(e.value)} @ ${e.versionstamp}`);
  return lines;
}

/** The values every interop writer stores, one per encoding and V8 type. */
export function sampleValues(KvU64) {
  return [
    [["v8", "object"], { a: 1, b: [1, "two", null], c: { d: true } }],
    [["v8", "date"], new Date(1_700_000_000_000)],
    [["v8", "map"], new Map([["k", 1], [2n, new Set([1, 2])]])],
    [["v8", "bigint"], -12345678901234567890n],
    [["v8", "string"], "héllo \u{1F600}"],
    [["v8", "number"], -0],
    [["v8", "regexp"], /a+b/gi],
    [["v8", "error"], new RangeError("boom")],
    [["v8", "nested u8"], { bytes: new Uint8Array([9, 8]) }],
    [["bytes"], new Uint8Array([0, 1, 2, 255])],
    [["u64"], new KvU64(18446744073709551615n)],
    [[1n, 2.5, true, new Uint8Array([0, 0]), "k\u0000"], "every key part"],
  ];
}

/** Runs under Deno, Node or Bun: the script's arguments. */
export function args() {
  return globalThis.Deno ? Deno.args : process.argv.slice(2);
}

export function print(line) {
  if (globalThis.Deno) Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  else process.stdout.write(line + "\n");
}
