// Tiny self-contained assertion helpers for the conformance suite.
// (No jsr:/deno.land imports: the test machines have no internet access.)

export class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = "AssertionError";
  }
}

function fmt(v) {
  try {
    return Deno.inspect(v, {
      depth: 6,
      iterableLimit: 50,
      strAbbreviateSize: 200,
      sorted: false,
      showHidden: false,
    });
  } catch {
    return String(v);
  }
}

const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Uint8Array.prototype);
const isTypedArray = (v) => TYPED_ARRAY_PROTO.isPrototypeOf(v);
const tag = (v) => Object.prototype.toString.call(v);

/**
 * Structural equality that is strict about everything structured clone
 * preserves: prototypes, -0 vs 0, NaN, bigint, sparse-array holes, extra
 * array properties, Map/Set insertion order, Date, RegExp (source, flags,
 * lastIndex), boxed primitives, typed arrays (kind and elements),
 * ArrayBuffer (bytes, resizability), DataView, Error (name, message, cause)
 * and cycles / shared references.
 */
export function equal(a, b) {
  return eq(a, b, new Map(), "$") === null;
}

// Returns null if equal, or a path + reason string describing the first
// difference.
function eq(a, b, seen, path) {
  if (Object.is(a, b)) return null;
  if (typeof a !== typeof b) {
    return `${path}: type ${typeof a} !== ${typeof b}`;
  }
  if (typeof a !== "object" || a === null || b === null) {
    return `${path}: ${fmt(a)} !== ${fmt(b)}`;
  }
  // Cycles/shared references: a given actual object must always correspond
  // to the same expected object.
  if (seen.has(a)) {
    return seen.get(a) === b ? null : `${path}: reference structure differs`;
  }
  seen.set(a, b);

  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
    return `${path}: prototype differs (${a?.constructor?.name} vs ${b?.constructor?.name})`;
  }
  if (tag(a) !== tag(b)) return `${path}: ${tag(a)} vs ${tag(b)}`;

  if (a instanceof Date) {
    if (!Object.is(a.getTime(), b.getTime())) {
      return `${path}: Date ${a.getTime()} !== ${b.getTime()}`;
    }
  } else if (a instanceof RegExp) {
    if (a.source !== b.source || a.flags !== b.flags || a.lastIndex !== b.lastIndex) {
      return `${path}: RegExp ${a} !== ${b}`;
    }
  } else if (
    a instanceof Boolean || a instanceof Number || a instanceof String ||
    a instanceof BigInt
  ) {
    if (!Object.is(a.valueOf(), b.valueOf())) {
      return `${path}: boxed ${fmt(a.valueOf())} !== ${fmt(b.valueOf())}`;
    }
    if (a instanceof String) {
      // String objects have indexed own properties; compare only extra ones below.
    }
  } else if (isTypedArray(a)) {
    if (a.length !== b.length) return `${path}: length ${a.length} !== ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(a[i], b[i])) return `${path}[${i}]: ${fmt(a[i])} !== ${fmt(b[i])}`;
    }
    return null;
  } else if (a instanceof ArrayBuffer) {
    if (a.byteLength !== b.byteLength) {
      return `${path}: byteLength ${a.byteLength} !== ${b.byteLength}`;
    }
    if (a.resizable !== b.resizable || a.maxByteLength !== b.maxByteLength) {
      return `${path}: resizable/maxByteLength differ`;
    }
    const x = new Uint8Array(a), y = new Uint8Array(b);
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) return `${path}: byte ${i} ${x[i]} !== ${y[i]}`;
    }
    return null;
  } else if (a instanceof DataView) {
    if (a.byteLength !== b.byteLength) {
      return `${path}: byteLength ${a.byteLength} !== ${b.byteLength}`;
    }
    for (let i = 0; i < a.byteLength; i++) {
      if (a.getUint8(i) !== b.getUint8(i)) return `${path}: byte ${i} differs`;
    }
    return null;
  } else if (a instanceof Map) {
    if (a.size !== b.size) return `${path}: Map size ${a.size} !== ${b.size}`;
    const ea = [...a], eb = [...b];
    for (let i = 0; i < ea.length; i++) {
      const r = eq(ea[i][0], eb[i][0], seen, `${path}<key ${i}>`) ??
        eq(ea[i][1], eb[i][1], seen, `${path}<value ${i}>`);
      if (r) return r;
    }
  } else if (a instanceof Set) {
    if (a.size !== b.size) return `${path}: Set size ${a.size} !== ${b.size}`;
    const ea = [...a], eb = [...b];
    for (let i = 0; i < ea.length; i++) {
      const r = eq(ea[i], eb[i], seen, `${path}<${i}>`);
      if (r) return r;
    }
  } else if (a instanceof Error) {
    for (const k of ["name", "message"]) {
      if (a[k] !== b[k]) return `${path}.${k}: ${fmt(a[k])} !== ${fmt(b[k])}`;
    }
    if (Object.hasOwn(a, "cause") !== Object.hasOwn(b, "cause")) {
      return `${path}.cause: presence differs`;
    }
    if (Object.hasOwn(a, "cause")) {
      const r = eq(a.cause, b.cause, seen, `${path}.cause`);
      if (r) return r;
    }
    // Own enumerable properties are compared below (stack is not enumerable).
  }

  if (Array.isArray(a) && a.length !== b.length) {
    return `${path}: length ${a.length} !== ${b.length}`;
  }
  // Own enumerable string keys (array indices included, so holes matter).
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    return `${path}: keys ${fmt(ka)} !== ${fmt(kb)}`;
  }
  for (const k of ka) {
    if (a instanceof String && /^\d+$/.test(k)) continue;
    const r = eq(a[k], b[k], seen, `${path}.${k}`);
    if (r) return r;
  }
  return null;
}

export function assertEquals(actual, expected, msg) {
  const diff = eq(actual, expected, new Map(), "$");
  if (diff !== null) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values are not equal (${diff})\n` +
        `  actual:   ${fmt(actual)}\n  expected: ${fmt(expected)}`,
    );
  }
}

export function assertNotEquals(actual, expected, msg) {
  if (equal(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected values to differ, both are ${fmt(actual)}`,
    );
  }
}

/** Object.is identity. */
export function assertStrictEquals(actual, expected, msg) {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}not identical\n  actual:   ${fmt(actual)}\n  expected: ${fmt(expected)}`,
    );
  }
}

export function assertNotStrictEquals(actual, expected, msg) {
  if (Object.is(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected different references/values, got ${fmt(actual)} twice`);
  }
}

export function assert(cond, msg = "assertion failed") {
  if (!cond) throw new AssertionError(msg);
}

export function assertFalse(cond, msg = "expected falsy") {
  if (cond) throw new AssertionError(msg);
}

export function assertMatch(str, re, msg) {
  if (typeof str !== "string" || !re.test(str)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}${fmt(str)} does not match ${re}`);
  }
}

export function assertInstanceOf(v, C, msg) {
  if (!(v instanceof C)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected instance of ${C.name}, got ${fmt(v)} (${v?.constructor?.name})`,
    );
  }
}

/**
 * `errorClass` is either a constructor (the error's prototype must be exactly
 * `errorClass.prototype`: a subclass does not count) or a string, meaning an
 * `Error` whose `name` is that string (used for classes such as Deno's
 * `BadResource` that are not globals).
 */
function checkError(e, errorClass, message, msg) {
  const pre = msg ? msg + ": " : "";
  if (!(e instanceof Error)) {
    throw new AssertionError(`${pre}expected an Error, got ${fmt(e)}`);
  }
  if (typeof errorClass === "string") {
    if (e.name !== errorClass) {
      throw new AssertionError(
        `${pre}expected error named ${errorClass}, got ${e.name}: ${e.message}`,
      );
    }
  } else if (errorClass !== undefined && Object.getPrototypeOf(e) !== errorClass.prototype) {
    throw new AssertionError(
      `${pre}expected error class ${errorClass.name}, got ${e.constructor?.name}: ${e.message}`,
    );
  }
  if (message !== undefined) {
    const ok = message instanceof RegExp ? message.test(e.message) : e.message === message;
    if (!ok) {
      throw new AssertionError(
        `${pre}error message mismatch\n  actual:   ${JSON.stringify(e.message)}\n  expected: ${
          message instanceof RegExp ? message : JSON.stringify(message)
        }`,
      );
    }
  }
  return e;
}

/** `fn` must throw synchronously. */
export function assertThrows(fn, errorClass, message, msg) {
  let threw = false, err;
  try {
    const r = fn();
    if (r && typeof r.then === "function") {
      // Avoid an unhandled rejection if it was a promise.
      Promise.resolve(r).catch(() => {});
    }
  } catch (e) {
    threw = true;
    err = e;
  }
  if (!threw) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected function to throw synchronously`);
  }
  return checkError(err, errorClass, message, msg);
}

/**
 * `fn` must return a promise that rejects (a synchronous throw is a failure:
 * real Deno's async methods never throw synchronously).
 */
export async function assertRejects(fn, errorClass, message, msg) {
  let p;
  try {
    p = fn();
  } catch (e) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected a rejected promise, but the call threw synchronously: ${e?.name}: ${e?.message}`,
    );
  }
  if (!p || typeof p.then !== "function") {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected a promise, got ${fmt(p)}`);
  }
  let rejected = false, err;
  try {
    await p;
  } catch (e) {
    rejected = true;
    err = e;
  }
  if (!rejected) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected promise to reject`);
  }
  return checkError(err, errorClass, message, msg);
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));
