// Runs `wasm-pack test --headless --chrome` (extra arguments are passed on)
// with Chromium's requests to the test server sent through a local proxy that
// gives every request a connection of its own.
//
// Why: wasm-bindgen-test-runner serves the test page with tiny_http 0.12,
// which ties up one thread per keep-alive connection until the client closes
// it. Its pool starts with 4 threads and adds one only when it counts no idle
// thread, but a thread that has just been handed a connection still counts as
// idle until it gets the CPU. The page's module graph makes Chromium open four
// connections at once (six JS snippets) next to the two it already holds, so
// on a busy machine one connection is queued behind connections Chromium
// keeps open and its request is never read: the page stays at "Loading
// scripts..." until chromedriver's 300 s page-load timeout (README.md,
// "Testing the wasm bindings", has the evidence). Through the proxy each
// request reaches tiny_http on a fresh `Connection: close` connection, so
// every server thread is free again once its response is written, and a
// queued connection waits for one response at most.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startSerialisingProxy } from "./serialising-proxy.mjs";

const proxy = await startSerialisingProxy();
const dir = mkdtempSync(join(tmpdir(), "webkv-wasm-pack-chrome-"));
const capabilities = join(dir, "webdriver.json");
writeFileSync(
  capabilities,
  JSON.stringify({
    "goog:chromeOptions": {
      // `<-loopback>` removes Chromium's implicit bypass of 127.0.0.1.
      args: [`--proxy-server=http://127.0.0.1:${proxy.port}`, "--proxy-bypass-list=<-loopback>"],
    },
  }),
);

const child = spawn("wasm-pack", ["test", "--headless", "--chrome", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, WASM_BINDGEN_TEST_WEBDRIVER_JSON: capabilities },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
const [code, signal] = await new Promise((resolve) => child.on("exit", (...exit) => resolve(exit)));

await proxy.close();
rmSync(dir, { recursive: true, force: true });
if (code === 0 && proxy.forwarded() === 0) {
  // The tests passed but not through the proxy: the hang is back in play.
  console.error("wasm-pack-chrome: Chromium sent no request through the proxy");
  process.exit(1);
}
console.log(`wasm-pack-chrome: ${proxy.forwarded()} requests went through the proxy`);
process.exit(code ?? (signal ? 1 : 0));
