// Live updates across tabs.
//
// `kv.watch(keys)` yields the watched entries at once, then again whenever
// one of them changes, whoever changed it: this tab, another tab or a worker
// of the same origin (webkv relays other tabs' commits within milliseconds).
// The demo watches ["rev"], which every change to the lists bumps.
//
// Entries that expire (`expireIn`) do not bump ["rev"], so while some are
// shown the view is also refreshed on a timer.

/**
 * Calls `refresh()` now and after every change, never two at once: changes
 * that arrive during a refresh cause exactly one more.
 */
export function keepFresh(kv, keys, refresh) {
  let running = null;
  let again = false;
  let timer;

  async function run() {
    if (running) { again = true; return running; }
    running = (async () => {
      try {
        do {
          again = false;
          clearTimeout(timer);
          const nextExpiry = await refresh(); // the next expiry time, if any
          if (nextExpiry !== undefined) {
            // Tick once a second (for the countdowns) and right after the expiry.
            timer = setTimeout(run, Math.max(20, Math.min(1000, nextExpiry - Date.now() + 20)));
          }
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  }

  (async () => {
    for await (const _entries of kv.watch(keys)) run();
  })().catch((error) => console.error("watch failed:", error));
  return run;
}
