// Serves www/ and the built package on 127.0.0.1. Usage: node www/serve.mjs [port]
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const ROUTES = [["/pkg/", join(root, "pkg")], ["/", join(root, "www")]];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

async function resolve(pathname) {
  for (const [prefix, dir] of ROUTES) {
    if (!pathname.startsWith(prefix)) continue;
    let file = normalize(join(dir, pathname.slice(prefix.length)));
    if (!file.startsWith(dir + sep) && file !== dir) return null;
    if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, "index.html");
    if ((await stat(file).catch(() => null))?.isFile()) return file;
  }
  return null;
}

export function startServer(port = 0) {
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, "http://localhost");
    const file = await resolve(decodeURIComponent(pathname));
    if (file?.endsWith(`${sep}index.html`) && !pathname.endsWith("/") && !pathname.endsWith(".html")) {
      // /demo -> /demo/, so the page's relative URLs resolve inside its folder.
      res.writeHead(301, { location: `${pathname}/` }).end();
      return;
    }
    if (file === null) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(await readFile(file));
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(Number(process.argv[2] ?? 8000));
  console.log(`webkv www (demo, bundled demo, explorer, playground): http://127.0.0.1:${server.address().port}/`);
  console.log(`KV explorer, on the default database: http://127.0.0.1:${server.address().port}/explorer/`);
}
