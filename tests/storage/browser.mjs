// What the tests in this folder share: one Chromium and one www server for
// a test file, and pages that record their uncaught errors.
import { after, before } from "node:test";
import { launchChromium } from "../chromium.mjs";
import { startServer } from "../../www/serve.mjs";

/**
 * Starts the server and the browser before the file's tests and stops them
 * after; `session.browser` and `session.origin` are set once they run.
 */
export function useBrowser() {
  const session = { browser: null, origin: null, server: null };
  before(async () => {
    session.server = await startServer(0);
    session.origin = `http://127.0.0.1:${session.server.address().port}`;
    session.browser = await launchChromium();
  });
  after(async () => {
    await session.browser?.close();
    session.server?.close();
  });
  return session;
}

/** A page of `context` on the server's origin; `page.errors` collects its uncaught errors. */
export async function newPage(session, context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${session.origin}/pkg/package.json`);
  page.errors = errors;
  return page;
}
