// The JS timer behind every backend's sleeps (timer.rs).

// setTimeout fires at once when asked for more than 2^31 - 1 ms (~24.9
// days), and Deno allows queue delays of 30: longer timers are made of steps.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

// Calls `fire` once `ms` have passed, unless `cancelTimer` stops it first.
// The handle's `id` is the current step's setTimeout.
export function startTimer(ms, fire) {
  const timer = { id: undefined };
  let left = Math.max(0, Number(ms) || 0);
  const step = () => {
    const now = Math.min(left, MAX_TIMEOUT_MS);
    left -= now;
    timer.id = setTimeout(left > 0 ? step : fire, now);
  };
  step();
  return timer;
}

export function cancelTimer(timer) {
  clearTimeout(timer.id);
}
