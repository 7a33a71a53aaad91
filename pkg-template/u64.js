// Deno.KvU64: an unsigned 64-bit integer that sum, min and max work on.

const MIN_U64 = 0n;
const MAX_U64 = 0xffffffffffffffffn;

export class KvU64 {
  value;

  constructor(value) {
    if (typeof value !== "bigint") {
      throw new TypeError(`Value must be a bigint: received ${typeof value}`);
    }
    if (value < MIN_U64) {
      throw new RangeError(`Value must be a positive bigint: received ${value}`);
    }
    if (value > MAX_U64) {
      throw new RangeError("Value must fit in a 64-bit unsigned integer");
    }
    this.value = value;
    Object.freeze(this);
  }

  valueOf() {
    return this.value;
  }

  toString() {
    return this.value.toString();
  }

  get [Symbol.toStringTag]() {
    return "Deno.KvU64";
  }

  // Printed as Deno prints its own: `[Deno.KvU64: 15n]`.
  [Symbol.for("Deno.customInspect")]() {
    return `[Deno.KvU64: ${this.value}n]`;
  }

  [Symbol.for("nodejs.util.inspect.custom")]() {
    return `[Deno.KvU64: ${this.value}n]`;
  }
}
