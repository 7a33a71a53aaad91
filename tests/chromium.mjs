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

/** Launches headless Chromium; `args` are added to CHROMIUM_FLAGS. */
export async function launchChromium({ args = [], ...options } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (scripts/setup.sh does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...args], ...options });
}
