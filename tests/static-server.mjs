// The static file server the tests and benches serve their pages from, on
// 127.0.0.1 and a free port. (www/serve.mjs is the user-facing server of the
// www pages; this one serves the repository's test pages and pkg/.)
//
//   import { startStaticServer } from "../static-server.mjs";
//   const web = await startStaticServer({ routes: [["/pkg/", pkgDir], ["/", root]] });
//   await page.goto(`${web.origin}/tests/...`);  ...  await web.close();
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";

export const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

/** Headers that make a page cross-origin isolated (SharedArrayBuffer exists there). */
export const CROSS_ORIGIN_ISOLATED = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};

/**
 * Serves files: `routes` maps URL path prefixes to directories (the first
 * prefix that matches decides; a path that leaves its directory is not
 * found), and a directory serves its index.html. Answers carry `headers`
 * and no-store. Every request is logged in `requests` as
 * [status, pathname, content-type or null].
 */
export async function startStaticServer({ routes, headers = {} }) {
  const dirs = routes.map(([prefix, dir]) => [prefix, resolve(dir) + sep]);
  const requests = [];
  const server = createServer(async (req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      requests.push([400, req.url, null]);
      res.writeHead(400, { "content-type": "text/plain" }).end("bad request");
      return;
    }
    try {
      const file = await resolveFile(dirs, pathname);
      if (file === null) {
        requests.push([404, pathname, null]);
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      }
      const type = MIME[extname(file)] ?? "application/octet-stream";
      const body = await readFile(file);
      requests.push([200, pathname, type]);
      res.writeHead(200, { "content-type": type, "cache-control": "no-store", ...headers }).end(body);
    } catch (error) {
      requests.push([500, pathname, null]);
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", done);
  });
  return {
    server,
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections?.();
        server.close(() => done());
      }),
  };
}

async function resolveFile(dirs, pathname) {
  const route = dirs.find(([prefix]) => pathname.startsWith(prefix));
  if (!route) return null;
  const [prefix, dir] = route;
  let file = normalize(join(dir, pathname.slice(prefix.length)));
  if (!(file + sep).startsWith(dir)) return null; // join() has resolved any ".."
  if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, "index.html");
  return (await stat(file).catch(() => null))?.isFile() ? file : null;
}
