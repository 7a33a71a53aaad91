// What makes `wasm-pack test --headless --chrome` hang ("Loading scripts..."
// until chromedriver's 300 s timeout) in wasm-bindgen-test-runner's own
// server, and scripts/serialising-proxy.mjs, which scripts/wasm-pack-chrome.mjs
// puts in front of it. Needs the wasm_browser test wasm that the wasm-pack group
// builds (target/wasm32-unknown-unknown/debug/deps/wasm_browser-*.wasm).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";

import { startSerialisingProxy } from "../../scripts/serialising-proxy.mjs";

const DEPS = new URL("../../target/wasm32-unknown-unknown/debug/deps/", import.meta.url).pathname;
// More connections than the runner's 4 starting threads, opened at once, as
// Chromium does for the page's snippets (it stops at 6 per host).
const BURST = 12;
const ANSWER_WITHIN_MS = 3000;

function newestTestWasm() {
  const wasm = readdirSync(DEPS)
    .filter((name) => /^wasm_browser-[0-9a-f]+\.wasm$/.test(name))
    .map((name) => join(DEPS, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  assert.ok(wasm, `no wasm_browser test wasm in ${DEPS}: run wasm-pack test --headless --chrome first`);
  return wasm;
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends `GET path` on a new keep-alive connection; resolves true if an answer starts in time. */
function answered(connect, request) {
  return new Promise((resolve) => {
    const socket = connect();
    socket.setNoDelay(true);
    socket.on("connect", () => socket.write(request));
    socket.on("error", () => resolve(false));
    const timer = setTimeout(() => resolve(false), ANSWER_WITHIN_MS);
    socket.once("data", (chunk) => {
      clearTimeout(timer);
      resolve(chunk.toString("latin1").startsWith("HTTP/1.1 200"));
    });
    open.push(socket);
  });
}

const open = [];
function closeAll() {
  for (const socket of open.splice(0)) socket.destroy();
}

let runner;
let runnerPort;
const runners = [];

async function startRunner() {
  runnerPort = await freePort();
  runner = spawn("wasm-bindgen-test-runner", [newestTestWasm()], {
    env: { ...process.env, NO_HEADLESS: "1", WASM_BINDGEN_TEST_ADDRESS: `127.0.0.1:${runnerPort}` },
    stdio: "ignore",
  });
  runners.push(runner);
  const deadline = Date.now() + 60_000;
  const probe = `GET /run.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
  while (!(await answered(() => net.connect(runnerPort, "127.0.0.1"), probe))) {
    closeAll();
    assert.ok(Date.now() < deadline, "wasm-bindgen-test-runner's server did not come up");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  closeAll();
}

async function stopRunners() {
  closeAll();
  for (const child of runners.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGCONT");
    child.kill();
    await exited;
  }
}

after(stopRunners);

/** Established connections whose server end is the runner's port (IPv4 loopback). */
function establishedAtRunner() {
  const port = runnerPort.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "latin1")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter(([, local, , state]) => local === `0100007F:${port}` && state === "01").length;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

// The hang needs server threads tied up by idle keep-alive connections: the
// runner's server keeps every one it has answered (a thread each), and when
// it strands a new connection (a race, so not asserted here; README.md has a
// Chromium net-log of one) that connection waits for one of them to close.
test("straight to the runner's server, answered keep-alive connections stay open", async () => {
  await startRunner();
  const request = `GET /run.js HTTP/1.1\r\nHost: 127.0.0.1:${runnerPort}\r\nConnection: keep-alive\r\n\r\n`;
  const results = await Promise.all(
    Array.from({ length: BURST }, () => answered(() => net.connect(runnerPort, "127.0.0.1"), request)),
  );
  await settle();
  const held = establishedAtRunner();
  const unanswered = results.filter((ok) => !ok).length;
  closeAll();
  await stopRunners();
  assert.equal(held, BURST, `connections held by the server (${unanswered} of ${BURST} unanswered)`);
});

test("through the serialising proxy, the same burst is answered and the server holds no connection", async () => {
  await startRunner();
  const proxy = await startSerialisingProxy();
  try {
    const request =
      `GET http://127.0.0.1:${runnerPort}/run.js HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${runnerPort}\r\nProxy-Connection: keep-alive\r\n\r\n`;
    const results = await Promise.all(
      Array.from({ length: BURST }, () => answered(() => net.connect(proxy.port, "127.0.0.1"), request)),
    );
    await settle();
    assert.equal(results.filter((ok) => !ok).length, 0, "connections left unanswered through the proxy");
    assert.equal(establishedAtRunner(), 0, "connections the server still holds");
    assert.equal(proxy.forwarded(), BURST);
  } finally {
    closeAll();
    await proxy.close();
    await stopRunners();
  }
});

test("the proxy refuses anything but 127.0.0.1", async () => {
  const proxy = await startSerialisingProxy();
  try {
    const refused = await new Promise((resolve) => {
      const socket = net.connect(proxy.port, "127.0.0.1", () =>
        socket.write("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"),
      );
      socket.once("data", (chunk) => resolve(chunk.toString("latin1")));
      open.push(socket);
    });
    assert.match(refused, /^HTTP\/1\.1 403/);
    assert.equal(proxy.forwarded(), 0);
  } finally {
    closeAll();
    await proxy.close();
  }
});
