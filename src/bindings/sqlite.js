// Timers for the SQLite backend that are cleared when the Rust side drops
// them: closing a database must leave no pending timer (a pending one keeps
// Node, Bun and Deno processes alive).

export function startTimer(ms) {
  let id;
  const promise = new Promise((resolve) => {
    id = setTimeout(resolve, ms);
  });
  return [promise, id];
}

export function stopTimer(id) {
  clearTimeout(id);
}
