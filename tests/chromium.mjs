// How the tests launch Chromium: Debian's /usr/bin/chromium (or $CHROMIUM)
// through playwright-core, headless, with the flags every test wants on a
// shared CI machine running as root. One place for them, so new tests do not
// copy them again.
//
//   import { launchChromium, CHROMIUM_FLAGS } from "../chromium.mjs";
//   const browser = await launchChromium();               // browser.newPage() ...
//   const browser = await launchChromium({ args: ["--extra"] });
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * For tests with several tabs: Chromium slows pages in the background (timers,
 * renderers), which would make the second tab of a test lag behind.
 */
export const FOREGROUND_TABS = [
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

function checkInstalled() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (scripts/setup.sh does)`);
  }
}

/** Launches headless Chromium; `args` are added to CHROMIUM_FLAGS. */
export async function launchChromium({ args = [], ...options } = {}) {
  checkInstalled();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...args], ...options });
}

/**
 * Headless Chromium on a profile directory on disk (Playwright's ordinary
 * contexts are off the record, where IndexedDB lives in memory); launching it
 * again on the same directory is a browser restart.
 */
export async function launchPersistentChromium(profile, { args = [], ...options } = {}) {
  checkInstalled();
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...args],
    ...options,
  });
}
