// The part of the `Deno` global the conformance files use, for a browser page. Import this
// module before any test file: it installs globalThis.Deno with
// - Deno.test: collects tests (every form Deno accepts) into `registered`; the page runs them;
// - Deno.env.get: the variables the runner passes (KV_TARGET=webkv-idb), nothing else;
// - Deno.inspect: Deno's formatting of the values the suite prints (assertion messages and the
//   "KvU64 prints as Deno prints it" test), including Deno's customInspect protocol.
// Nothing else: Deno.openKv, Deno.KvU64 and Deno.errors are only used by the deno targets
// (IS_DENO in target.js), so a test that reached for them here would fail loudly, as it should.

/** [{ name, fn, ignore, only, file }] in registration order. */
export const registered = [];
let currentFile = null;
/** The harness sets the file being imported, so each test knows where it came from. */
export function setCurrentFile(file) {
  currentFile = file;
}

function test(a, b, c) {
  let def;
  if (typeof a === "string") {
    // Deno.test(name, fn) | Deno.test(name, options, fn)
    def = typeof b === "function" ? { name: a, fn: b } : { ...b, name: a, fn: c };
  } else if (typeof a === "function") {
    // Deno.test(fn) | Deno.test(fn) with a named function
    def = { name: a.name, fn: a };
  } else if (a !== null && typeof a === "object") {
    // Deno.test({ name, fn, ... }) | Deno.test(options, fn)
    def = typeof b === "function" ? { ...a, fn: b, name: a.name ?? b.name } : { ...a };
  } else {
    throw new TypeError("Deno.test: expected a name, a function or a test definition");
  }
  if (typeof def.fn !== "function") throw new TypeError(`Deno.test ${JSON.stringify(def.name)}: missing fn`);
  if (!def.name) throw new TypeError("Deno.test: the test needs a name");
  registered.push({ name: def.name, fn: def.fn, ignore: !!def.ignore, only: !!def.only, file: currentFile });
}

const env = new Map();
/** The harness passes the environment the runner chose. */
export function setEnv(vars) {
  env.clear();
  for (const [k, v] of Object.entries(vars)) env.set(k, String(v));
}

// ---- Deno.inspect ---------------------------------------------------------------------------
// Follows Deno's console (itself Node's util.inspect): same quoting, braces, `Class {}` names,
// depth cut-off, iterableLimit, strAbbreviateSize, `<ref *1>`/`[Circular *1]`, 80-column breaking
// with the innermost 3 levels kept on one line. Known differences (message formatting only):
// long arrays are not grouped into columns, Promise state is not visible from JS, and errors
// print their stack as the browser has it. tests/conformance/chromium/inspect_check.js compares
// this with the real Deno.inspect.

const customInspect = Symbol.for("Deno.customInspect");
const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTO, Symbol.toStringTag).get;
const IDENT = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

function quote(s) {
  const q = !s.includes('"') ? '"' : !s.includes("'") ? "'" : !s.includes("`") ? "`" : '"';
  // deno-lint-ignore no-control-regex
  const esc = s.replace(/[\\\x00-\x1f\x7f]/g, (ch) => {
    const named = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\v": "\\v" };
    return named[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return q + (q === '"' ? esc.replaceAll('"', '\\"') : esc) + q;
}

function formatString(s, ctx) {
  if (s.length > ctx.strAbbreviateSize) {
    return `${quote(s.slice(0, ctx.strAbbreviateSize))}... ${s.length - ctx.strAbbreviateSize} more characters`;
  }
  return quote(s);
}

function formatKey(k) {
  return IDENT.test(k) ? k : quote(k);
}

function formatPrimitive(v, ctx) {
  switch (typeof v) {
    case "string":
      return formatString(v, ctx);
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "bigint":
      return `${v}n`;
    case "symbol":
      return String(v);
    case "undefined":
      return "undefined";
    default:
      return String(v); // boolean, null
  }
}

function formatFunction(f) {
  const src = Function.prototype.toString.call(f);
  if (src.startsWith("class")) return f.name ? `[class ${f.name}]` : "[class (anonymous)]";
  const kind = Object.prototype.toString.call(f).slice(8, -1); // Function, AsyncFunction, ...
  return f.name ? `[${kind}: ${f.name}]` : `[${kind} (anonymous)]`;
}

function className(v) {
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return null;
  const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
  return typeof ctor === "function" && ctor.name ? ctor.name : "Object";
}

function ownEntries(v, ctx, depth, skipIndices) {
  const out = [];
  for (const k of Object.keys(v)) {
    if (skipIndices && /^(0|[1-9]\d*)$/.test(k)) continue;
    out.push(`${formatKey(k)}: ${formatValue(v[k], ctx, depth + 1)}`);
  }
  for (const s of Object.getOwnPropertySymbols(v)) {
    if (Object.getOwnPropertyDescriptor(v, s).enumerable) {
      out.push(`${String(s)}: ${formatValue(v[s], ctx, depth + 1)}`);
    }
  }
  return out;
}

function limited(items, ctx, fmt) {
  const out = [];
  let i = 0;
  for (const item of items) {
    if (i++ >= ctx.iterableLimit) break;
    out.push(fmt(item));
  }
  return out;
}

function reduceToSingleString(ctx, output, base, braces, depth) {
  // Node/Deno: the innermost `compact` (3) levels stay on one line if they fit in 80 columns.
  if (ctx.currentDepth - depth < 3) {
    const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
    let total = output.length + start;
    const fits = total + output.length <= 80 && output.every((o) => (total += o.length) <= 80);
    const joined = output.join(", ");
    if (fits && !joined.includes("\n") && !base.includes("\n")) {
      return `${base ? `${base} ` : ""}${braces[0]} ${joined} ${braces[1]}`;
    }
  }
  const ind = `\n${" ".repeat(ctx.indentationLvl)}`;
  return `${base ? `${base} ` : ""}${braces[0]}${ind}  ${output.join(`,${ind}  `)}${ind}${braces[1]}`;
}

function formatValue(v, ctx, depth) {
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return formatPrimitive(v, ctx);
  if (typeof v[customInspect] === "function") {
    return String(v[customInspect]((x, o) => inspect(x, { ...ctx.options, ...o }), ctx.options));
  }
  if (typeof v === "function") return formatFunction(v);
  if (ctx.seen.includes(v)) {
    if (!ctx.circular.has(v)) ctx.circular.set(v, ctx.circular.size + 1);
    return `[Circular *${ctx.circular.get(v)}]`;
  }
  const name = className(v);
  const prefix = name === null ? "[Object: null prototype]" : name;
  let braces = ["{", "}"];
  let base = "";
  let empty = "{}";
  let entries;
  const children = () => {
    const outer = ctx.currentDepth;
    ctx.seen.push(v);
    ctx.currentDepth = depth;
    ctx.indentationLvl += 2;
    try {
      const out = entries();
      if (out.length === 0) ctx.currentDepth = outer; // an empty value does not count as a level
      return out;
    } finally {
      ctx.indentationLvl -= 2;
      ctx.seen.pop();
    }
  };

  if (Array.isArray(v)) {
    braces = [name === "Array" ? "[" : `${prefix}(${v.length}) [`, "]"];
    empty = `${braces[0]}]`;
    entries = () => {
      const out = [];
      let holes = 0;
      const n = Math.min(v.length, ctx.iterableLimit);
      for (let i = 0; i < n; i++) {
        if (!Object.hasOwn(v, i)) {
          holes++;
          continue;
        }
        if (holes) out.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`), (holes = 0);
        out.push(formatValue(v[i], ctx, depth + 1));
      }
      if (holes) out.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
      if (v.length > n) out.push(`... ${v.length - n} more item${v.length - n > 1 ? "s" : ""}`);
      return [...out, ...ownEntries(v, ctx, depth, true)];
    };
  } else if (Object.prototype.isPrototypeOf.call(TYPED_ARRAY_PROTO, v)) {
    braces = [`${typedArrayTag.call(v)}(${v.length}) [`, "]"];
    empty = `${braces[0]}]`;
    entries = () => {
      const out = limited(v, ctx, (x) => formatPrimitive(x, ctx));
      if (v.length > ctx.iterableLimit) out.push(`... ${v.length - ctx.iterableLimit} more items`);
      return out;
    };
  } else if (v instanceof Map) {
    braces = [`${prefix}(${v.size}) {`, "}"];
    empty = `${braces[0]}}`;
    entries = () =>
      limited(v, ctx, ([k, x]) => `${formatValue(k, ctx, depth + 1)} => ${formatValue(x, ctx, depth + 1)}`);
  } else if (v instanceof Set) {
    braces = [`${prefix}(${v.size}) {`, "}"];
    empty = `${braces[0]}}`;
    entries = () => limited(v, ctx, (x) => formatValue(x, ctx, depth + 1));
  } else if (v instanceof WeakMap || v instanceof WeakSet) {
    return `${prefix} { <items unknown> }`;
  } else if (v instanceof Promise) {
    return `${prefix} { <unknown> }`; // Deno shows the state; JS cannot see it
  } else if (v instanceof Date) {
    return Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
  } else if (v instanceof RegExp) {
    return RegExp.prototype.toString.call(v);
  } else if (v instanceof Error) {
    base = (v.stack ?? `${v.name}: ${v.message}`).replaceAll("\n", `\n${" ".repeat(ctx.indentationLvl)}`);
    entries = () => {
      const out = ownEntries(v, ctx, depth, false);
      if (Object.hasOwn(v, "cause")) out.push(`[cause]: ${formatValue(v.cause, ctx, depth + 1)}`);
      return out;
    };
    empty = base;
  } else if (v instanceof ArrayBuffer) {
    const bytes = [...new Uint8Array(v).slice(0, ctx.iterableLimit)].map((b) => b.toString(16).padStart(2, "0"));
    const more = v.byteLength > ctx.iterableLimit ? ` ... ${v.byteLength - ctx.iterableLimit} more bytes` : "";
    return `ArrayBuffer { [Uint8Contents]: <${bytes.join(" ")}${more}>, byteLength: ${v.byteLength} }`;
  } else if (
    v instanceof Boolean || v instanceof Number || v instanceof String || v instanceof BigInt ||
    v instanceof Symbol
  ) {
    const kind = Object.prototype.toString.call(v).slice(8, -1);
    base = `[${kind}: ${formatPrimitive(v.valueOf(), { ...ctx, strAbbreviateSize: Infinity })}]`;
    entries = () => ownEntries(v, ctx, depth, v instanceof String);
    empty = base;
  } else {
    if (name !== "Object") braces = [`${prefix} {`, "}"];
    empty = `${braces[0]}}`;
    entries = () => ownEntries(v, ctx, depth, false);
  }

  if (depth > ctx.depth) return Array.isArray(v) ? "[Array]" : `[${name ?? "Object"}]`;
  const output = children();
  let res = output.length === 0 ? empty : reduceToSingleString(ctx, output, base, braces, depth);
  if (ctx.circular.has(v)) res = `<ref *${ctx.circular.get(v)}> ${res}`;
  return res;
}

/** Deno.inspect for the values the suite prints (see above). */
export function inspect(value, options = {}) {
  const ctx = {
    options,
    depth: options.depth ?? 4,
    iterableLimit: options.iterableLimit ?? 100,
    strAbbreviateSize: options.strAbbreviateSize ?? 10_000,
    seen: [],
    circular: new Map(),
    currentDepth: 0,
    indentationLvl: 0,
  };
  return formatValue(value, ctx, 0);
}

export const Deno = {
  test,
  env: {
    get(key) {
      if (typeof key !== "string") throw new TypeError("Key is not a string");
      return env.get(key);
    },
  },
  inspect,
};

// Installed by the harness (page.js) after it has set the environment; inspect_check.js imports
// this module under real Deno to compare `inspect` with Deno.inspect, so it must not overwrite
// an existing Deno global.
export function install() {
  if (globalThis.Deno !== undefined) throw new Error("a Deno global already exists");
  globalThis.Deno = Deno;
}
