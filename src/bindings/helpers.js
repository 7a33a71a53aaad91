// Small JS helpers the wasm bindings import.

const ERROR_CONSTRUCTORS = { Error, TypeError, RangeError };

// Deno's own class where webkv runs inside Deno, so `instanceof` works.
function badResource(message) {
  const DenoBadResource = globalThis.Deno?.errors?.BadResource;
  if (typeof DenoBadResource === "function") return new DenoBadResource(message);
  const error = new Error(message);
  error.name = "BadResource";
  return error;
}

export function makeClassError(className, message) {
  if (className === "BadResource") return badResource(message);
  const ctor = ERROR_CONSTRUCTORS[className] ?? Error;
  return new ctor(message);
}

const objectToString = Object.prototype.toString;
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
).get;

// serde_v8's name for a value's type (value_to_type_str), which Deno puts in
// its argument errors: "expected: array, got: string".
export function typeName(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "undefined": return "undefined";
    case "number": return "Number";
    case "boolean": return "Boolean";
    case "bigint": return "bigint";
    case "symbol": return "symbol";
    case "string": return "string";
    case "function": {
      const tag = objectToString.call(value);
      if (tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]") return "Generator function";
      if (tag === "[object AsyncFunction]") return "Async function";
      return "function";
    }
  }
  const tag = objectToString.call(value);
  if (tag === "[object SharedArrayBuffer]") return "SharedArrayBuffer";
  if (value instanceof DataView) return "DataView";
  const typed = typedArrayTag.call(value);
  if (typed !== undefined) return typed === "Float16Array" ? "TypedArray" : typed;
  if (value instanceof ArrayBuffer) return "ArrayBuffer";
  if (value instanceof WeakSet) return "WeakSet";
  if (value instanceof WeakMap) return "WeakMap";
  if (tag === "[object Set Iterator]") return "Set Iterator";
  if (tag === "[object Map Iterator]") return "Map Iterator";
  if (value instanceof Set) return "Set";
  if (value instanceof Map) return "Map";
  if (value instanceof Promise) return "Promise";
  if (value instanceof RegExp) return "RegExp";
  if (value instanceof Date) return "Date";
  if (Array.isArray(value)) return "array";
  return "unknown";
}

// The bytes a key part made of any ArrayBufferView stands for.
export function viewBytes(value) {
  if (!ArrayBuffer.isView(value)) return undefined;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

// The KV Connect client's transport: a POST with fetch. A network failure
// rejects; any HTTP answer resolves to [status, body, final URL].
export async function httpPost(url, headers, body, client) {
  // `body` is a view into wasm memory, which may move before fetch reads it.
  const init = { method: "POST", headers, body: body.slice() };
  if (client !== undefined) init.client = client;
  const response = await fetch(url, init);
  return [response.status, new Uint8Array(await response.arrayBuffer()), response.url || url];
}

// Deno's fetch resends a POST whose pooled keep-alive connection closed
// before the answer came, which could apply a commit twice. Deno's commits
// normally go through http1.js; where fetch carries them instead (a proxy
// may be configured, or a redirect), they go through a client that never
// reuses a connection. Other runtimes' fetch offers no such control (see the
// README).
export function createFreshConnectionClient() {
  const create = globalThis.Deno?.createHttpClient;
  return typeof create === "function" ? create({ poolMaxIdlePerHost: 0 }) : undefined;
}

export function closeClient(client) {
  client?.close?.();
}

// setTimeout fires at once when asked for more than 2^31 - 1 ms (~24.9
// days), and Deno allows queue delays of 30: longer timers are made of steps.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

// Calls `fire` once `ms` have passed, unless `cancelTimer` stops it first.
// The handle's `id` is the current step's setTimeout.
export function startTimer(ms, fire) {
  const timer = { id: undefined };
  let left = Math.max(0, Number(ms) || 0);
  const step = () => {
    const now = Math.min(left, MAX_TIMEOUT_MS);
    left -= now;
    timer.id = setTimeout(left > 0 ? step : fire, now);
  };
  step();
  return timer;
}

export function cancelTimer(timer) {
  clearTimeout(timer.id);
}

export function sleep(ms) {
  return new Promise((resolve) => startTimer(ms, resolve));
}

export function errorText(error) {
  const cause = error?.cause ? ` (${error.cause?.message ?? error.cause})` : "";
  return `${error?.message ?? String(error)}${cause}`;
}

// A POST whose 200 answer is read as a stream: [200, null, reader], or
// [status, body, null] for any other answer.
export async function httpPostStream(url, headers, body) {
  const response = await fetch(url, { method: "POST", headers, body: body.slice() });
  if (response.status !== 200) return [response.status, new Uint8Array(await response.arrayBuffer()), null];
  return [200, null, response.body.getReader()];
}

export async function readChunk(reader) {
  const { done, value } = await reader.read();
  return done ? null : value;
}

export function cancelReader(reader) {
  reader.cancel().catch(() => {});
}
