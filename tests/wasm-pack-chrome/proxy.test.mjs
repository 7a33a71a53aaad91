// The hang of `wasm-pack test --headless --chrome` ("Loading scripts..." until
// chromedriver's 300 s timeout) against wasm-bindgen-test-runner's own server,
// and scripts/serialising-proxy.mjs, which scripts/wasm-pack-chrome.mjs puts
// in front of it. Needs the wasm_browser test wasm that the wasm-pack group
// builds (target/wasm32-unknown-unknown/debug/deps/wasm_browser-*.wasm).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";

import { startSerialisingProxy } from "../../scripts/serialising-proxy.mjs";

const DEPS = new URL("../../target/wasm32-unknown-unknown/debug/deps/", import.meta.url).pathname;
// More connections than the runner's 4 starting threads, opened at once, as
// Chromium does for the page's snippets (it stops at 6 per host; 12 makes the
// race a certainty rather than a matter of load).
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

test("straight to the runner's server, a burst of keep-alive connections leaves some unread", async () => {
  await startRunner();
  const request = `GET /run.js HTTP/1.1\r\nHost: 127.0.0.1:${runnerPort}\r\nConnection: keep-alive\r\n\r\n`;
  // The race needs the accept thread to hand out connections faster than
  // woken pool threads start; a stopped runner finds the whole burst waiting
  // in its backlog when it resumes. Rounds are 6 s apart, after the pool has
  // shed the threads the previous burst added (they idle out after 5 s).
  let unanswered = 0;
  for (let round = 0; round < 5 && unanswered === 0; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 6000));
    runner.kill("SIGSTOP");
    const results = Array.from({ length: BURST }, () =>
      answered(() => net.connect(runnerPort, "127.0.0.1"), request),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    runner.kill("SIGCONT");
    unanswered = (await Promise.all(results)).filter((ok) => !ok).length;
    closeAll();
  }
  await stopRunners();
  // If this starts failing, tiny_http's pool no longer strands connections
  // and scripts/wasm-pack-chrome.mjs may go back to plain wasm-pack.
  assert.ok(unanswered > 0, `all ${BURST} connections were answered in each of 5 bursts`);
});

test("through the serialising proxy, the same burst is answered in full", async () => {
  await startRunner();
  const proxy = await startSerialisingProxy();
  try {
    const request =
      `GET http://127.0.0.1:${runnerPort}/run.js HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${runnerPort}\r\nProxy-Connection: keep-alive\r\n\r\n`;
    runner.kill("SIGSTOP");
    const pending = Array.from({ length: BURST }, () =>
      answered(() => net.connect(proxy.port, "127.0.0.1"), request),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    runner.kill("SIGCONT");
    const results = await Promise.all(pending);
    assert.equal(results.filter((ok) => !ok).length, 0, "connections left unanswered through the proxy");
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
