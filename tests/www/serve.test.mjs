// www/serve.mjs, the static server for www/ and pkg/, under hostile requests sent over raw
// sockets: malformed escapes (which used to crash it), path traversal in every spelling,
// symlinks out of the root, absolute-form targets, foreign Host names (DNS rebinding), open
// redirects and methods other than GET/HEAD. Each answer is checked, and the server must keep
// serving afterwards.
//
// The server runs as a copy of www/serve.mjs in a temporary tree (tmp/www/serve.mjs serves
// tmp/www and tmp/pkg, as the real one serves the repository's), so that a secret file next to
// www/ and symlinks pointing out of it can be planted without touching the repository.
//
//   node --test tests/www/serve.test.mjs

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const SECRET = "TOP-SECRET-CONTENT-0451";
let dir;
let server;
let port;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "webkv-serve-"));
  const w = (p, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
  };
  fs.copyFileSync(path.join(here, "../../www/serve.mjs"), path.join(dir, "serve.mjs.tmp"));
  w("www/serve.mjs", fs.readFileSync(path.join(dir, "serve.mjs.tmp")));
  fs.rmSync(path.join(dir, "serve.mjs.tmp"));
  w("www/index.html", "<h1>home</h1>");
  w("www/demo/index.html", "<h1>demo</h1>");
  w("www/a b.js", "export const space = 1;");
  w("pkg/browser.js", "export const pkg = 1;");
  w("secret.txt", SECRET); // next to www/, like package.json is in the repository
  w("outside/secret.txt", SECRET);
  w("wwwx/secret.txt", SECRET); // shares the "www" prefix
  fs.symlinkSync(path.join(dir, "outside"), path.join(dir, "www/escape"));
  fs.symlinkSync(path.join(dir, "secret.txt"), path.join(dir, "www/escape.txt"));
  fs.symlinkSync(path.join(dir, "www/index.html"), path.join(dir, "www/inside.html")); // stays inside: fine
  const { startServer } = await import(pathToFileURL(path.join(dir, "www/serve.mjs")).href);
  server = await startServer(0);
  port = server.address().port;
});

after(() => {
  server?.close();
  server?.closeAllConnections?.();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends one raw request; resolves with { status, headers (raw text), body } or status null. */
function send(requestLine, { host = `127.0.0.1:${port}`, extra = [] } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let text = "";
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const split = text.indexOf("\r\n\r\n");
      resolve({ status: m ? Number(m[1]) : null, head: text.slice(0, split), body: text.slice(split + 4), text });
    };
    const timer = setTimeout(done, 3000);
    s.on("data", (d) => (text += d.toString("latin1")));
    s.on("close", done);
    s.on("error", () => {});
    const hostLine = host === null ? [] : [`Host: ${host}`];
    s.write([requestLine, ...hostLine, ...extra, "Connection: close", "", ""].join("\r\n"));
  });
}

const header = (r, name) => new RegExp(`^${name}: (.*)$`, "im").exec(r.head)?.[1] ?? null;

async function stillServing() {
  const r = await send("GET / HTTP/1.1");
  assert.equal(r.status, 200, "the server still serves after that");
  assert.match(r.body, /home/);
}

test("serves www/ and pkg/, redirects a folder to its slash", async () => {
  assert.match((await send("GET / HTTP/1.1")).body, /home/);
  assert.match((await send("GET /pkg/browser.js HTTP/1.1")).body, /pkg = 1/);
  assert.match((await send("GET /a%20b.js HTTP/1.1")).body, /space/);
  assert.match((await send("GET /inside.html HTTP/1.1")).body, /home/, "a symlink that stays inside is served");
  const r = await send("GET /demo HTTP/1.1");
  assert.equal(r.status, 301);
  assert.equal(header(r, "location"), "/demo/");
  assert.match((await send("GET /demo/ HTTP/1.1")).body, /demo/);
  assert.match((await send("GET /demo/?x=1 HTTP/1.1")).body, /demo/);
  const head = await send("HEAD / HTTP/1.1");
  assert.equal(head.status, 200);
  assert.equal(head.body, "");
});

test("malformed escapes get 400 and the server keeps serving (GET /% used to crash it)", async () => {
  for (const target of ["/%", "/%zz", "/a%", "/%c0%af", "/%ff", "/pkg/%", "/%E0%A4%A"]) {
    const r = await send(`GET ${target} HTTP/1.1`);
    assert.equal(r.status, 400, `${target}: ${r.text.slice(0, 100)}`);
    await stillServing();
  }
});

test("path traversal never reaches a file outside the roots", async () => {
  const targets = [
    "/../secret.txt",
    "/./../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/..\\secret.txt",
    "/pkg/../../secret.txt",
    "/pkg/%2e%2e/%2e%2e/secret.txt",
    "/pkg/..%2f..%2fsecret.txt",
    "/%2e%2e/wwwx/secret.txt",
    "/../wwwx/secret.txt",
    "//../secret.txt",
    "/.%2e/secret.txt",
    "/%252e%252e/secret.txt",
    "/index.html%00",
    "/%00/../secret.txt",
    "/escape/secret.txt",
    "/escape.txt",
    "/escape/",
    "http://127.0.0.1/../secret.txt",
    "http://evil.example/secret.txt",
  ];
  for (const t of targets) {
    const r = await send(`GET ${t} HTTP/1.1`);
    assert.ok(!r.text.includes(SECRET), `${t} served the secret`);
    assert.ok([400, 403, 404].includes(r.status), `${t}: ${r.status}`);
  }
  await stillServing();
});

test("absolute-form targets and '*' get 400", async () => {
  for (const t of ["http://127.0.0.1/", `http://127.0.0.1:${port}/index.html`, "*", "//evil.example/"]) {
    const r = await send(`GET ${t} HTTP/1.1`);
    assert.equal(r.status, 400, `${t}: ${r.status}`);
  }
  await stillServing();
});

test("no open redirect: a folder reached through empty or dot segments redirects to a single-slash path", async () => {
  for (const t of ["/.//demo", "/demo//", "//demo", "/.//.//demo"]) {
    const r = await send(`GET ${t} HTTP/1.1`);
    const location = header(r, "location");
    assert.ok(location === null || /^\/[^/\\]/.test(location), `${t} -> ${r.status} Location ${location}`);
  }
});

test("only loopback Host names are served (DNS rebinding); other methods get 405", async () => {
  for (const host of ["evil.example", `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, null]) {
    const r = await send("GET / HTTP/1.1", { host });
    assert.ok([400, 421].includes(r.status), `Host ${host}: ${r.status}`);
    assert.ok(!r.body.includes("home"));
  }
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "localhost"]) {
    assert.equal((await send("GET / HTTP/1.1", { host })).status, 200, host);
  }
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
    const r = await send(`${method} / HTTP/1.1`, { extra: ["Content-Length: 0"] });
    assert.equal(r.status, 405, method);
  }
  await stillServing();
});
