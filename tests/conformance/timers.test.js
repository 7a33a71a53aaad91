// Timers behind watch expiries and queue delays (local targets only).
// - JS timers fire at once for delays over 2^31 - 1 ms (~24.9 days): a watch on
//   an entry expiring in 26 days, or a queue message delayed by 26 days (Deno
//   allows 30), must still wait quietly, not re-arm a timer in a loop.
// - After close(), no timer may keep the process alive: a process that listens,
//   enqueues with a delay and closes exits at once, as real Deno's does.
import { openKv, REMOTE, TARGET } from "./target.js";
import { assert, assertEquals } from "./assert.js";

// (Handlers that throw on purpose make webkv and Deno log "Exception in queue handler".)

const DAY = 24 * 60 * 60 * 1000;
const realSetTimeout = globalThis.setTimeout;
const pause = (ms) => new Promise((resolve) => realSetTimeout(resolve, ms));

/** `where`: "local" to run on local targets only; `needs`: a global the test needs. */
function test(name, fn, { where = "local", subprocess = false } = {}) {
  if (where === "local" && REMOTE) return;
  // A browser page (KV_TARGET=webkv-idb) cannot start a process.
  if (subprocess && typeof Deno.Command !== "function") return;
  Deno.test({ name: `[${TARGET}] ${name}`, fn });
}

test("timers: a watch expiring in 26 days and a message delayed 26 days arm no timer loop", async () => {
  const kv = await openKv();
  let timers = 0;
  let emitted = 0;
  let delivered = 0;
  try {
    await kv.set(["w"], 1, { expireIn: 26 * DAY });
    // raw: true emits on every wake-up, so a watch woken in a loop shows.
    const reader = kv.watch([["w"]], { raw: true }).getReader();
    assertEquals((await reader.read()).value[0].value, 1);
    const reading = (async () => {
      for (;;) {
        const { done } = await reader.read();
        if (done) return;
        emitted++;
      }
    })();
    const listening = kv.listenQueue(() => {
      delivered++;
    });
    await kv.enqueue("later", { delay: 26 * DAY });
    await pause(100);
    // Count the timers started over one second from now on.
    globalThis.setTimeout = function (...args) {
      timers++;
      return realSetTimeout.apply(this, args);
    };
    try {
      await pause(1000);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    kv.close();
    await reading;
    await listening;
  } finally {
    globalThis.setTimeout = realSetTimeout;
    try {
      kv.close();
    } catch {
      // closed above
    }
  }
  assertEquals(emitted, 0, "the watch saw no change and emitted nothing more");
  assertEquals(delivered, 0, "the delayed message is not delivered");
  // An idle durable listener looks again every 5 s; a timer loop starts thousands.
  assert(timers <= 5, `${timers} timers started in one second while waiting`);
});

for (const [mode, what] of [
  ["listen", "listens, enqueues with a delay and closes"],
  ["watch", "cancels a watch waiting for an expiry and closes"],
]) {
  test(`timers: a process that ${what} exits at once`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--unstable-kv", "-A", new URL("./fixtures/exits.js", import.meta.url).pathname, mode],
      env: { KV_TARGET: TARGET },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let closedAt = null;
    let out = "";
    const decoder = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of child.stdout) {
        out += decoder.decode(chunk, { stream: true });
        if (closedAt === null && out.includes("closed")) closedAt = Date.now();
      }
    })();
    const errors = new Response(child.stderr).text();
    const killer = realSetTimeout(() => child.kill("SIGKILL"), 20_000);
    const status = await child.status;
    clearTimeout(killer);
    await reading;
    const exitedAt = Date.now();
    const stderr = await errors;
    assert(closedAt !== null, `the child closed its database (stdout: ${JSON.stringify(out)}, stderr: ${stderr})`);
    const lingered = exitedAt - closedAt;
    assert(lingered < 2000, `the process lived ${lingered} ms after close() (${status.signal ?? status.code})`);
    assertEquals(status.code, 0, `exit status (stderr: ${stderr})`);
    assert(!out.includes("delivered"), "nothing was delivered");
  }, { subprocess: true });
}

test("timers: a failing message with a backoff schedule of short intervals is retried on it", async () => {
  const kv = await openKv();
  const attempts = [];
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const listening = kv.listenQueue((message) => {
    attempts.push(message);
    if (attempts.length === 6) done();
    throw new Error("fails on purpose");
  });
  try {
    // Intervals under 128 ms are one byte each in a stored message.
    await kv.enqueue("retried", { backoffSchedule: [1, 2, 3, 4, 5], keysIfUndelivered: [["dead"]] });
    const outcome = await Promise.race([finished.then(() => "done"), pause(10_000).then(() => "timed out")]);
    assertEquals(outcome, "done", `attempts: ${attempts.length}`);
    let dead = null;
    for (let i = 0; i < 100 && dead === null; i++) {
      dead = (await kv.get(["dead"])).value;
      if (dead === null) await pause(20);
    }
    assertEquals(dead, "retried");
    assertEquals(attempts, new Array(6).fill("retried"));
  } finally {
    kv.close();
    await listening;
  }
});
