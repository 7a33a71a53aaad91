// webkv's V8 codec against Deno's own V8 (through node:v8, which uses V8's
// serializer and deserializer): Deno reads what webkv writes and webkv reads
// what Deno writes. Run: deno test -A tests/codec/v8_deno.test.js
import v8 from "node:v8";
import { deserialize, serialize } from "../../pkg/v8.js";
import { deepEqual, samples } from "./samples.js";

function denoSerialize(value) {
  const serializer = new v8.Serializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return new Uint8Array(serializer.releaseBuffer());
}

for (const [name, value, expected = value] of samples()) {
  Deno.test(`Deno reads webkv's ${name}`, () => {
    const read = v8.deserialize(serialize(value));
    if (!deepEqual(expected, read)) throw new Error(`Deno read ${name} differently`);
  });

  Deno.test(`webkv reads Deno's ${name}`, () => {
    const read = deserialize(denoSerialize(value));
    if (!deepEqual(expected, read)) throw new Error(`webkv read Deno's ${name} differently`);
  });
}
