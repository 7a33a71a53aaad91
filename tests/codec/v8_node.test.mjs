// webkv's V8 codec (pkg/v8.js) in Node: every sample round-trips, Node's own
// V8 reads what webkv writes and webkv reads what Node's V8 writes, and
// corrupt input fails with a clean error.
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { deserialize, serialize } from "../../pkg/v8.js";
import { deepEqual, nested, samples, sharesBuffer, unclonables } from "./samples.js";

// Node's `v8.serialize` writes typed arrays as Node-only host objects; its
// base Serializer writes V8's own encoding, as Deno and browsers do.
function nodeSerialize(value) {
  const serializer = new v8.Serializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return new Uint8Array(serializer.releaseBuffer());
}

for (const [name, value, expected = value] of samples()) {
  test(`round-trips ${name}`, () => {
    const bytes = serialize(value);
    assert.equal(bytes[0], 0xff);
    assert.equal(bytes[1], 15, "webkv writes format version 15");
    const read = deserialize(bytes);
    assert.ok(deepEqual(expected, read), `${name} read back differently`);
    if (typeof value === "object" && value !== null) {
      assert.notEqual(read, value, "a fresh copy");
    }
  });

  test(`Node reads webkv's ${name}`, (t) => {
    if (name === "float16" || name === "resizable array buffer") return t.skip("Node 20's V8 predates it");
    const read = v8.deserialize(serialize(value));
    assert.ok(deepEqual(expected, read), `Node read ${name} differently`);
  });

  test(`webkv reads Node's ${name}`, (t) => {
    let bytes;
    try {
      bytes = nodeSerialize(value);
    } catch (err) {
      return t.skip(`Node cannot write it: ${err.message}`);
    }
    assert.ok(deepEqual(expected, deserialize(bytes)), `webkv read Node's ${name} differently`);
  });
}

test("views sharing a buffer still share it", () => {
  const value = samples().find(([name]) => name === "view sharing a buffer")[1];
  assert.ok(sharesBuffer(deserialize(serialize(value))));
});

test("unclonable values throw Deno's error class and message", () => {
  for (const [name, value, errorClass, message] of unclonables()) {
    assert.throws(() => serialize(value), (err) => {
      assert.equal(err.constructor, errorClass, name);
      assert.equal(err.message, message, name);
      return true;
    });
  }
});

test("deep nesting is a JS RangeError, not a crash", () => {
  assert.throws(() => serialize(nested(1_000_000)), RangeError);
});

test("corrupt and truncated input fails with a TypeError or RangeError, never hangs", () => {
  let seed = 12345;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const seeds = samples().map(([, value]) => serialize(value));
  let rejected = 0;
  for (let round = 0; round < 20_000; round++) {
    const bytes = Uint8Array.from(seeds[random(seeds.length)]);
    const edits = 1 + random(4);
    let mutated = bytes;
    for (let e = 0; e < edits; e++) {
      switch (random(3)) {
        case 0:
          if (mutated.length > 2) mutated[2 + random(mutated.length - 2)] = random(256);
          break;
        case 1:
          mutated = mutated.subarray(0, 2 + random(Math.max(1, mutated.length - 2)));
          break;
        default: {
          const at = 2 + random(Math.max(1, mutated.length - 2));
          const grown = new Uint8Array(mutated.length + 1);
          grown.set(mutated.subarray(0, at));
          grown[at] = random(256);
          grown.set(mutated.subarray(at), at + 1);
          mutated = grown;
        }
      }
    }
    try {
      deserialize(mutated);
    } catch (err) {
      assert.ok(err instanceof TypeError || err instanceof RangeError, `unexpected ${err?.name}: ${err?.message}`);
      rejected++;
    }
  }
  assert.ok(rejected > 1000, "most corruptions are detected");
});

test("a value read from the middle of a buffer stops at its end, whatever the next byte is", () => {
  // A read batch holds every value back to back. An ArrayBuffer may be
  // followed by a view tag ("V"): the next value's first byte must not be
  // taken for one.
  for (const value of [new ArrayBuffer(3), { a: 1, s: "x".repeat(40) }, [1, , 3], new Map([[1, new ArrayBuffer(2)]])]) {
    const bytes = serialize(value);
    const batch = new Uint8Array(bytes.length + 20).fill("V".charCodeAt(0));
    batch.set(bytes, 10);
    assert.ok(deepEqual(value, deserialize(batch, 10, 10 + bytes.length)), "read back as written");
    assert.throws(() => deserialize(batch, 10, 10 + bytes.length - 1), RangeError, "one byte short");
    assert.throws(() => deserialize(batch, 10, 10 + bytes.length + 1), RangeError, "a trailing byte");
  }
});

test("property names read back as themselves, however many share the reader's name cache", () => {
  // Names of every length up to past the cached ones, many per length, so
  // that names of one length share cache slots.
  let seed = 7;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const names = [];
  for (let length = 0; length <= 30; length++) {
    for (let n = 0; n < 300; n++) {
      let name = "";
      for (let i = 0; i < length; i++) name += String.fromCharCode(32 + random(95));
      names.push(name);
    }
  }
  for (let round = 0; round < 5000; round++) {
    const object = {};
    for (let p = 0; p < 4; p++) object[names[random(names.length)]] = round;
    const read = deserialize(nodeSerialize(object));
    assert.deepEqual(Object.keys(read), Object.keys(object));
    assert.deepEqual(read, object);
  }
});

test("properties are defined as data, as V8 defines them: no setter up the prototype chain runs, a frozen Object.prototype refuses none", async () => {
  // In a process of its own: the test freezes Object.prototype. V8's own
  // structuredClone is the reference.
  const { execFileSync } = await import("node:child_process");
  const script = `
    const { deserialize, serialize } = await import(${JSON.stringify(new URL("../../pkg/v8.js", import.meta.url).href)});
    const calls = [];
    Object.defineProperty(Object.prototype, "watched", { set(v) { calls.push(v); }, get() { return "inherited"; }, configurable: true });
    const read = deserialize(serialize(Object.assign(Object.create(null), { watched: 1 })));
    const reference = structuredClone(Object.assign(Object.create(null), { watched: 1 }));
    const out = { own: Object.hasOwn(read, "watched"), value: read.watched, calls: calls.length,
      referenceOwn: Object.hasOwn(reference, "watched"), referenceValue: reference.watched };
    delete Object.prototype.watched;
    Object.freeze(Object.prototype);
    const frozen = deserialize(serialize(Object.assign(Object.create(null), { toString: 1, constructor: 2 })));
    out.frozen = [frozen.toString, frozen.constructor, Object.hasOwn(frozen, "toString")];
    console.log(JSON.stringify(out));
  `;
  const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }));
  assert.deepEqual(out, { own: true, value: 1, calls: 0, referenceOwn: true, referenceValue: 1, frozen: [1, 2, true] });
});
