// The KV Connect client's requests over fetch (transport.rs), where Deno's
// http1.js does not serve them.

// A POST with fetch, which follows no redirect (the client follows same-origin ones itself, so that no token
// reaches another origin). A network failure, or no whole answer within
// `timeoutMs` (0: no limit), rejects; any HTTP answer resolves to
// [status, body, location]. `body` is null when the answer is longer than
// `maxBytes`: it is then not read further. `status` is 0 for a redirect that
// the runtime does not reveal (a browser's opaque redirect).
export async function httpPost(url, headers, body, client, maxBytes, timeoutMs) {
  // `body` is a view into wasm memory, which may move before fetch reads
  // it; each request, a redirected one too, gets its own copy.
  const init = { method: "POST", headers, body: body.slice(), redirect: "manual" };
  if (client !== undefined) init.client = client;
  const cancelTimer = timeLimit(init, timeoutMs);
  try {
    const response = await fetch(url, init);
    return [statusOf(response), await readLimited(response, maxBytes), response.headers.get("location")];
  } finally {
    cancelTimer();
  }
}

function timeLimit(init, timeoutMs) {
  if (!(timeoutMs > 0)) return () => {};
  const controller = new AbortController();
  init.signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return () => clearTimeout(timer);
}

function statusOf(response) {
  return response.type === "opaqueredirect" ? 0 : response.status;
}

// A response body of at most `maxBytes`, or null (and the rest cancelled)
// for a longer one: a declared Content-Length over it is refused before any
// of the body is read, and a body without one (or decompressed to more) is
// cut off as soon as it passes the limit.
async function readLimited(response, maxBytes) {
  const declared = response.headers.get("content-length")?.trim();
  if (declared && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    response.body?.cancel().catch(() => {});
    return null;
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      reader.cancel().catch(() => {});
      return null;
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

// Deno's fetch resends a POST whose pooled keep-alive connection closed
// before the answer came, which could apply a commit twice. Deno's commits
// normally go through http1.js; where fetch carries them instead (a proxy
// may be configured), they go through a client that never
// reuses a connection. Other runtimes' fetch offers no such control (see the
// README).
export function createFreshConnectionClient() {
  const create = globalThis.Deno?.createHttpClient;
  return typeof create === "function" ? create({ poolMaxIdlePerHost: 0 }) : undefined;
}

export function closeClient(client) {
  client?.close?.();
}

// A POST whose 200 answer is read as a stream: [200, null, null, reader],
// or [status, body, location, null] for any other answer (body as
// httpPost's). `controller` (the transport's) ends the request and its
// stream when the database closes.
export async function httpPostStream(url, headers, body, maxBytes, controller) {
  const init = { method: "POST", headers, body: body.slice(), redirect: "manual", signal: controller.signal };
  const response = await fetch(url, init);
  if (response.status !== 200 || !response.body) {
    return [statusOf(response), await readLimited(response, maxBytes), response.headers.get("location"), null];
  }
  return [200, null, null, response.body.getReader()];
}

export function createAbortController() {
  return new AbortController();
}

export function abort(controller) {
  controller.abort(new Error("the database is closed"));
}

export async function readChunk(reader) {
  const { done, value } = await reader.read();
  return done ? null : value;
}

export function cancelReader(reader) {
  reader.cancel().catch(() => {});
}
