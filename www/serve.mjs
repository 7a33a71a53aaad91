// Serves www/ and the built package on 127.0.0.1. Usage: node www/serve.mjs [port]
//
// A development server, but hostile requests cannot hurt it (tests/www/serve.test.mjs):
// - only GET and HEAD (405 otherwise), only origin-form targets "/path" (absolute-form,
//   "//host" and "*" get 400);
// - only loopback Host names (localhost, 127.0.0.1, [::1]; more with the allowHosts option):
//   other names get 421, so a DNS-rebinding page cannot read it;
// - each path segment is decoded on its own: a malformed escape gets 400 (and never throws out
//   of the handler), and a segment that decodes to ".", "..", or contains "/", "\" or a control
//   character (NUL included) gets 400;
// - a file is served only if its real path (symlinks resolved) is inside the real path of its
//   root (www/ or pkg/); anything else is 404;
// - a folder redirects to itself with a slash, built from the decoded segments, so the
//   Location always starts with a single "/" (no open redirect to "//host");
// - any other failure answers 500 and the server keeps serving.
import { createServer } from "node:http";
import { readFile, realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// [first path segments, folder]: the first route whose folder has the file wins.
const ROUTES = [[["pkg"], join(root, "pkg")], [[], join(root, "www")]];
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

class Refused extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** "/a/b%20c/?q" -> { segments: ["a", "b c"], slash: true }; throws Refused(400). */
function parseTarget(target) {
  if (typeof target !== "string" || target[0] !== "/" || target.startsWith("//")) {
    throw new Refused(400, "only origin-form request targets (/path) are accepted");
  }
  const pathPart = target.split(/[?#]/, 1)[0];
  const segments = [];
  for (const raw of pathPart.split("/").slice(1)) {
    let part;
    try {
      part = decodeURIComponent(raw);
    } catch {
      throw new Refused(400, "malformed percent-escape in the path");
    }
    if (part === "." || part === ".." || /[/\\\x00-\x1f\x7f]/.test(part)) {
      throw new Refused(400, "dot segments, slashes, backslashes and control characters are not accepted in a path segment");
    }
    if (part !== "") segments.push(part);
  }
  return { segments, slash: pathPart.endsWith("/") };
}

const inside = (dir, file) => file === dir || file.startsWith(dir + sep);

/** The file to serve for these segments under `dir`, or null; { file, index } */
async function resolveIn(dir, rest) {
  const base = await realpath(dir).catch(() => null);
  if (base === null) return null;
  let candidate = join(base, ...rest);
  if (!inside(base, candidate)) return null;
  let index = false;
  if ((await stat(candidate).catch(() => null))?.isDirectory()) {
    candidate = join(candidate, "index.html");
    index = true;
  }
  const real = await realpath(candidate).catch(() => null);
  if (real === null || !inside(base, real)) return null; // missing, or a symlink out of the root
  if (!(await stat(real).catch(() => null))?.isFile()) return null;
  return { file: real, index };
}

async function resolve(segments) {
  for (const [prefix, dir] of ROUTES) {
    if (!prefix.every((p, i) => segments[i] === p)) continue;
    const found = await resolveIn(dir, segments.slice(prefix.length));
    if (found) return found;
  }
  return null;
}

function hostAllowed(value, allowed) {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/.exec(value ?? "");
  return m !== null && allowed.has(m[1].toLowerCase().replace(/\.$/, ""));
}

/**
 * Starts the server on 127.0.0.1 (port 0: any free one) and resolves with the http.Server.
 * Options: allowHosts, extra Host names to accept besides the loopback ones.
 */
export function startServer(port = 0, { allowHosts = [] } = {}) {
  const allowed = new Set([...LOOPBACK_HOSTS, ...allowHosts.map((h) => h.toLowerCase())]);
  const server = createServer(async (req, res) => {
    const plain = (status, text, headers = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...headers });
      res.end(req.method === "HEAD" ? undefined : `${text}\n`);
    };
    try {
      if (!hostAllowed(req.headers.host, allowed)) {
        return plain(req.headers.host === undefined ? 400 : 421, "unknown Host: this server only answers to localhost / 127.0.0.1");
      }
      if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "only GET and HEAD", { allow: "GET, HEAD" });
      const { segments, slash } = parseTarget(req.url);
      const found = await resolve(segments);
      if (found === null) return plain(404, "not found");
      if (found.index && !slash) {
        // /demo -> /demo/, so the page's relative URLs resolve inside its folder.
        res.writeHead(301, { location: `/${segments.map(encodeURIComponent).join("/")}/` }).end();
        return;
      }
      const body = await readFile(found.file);
      res.writeHead(200, {
        "content-type": TYPES[extname(found.file)] ?? "application/octet-stream",
        "content-length": body.length,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      if (e instanceof Refused) return plain(e.status, e.message);
      console.error("www/serve.mjs:", e);
      plain(500, "internal error");
    }
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(Number(process.argv[2] ?? 8000));
  console.log(`webkv www (demo, bundled demo, explorer, playground): http://127.0.0.1:${server.address().port}/`);
  console.log(`KV explorer, on the default database: http://127.0.0.1:${server.address().port}/explorer/`);
}
