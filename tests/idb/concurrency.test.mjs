// Test 2: linearizable commits across the tabs and workers of an origin. Two
// contexts (two pages; then a page and a dedicated module Web Worker) each
// run N check-guarded increments of one counter, started together by a
// BroadcastChannel message, retrying on ok: false. The counter must end at
// exactly 2N, and the history must be linearizable:
// - per context, successful commits' versionstamps strictly increase, reads
//   never go back, a read after a commit sees at least that commit, and each
//   commit's versionstamp is above the one it checked;
// - over both contexts, the 2N commits have distinct versionstamps, and in
//   versionstamp order they wrote 1, 2, ..., 2N.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { checkHistory } from "./checks.mjs";
import { closeAll, deadline, IMPL, launch, makeProfile, pageUrl, startServer } from "./harness.mjs";

after(closeAll);

const N = 500;

// In the page: open the database and wait for "go" on the channel, then run.
async function arm({ name, n, channel }) {
  const kv = await window.lib.openKv(name);
  const go = window.helpers.waitMessage(channel);
  window.run = go.then(() => window.helpers.increments(kv, n, true));
  window.run.catch(() => {});
}

async function readFinal(name) {
  const kv = await window.lib.openKv(name);
  const e = await kv.get(["c"]);
  kv.close();
  return { value: e.value, versionstamp: e.versionstamp };
}

test(`concurrency (${IMPL}): ${N} + ${N} check-guarded increments from two contexts`, { timeout: 150_000 }, async (t) => {
  const server = await startServer();
  const session = await launch(makeProfile("concurrency"));
  const url = pageUrl(server.origin);

  await t.test("two pages", { timeout: 70_000 }, async (st) => {
    const name = "two-pages";
    const [a, b] = [await session.openPage(url), await session.openPage(url)];
    await a.evaluate(arm, { name, n: N, channel: "go-pages" });
    await b.evaluate(arm, { name, n: N, channel: "go-pages" });
    await a.evaluate(() => new BroadcastChannel("go-pages").postMessage("go"));
    const limit = deadline(60_000, "two pages' increments");
    try {
      const runs = await Promise.race([Promise.all([a.evaluate(() => window.run), b.evaluate(() => window.run)]), limit]);
      const final = await a.evaluate(readFinal, name);
      st.diagnostic(checkHistory([["page A", runs[0]], ["page B", runs[1]]], final, N));
      assert.deepEqual(await b.evaluate(readFinal, name), final, "page B reads the same final entry");
    } catch (error) {
      throw new Error(`${error.message}\npage A:\n${a.log.join("\n")}\npage B:\n${b.log.join("\n")}`, { cause: error });
    } finally {
      limit.cancel();
      await a.close();
      await b.close();
    }
  });

  await t.test("a page and a dedicated module worker", { timeout: 70_000 }, async (st) => {
    const name = "page-and-worker";
    const page = await session.openPage(url);
    // The worker imports the implementation itself (/pkg/browser.js for webkv).
    await page.evaluate(({ name, n, impl }) => new Promise((resolve, reject) => {
      const worker = new Worker(`/tests/idb/pages/counter-worker.js?impl=${impl}`, { type: "module" });
      worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
      window.workerRun = new Promise((done, failed) => {
        worker.onmessage = ({ data }) => {
          if (data.loaded) worker.postMessage({ name, n, channel: "go-worker" });
          else if (data.armed) resolve();
          else if (data.result) done(data.result);
          else if (data.error) { failed(new Error(`worker: ${data.error}`)); reject(new Error(`worker: ${data.error}`)); }
        };
      });
      window.workerRun.catch(() => {});
    }), { name, n: N, impl: IMPL });
    await page.evaluate(arm, { name, n: N, channel: "go-worker" });
    await page.evaluate(() => new BroadcastChannel("go-worker").postMessage("go"));
    const limit = deadline(60_000, "page and worker increments");
    try {
      const runs = await Promise.race([Promise.all([page.evaluate(() => window.run), page.evaluate(() => window.workerRun)]), limit]);
      const final = await page.evaluate(readFinal, name);
      st.diagnostic(checkHistory([["page", runs[0]], ["worker", runs[1]]], final, N));
    } catch (error) {
      throw new Error(`${error.message}\npage and worker:\n${page.log.join("\n")}`, { cause: error });
    } finally {
      limit.cancel();
      await page.close();
    }
  });

  await session.kill();
  await server.close();
});
