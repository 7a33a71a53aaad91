// How the explorer shows keys and values, and reads them back from text.
//
// Key text: the parts of a key separated by commas, optionally in brackets:
//   "users", 42, 7n, true, x"0aff"
// strings are JSON strings, numbers are decimal (also NaN, Infinity,
// -Infinity, -0), bigints end in n, booleans are true/false and Uint8Array
// parts are x"hex".
import { KvU64 } from "/pkg/browser.js";
import { bytesToHex, fromTyped, hexToBytes, toTyped } from "./typed-json.js";

// ------------------------------------------------------------------ keys

export function formatNumber(n) {
  return Object.is(n, -0) ? "-0" : String(n);
}

/** One key part as key text. */
export function formatPart(part) {
  switch (typeof part) {
    case "string":
      return JSON.stringify(part);
    case "number":
      return formatNumber(part);
    case "bigint":
      return `${part}n`;
    case "boolean":
      return String(part);
    default:
      if (part instanceof Uint8Array) return `x"${bytesToHex(part)}"`;
      return String(part);
  }
}

/** A whole key as key text, in brackets. */
export function formatKey(key) {
  return `[${key.map(formatPart).join(", ")}]`;
}

/** Reads key text (see the top of this file); throws a SyntaxError naming the position. */
export function parseKey(text) {
  const source = String(text);
  let i = 0;
  const parts = [];
  const error = (what) => new SyntaxError(`key: ${what} at character ${i + 1}`);
  const skipSpace = () => {
    while (i < source.length && /\s/.test(source[i])) i++;
  };
  skipSpace();
  const bracketed = source[i] === "[";
  if (bracketed) i++;
  skipSpace();
  const closing = () => (bracketed ? source[i] === "]" : i >= source.length);
  if (!closing()) {
    for (;;) {
      skipSpace();
      parts.push(readPart());
      skipSpace();
      if (source[i] === ",") {
        i++;
        skipSpace();
        if (closing()) break; // a trailing comma
        continue;
      }
      break;
    }
  }
  skipSpace();
  if (bracketed) {
    if (source[i] !== "]") throw error(`expected "," or "]"`);
    i++;
    skipSpace();
  }
  if (i < source.length) throw error(`unexpected ${JSON.stringify(source[i])}`);
  return parts;

  function readPart() {
    const rest = source.slice(i);
    let m;
    if (rest[0] === '"') {
      m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
      if (!m) throw error("unterminated string");
      i += m[0].length;
      try {
        return JSON.parse(m[0]);
      } catch {
        throw error("bad escape in string");
      }
    }
    if ((m = /^x"([0-9a-fA-F\s]*)"/.exec(rest))) {
      i += m[0].length;
      return hexToBytes(m[1]);
    }
    if ((m = /^(-?)(NaN|Infinity)\b/.exec(rest))) {
      i += m[0].length;
      if (m[2] === "NaN") return NaN;
      return m[1] ? -Infinity : Infinity;
    }
    if ((m = /^(true|false)\b/.exec(rest))) {
      i += m[0].length;
      return m[1] === "true";
    }
    if ((m = /^-?\d+n\b/.exec(rest))) {
      i += m[0].length;
      return BigInt(m[0].slice(0, -1));
    }
    if ((m = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])/.exec(rest))) {
      i += m[0].length;
      return Number(m[0]);
    }
    throw error(`expected a key part (a "string", a number, 12n, true/false or x"hex")`);
  }
}

/** Whether two key parts are the same part (as the key codec sees them). */
export function samePart(a, b) {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((byte, i) => byte === b[i]);
  }
  return Object.is(a, b);
}

/** Whether `prefix` is a prefix of (or equal to) `key`. */
export function hasPrefix(key, prefix) {
  return prefix.length <= key.length && prefix.every((part, i) => samePart(part, key[i]));
}

// ---------------------------------------------------------------- values

/** The type name the explorer shows for a value. */
export function typeName(value) {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  if (value instanceof KvU64) return "KvU64";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return "Uint8Array";
  if (value instanceof Date) return "Date";
  if (value instanceof Map) return "Map";
  if (value instanceof Set) return "Set";
  if (value instanceof RegExp) return "RegExp";
  if (value instanceof Error) return value.name || "Error";
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.constructor?.name ?? "ArrayBuffer";
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (tag !== "Object") return tag;
  return "object";
}

function formatString(s) {
  return JSON.stringify(s);
}

function hexGroups(bytes, max) {
  const shown = bytes.length > max ? bytes.subarray(0, max) : bytes;
  let out = "";
  for (let i = 0; i < shown.length; i++) out += (i ? " " : "") + (shown[i] < 16 ? "0" : "") + shown[i].toString(16);
  return bytes.length > max ? `${out} …` : out;
}

/**
 * A JS-like text for any KV value. `pretty` indents objects over several
 * lines; `limit` stops early (with "…") once the text is longer, so a
 * preview of a huge value costs little.
 */
export function inspect(value, { pretty = false, limit = Infinity } = {}) {
  const out = [];
  let length = 0;
  const seen = new Set();
  const push = (text) => {
    out.push(text);
    length += text.length;
  };
  const full = () => length > limit;

  function bytesText(bytes) {
    return hexGroups(bytes, Number.isFinite(limit) ? Math.max(8, Math.ceil(limit / 3)) : 1 << 30);
  }

  function walk(v, indent) {
    if (full()) return;
    switch (typeof v) {
      case "string":
        return push(formatString(Number.isFinite(limit) && v.length > limit ? v.slice(0, limit) + "…" : v));
      case "number":
        return push(formatNumber(v));
      case "bigint":
        return push(`${v}n`);
      case "boolean":
        return push(String(v));
      case "undefined":
        return push("undefined");
      case "object":
        break;
      default:
        return push(String(v));
    }
    if (v === null) return push("null");
    if (v instanceof KvU64) return push(`KvU64(${v.value})`);
    if (seen.has(v)) return push("[Circular]");
    const type = typeName(v);
    if (type === "Uint8Array") return push(`Uint8Array(${v.length}) [${bytesText(v)}]`);
    if (v instanceof Date) return push(Number.isNaN(v.getTime()) ? "Invalid Date" : `Date(${v.toISOString()})`);
    if (v instanceof RegExp) return push(String(v));
    if (v instanceof Error) return push(`${v.name}: ${v.message}`);
    if (v instanceof ArrayBuffer) return push(`ArrayBuffer(${v.byteLength}) [${bytesText(new Uint8Array(v))}]`);
    if (v instanceof DataView) return push(`DataView(${v.byteLength}) [${bytesText(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}]`);
    if (ArrayBuffer.isView(v)) return push(`${type}(${v.length}) [${Array.from(v, (x) => (typeof x === "bigint" ? `${x}n` : formatNumber(x))).join(", ")}]`);
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    if (tag === "String" || tag === "Number" || tag === "Boolean" || tag === "BigInt") {
      push(`[${tag}: `);
      walk(v.valueOf(), indent);
      return push("]");
    }
    seen.add(v);
    try {
      if (v instanceof Map) {
        items(`Map(${v.size}) {`, "}", [...v], ([k, x], ind) => {
          walk(k, ind);
          push(" => ");
          walk(x, ind);
        }, indent);
      } else if (v instanceof Set) {
        items(`Set(${v.size}) {`, "}", [...v], (x, ind) => walk(x, ind), indent);
      } else if (Array.isArray(v)) {
        const list = [];
        for (let i = 0; i < v.length; i++) list.push(i in v ? { value: v[i] } : { hole: true });
        items("[", "]", list, (x, ind) => (x.hole ? push("<empty>") : walk(x.value, ind)), indent);
      } else {
        items("{", "}", Object.keys(v), (name, ind) => {
          push(/^[A-Za-z_$][\w$]*$/.test(name) ? name : formatString(name));
          push(": ");
          walk(v[name], ind);
        }, indent);
      }
    } finally {
      seen.delete(v);
    }
  }

  function items(open, close, list, each, indent) {
    if (list.length === 0) return push(open.endsWith("{") && open !== "{" ? `${open}}` : open + close);
    push(open);
    const inner = indent + "  ";
    list.forEach((item, i) => {
      if (full()) return;
      if (pretty) push(`\n${inner}`);
      else push(i === 0 && open !== "[" ? " " : "");
      each(item, inner);
      if (i < list.length - 1) push(pretty ? "," : ", ");
    });
    if (pretty) push(`\n${indent}${close}`);
    else push(open === "[" ? close : ` ${close}`);
  }

  walk(value, "");
  const text = out.join("");
  return full() ? text.slice(0, limit) + " …" : text;
}

// -------------------------------------------------------- the value form

/** The types of the value form, with a hint on the text each expects. */
export const FORM_TYPES = {
  string: "any text, stored as is",
  number: "a number: 3.14, -2e9, NaN, Infinity, -0",
  bigint: "an integer, with or without the n: 123n",
  boolean: "true or false",
  null: "no text needed",
  undefined: "no text needed",
  json: "JSON: an object or array, e.g. {\"name\": \"Ada\", \"tags\": [1, 2]}",
  Map: "JSON array of [key, value] pairs: [[\"a\", 1], [\"b\", 2]]",
  Set: "JSON array of members: [1, 2, \"three\"]",
  Date: "an ISO date: 2024-05-01T12:00:00Z (or any text Date understands)",
  Uint8Array: "hex bytes: 00 ff 10 (spaces optional)",
  KvU64: "an unsigned 64-bit integer: 0 to 18446744073709551615",
  typed: "typed JSON, the export form: keeps nested Dates, bigints, Maps, … e.g. {\"when\": {\"$date\": \"2024-05-01T00:00:00.000Z\"}}",
};

/**
 * JSON text for the value form: indented, but an object or array whose
 * one-line form is short stays on one line (so {"$date": "..."} does).
 */
export function prettyJson(value, indent = "") {
  const flat = flatJson(value);
  if (value === null || typeof value !== "object" || flat.length + indent.length <= 72) return flat;
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    return `[\n${value.map((item) => inner + prettyJson(item, inner)).join(",\n")}\n${indent}]`;
  }
  const names = Object.keys(value);
  return `{\n${names.map((name) => `${inner}${JSON.stringify(name)}: ${prettyJson(value[name], inner)}`).join(",\n")}\n${indent}}`;
}

function flatJson(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(flatJson).join(", ")}]`;
  return `{${Object.keys(value).map((name) => `${JSON.stringify(name)}: ${flatJson(value[name])}`).join(", ")}}`;
}

/** Whether `value` survives JSON.stringify/JSON.parse unchanged. */
export function isPlainJson(value, seen = new Set()) {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== "object" || seen.has(value)) return false;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i], seen)) return false;
      return Object.keys(value).length === value.length;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return false;
    return Object.keys(value).every((name) => isPlainJson(value[name], seen));
  } finally {
    seen.delete(value);
  }
}

/** The form type and text that show `value` in the value form without losing anything. */
export function toForm(value) {
  const type = typeName(value);
  switch (type) {
    case "string":
      return { type, text: value };
    case "number":
      return { type, text: formatNumber(value) };
    case "bigint":
      return { type, text: `${value}n` };
    case "boolean":
      return { type, text: String(value) };
    case "null":
    case "undefined":
      return { type, text: "" };
    case "KvU64":
      return { type, text: String(value.value) };
    case "Uint8Array":
      return { type, text: hexGroups(value, 1 << 30) };
    case "Date":
      if (!Number.isNaN(value.getTime())) return { type, text: value.toISOString() };
      break;
    case "Map":
      if ([...value].every(([k, v]) => isPlainJson(k) && isPlainJson(v))) return { type, text: prettyJson([...value]) };
      break;
    case "Set":
      if ([...value].every((v) => isPlainJson(v))) return { type, text: prettyJson([...value]) };
      break;
    case "object":
    case "array":
      if (isPlainJson(value)) return { type: "json", text: prettyJson(value) };
      break;
  }
  return { type: "typed", text: prettyJson(toTyped(value)) };
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`${what}: ${err.message}`);
  }
}

/** The value that the value form's `type` and `text` describe; throws a SyntaxError saying what is wrong. */
export function parseForm(type, text) {
  const t = String(text).trim();
  switch (type) {
    case "string":
      return String(text);
    case "number": {
      const specials = { NaN, Infinity, "+Infinity": Infinity, "-Infinity": -Infinity, "-0": -0 };
      if (Object.hasOwn(specials, t)) return specials[t];
      if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?0[xob][0-9a-f]+$/i.test(t)) {
        throw new SyntaxError(`number: ${JSON.stringify(t)} is not a number`);
      }
      return Number(t);
    }
    case "bigint":
      if (!/^[+-]?\d+n?$/.test(t)) throw new SyntaxError(`bigint: ${JSON.stringify(t)} is not an integer (e.g. 123n)`);
      return BigInt(t.replace(/n$/, ""));
    case "boolean":
      if (t !== "true" && t !== "false") throw new SyntaxError(`boolean: type true or false`);
      return t === "true";
    case "null":
      return null;
    case "undefined":
      return undefined;
    case "json": {
      const value = parseJson(t, "JSON");
      if (value === null || typeof value !== "object") throw new SyntaxError("JSON: use an object or array here (pick another type for a plain value)");
      return value;
    }
    case "Map": {
      const pairs = parseJson(t || "[]", "Map");
      if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && p.length === 2)) {
        throw new SyntaxError("Map: write a JSON array of [key, value] pairs");
      }
      return new Map(pairs);
    }
    case "Set": {
      const members = parseJson(t || "[]", "Set");
      if (!Array.isArray(members)) throw new SyntaxError("Set: write a JSON array of members");
      return new Set(members);
    }
    case "Date": {
      const date = /^-?\d+$/.test(t) ? new Date(Number(t)) : new Date(t);
      if (Number.isNaN(date.getTime())) throw new SyntaxError(`Date: ${JSON.stringify(t)} is not a date (e.g. 2024-05-01T12:00:00Z)`);
      return date;
    }
    case "Uint8Array":
      try {
        return hexToBytes(t);
      } catch (err) {
        throw new SyntaxError(`Uint8Array: ${err.message}`);
      }
    case "KvU64": {
      if (!/^\d+n?$/.test(t)) throw new SyntaxError("KvU64: an unsigned integer, 0 to 18446744073709551615");
      const n = BigInt(t.replace(/n$/, ""));
      if (n > 0xffffffffffffffffn) throw new SyntaxError("KvU64: at most 18446744073709551615");
      return new KvU64(n);
    }
    case "typed":
      try {
        return fromTyped(parseJson(t, "typed JSON"));
      } catch (err) {
        throw new SyntaxError(err.message.startsWith("typed JSON") ? err.message : `typed JSON: ${err.message}`);
      }
    default:
      throw new SyntaxError(`unknown type ${type}`);
  }
}
