// Checks the shim's Deno.inspect (deno_shim.js) against the real one. Run with real Deno:
//   node_modules/@deno/linux-x64-glibc/deno run tests/conformance/chromium/inspect_check.js
// Every value must print exactly as Deno prints it, except the documented differences below.
import { inspect } from "./deno_shim.js";
import { KvU64 } from "../../../pkg/deno.js";

class Foo {
  constructor() {
    this.a = 1;
  }
}
const cyc = { a: 1 };
cyc.self = cyc;
const OPTS = { depth: 6, iterableLimit: 50, strAbbreviateSize: 200, sorted: false, showHidden: false };

const values = {
  "KvU64": new KvU64(15n),
  "KvU64 in an object": { a: new KvU64(1n) },
  "KvU64s in an array": [new KvU64(0n), new KvU64(2n ** 64n - 1n)],
  "string": "str",
  "quotes": ["a\nb", "it's", 'q"', `'"`, "\0\x7f\t\\"],
  "long string": "x".repeat(250),
  "numbers": [1, -0, NaN, Infinity, 1.5],
  "bigint": 10n,
  "booleans, null, undefined": [true, false, null, undefined],
  "symbol": Symbol("s"),
  "functions": [() => 2, function named() {}, async function af() {}, function* g() {}, Foo],
  "nested arrays": [1, "a", [2], []],
  "empty object": {},
  "keys": { a: 1, "b-c": "x", [Symbol("k")]: 2, "key with space": 1, valid_id: 2, 3: 4 },
  "Map": new Map([[1, "x"], [{ a: 1 }, [1, 2]]]),
  "Set": new Set(["a", 1]),
  "empty Map": new Map(),
  "Date": new Date(0),
  "invalid Date": new Date(NaN),
  "RegExp": /a+/gi,
  "typed arrays": [new Uint8Array([1, 2]), new Int16Array(0), new BigInt64Array([1n])],
  "ArrayBuffer": new ArrayBuffer(2),
  "class instance": new Foo(),
  "null prototype": Object.create(null),
  "holes": [, 1, , , 2],
  "boxed": [new Boolean(true), new Number(-0), new String("s"), Object(1n)],
  "deep": { a: { b: { c: { d: { e: { f: { g: { h: 1 } } } } } } } },
  "deep arrays": [[[[[[[[1]]]]]]]],
  "innermost three levels": { nested: { deeper: { deepest: { x: 1 } } } },
  "empty innermost": { a: { b: { c: {} } } },
  "wide": { longlonglonglongkey1: "valuevaluevalue", longlonglonglongkey2: "valuevaluevalue", k3: "v" },
  "circular": cyc,
  "weak": [new WeakSet(), new WeakMap()],
  "array with a property": Object.assign([1], { extra: 2 }),
  "error": new Error("boom"),
  "error in an object": { e: new TypeError("in") },
  "error with cause and property": Object.assign(new Error("c", { cause: 1 }), { x: 1 }),
  "entry-like": { key: ["a", 1n, new Uint8Array([1])], value: { x: [1, 2] }, versionstamp: "00000000000000010000" },
};
// Where the shim knowingly differs (only assertion-message formatting is affected).
const KNOWN = {
  "long array (Deno groups numbers into columns)": Array.from({ length: 60 }, (_, i) => i),
  "Promise (its state is invisible to JS)": Promise.resolve(1),
};

let bad = 0;
for (const [what, v] of Object.entries(values)) {
  const want = Deno.inspect(v, OPTS), got = inspect(v, OPTS);
  if (want !== got) {
    bad++;
    console.log(`MISMATCH ${what}\n  Deno: ${JSON.stringify(want)}\n  shim: ${JSON.stringify(got)}`);
  }
}
for (const [what, v] of Object.entries(KNOWN)) {
  const same = Deno.inspect(v, OPTS) === inspect(v, OPTS);
  console.log(`known difference, ${what}: ${same ? "now identical" : "differs"}`);
}
// Default options, as values.test.js calls it.
for (const v of [new KvU64(15n), { a: new KvU64(1n) }, "top", { a: { b: { c: { d: { e: 1 } } } } }]) {
  if (Deno.inspect(v) !== inspect(v)) {
    bad++;
    console.log(`MISMATCH (default options)\n  Deno: ${JSON.stringify(Deno.inspect(v))}\n  shim: ${JSON.stringify(inspect(v))}`);
  }
}
console.log(bad === 0 ? `ok: ${Object.keys(values).length + 4} values print as Deno prints them` : `${bad} mismatches`);
if (bad) Deno.exit(1);
