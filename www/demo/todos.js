// The data layer of the demo: every read and write of the shared todo list.
// Plain Deno KV code; it works on any `Kv` (webkv in a browser, Deno.Kv).
//
// Keys:
//   ["todos", id]          { title, done, votes, created, expiresAt?, remindAt? }
//   ["notifications", id]  { text, todoId, at }          (written by reminders.js)
//   ["rev"]                a KvU64 bumped by every change to either list
//
// Deno KV's `watch()` takes exact keys, not prefixes. So every commit that
// changes a list also bumps ["rev"] in the same atomic operation, and each tab
// watches that one key (see live.js) to know when to re-read the lists.

export const REV = ["rev"];

/** A new id whose string order is creation order (lists come back sorted). */
export function newId() {
  return Date.now().toString(36).padStart(9, "0") + "-" + Math.random().toString(36).slice(2, 6);
}

/** All todos, oldest first: one `list` by prefix. */
export async function listTodos(kv) {
  const todos = [];
  for await (const { key, value } of kv.list({ prefix: ["todos"] })) todos.push({ id: key[1], ...value });
  return todos;
}

/**
 * Adds a todo. With `expireIn` (milliseconds) it is a temporary item: the
 * database deletes it by itself when the time is up, in every tab.
 */
export async function addTodo(kv, title, { expireIn } = {}) {
  const id = newId();
  const todo = { title, done: false, votes: 0, created: new Date() };
  // Remember when it expires, to show a countdown and to keep the expiry
  // when the todo is rewritten (a `set` without `expireIn` makes it permanent).
  if (expireIn) todo.expiresAt = Date.now() + expireIn;
  const result = await kv.atomic()
    .set(["todos", id], todo, expireIn ? { expireIn } : undefined)
    .sum(REV, 1n)
    .commit();
  return { id, ...result };
}

/** Deletes a todo. */
export async function deleteTodo(kv, id) {
  return kv.atomic().delete(["todos", id]).sum(REV, 1n).commit();
}

/**
 * Read-modify-write with optimistic concurrency, the core pattern of Deno KV:
 * read the entry, compute its new value, and commit only if nobody changed it
 * in between (`check` compares the versionstamp read with the current one).
 * If another tab won the race the commit returns `{ ok: false }`; read again
 * and retry. No update is ever lost, whichever tab writes.
 *
 * `change(todo)` returns the new todo; `extend(op, todo)` may add more
 * operations to the same atomic commit (reminders.js enqueues a message).
 * Returns `{ todo, retries }`, or `{ todo: null }` if the todo is gone.
 */
export async function updateTodo(kv, id, change, extend) {
  const key = ["todos", id];
  for (let retries = 0; retries < 200; retries++) {
    const entry = await kv.get(key);
    if (entry.value === null) return { todo: null, retries }; // deleted or expired
    const todo = change(entry.value);
    const options = keepExpiry(todo);
    if (options === null) return { todo: null, retries }; // expires right now
    const op = kv.atomic().check(entry).set(key, todo, options).sum(REV, 1n);
    extend?.(op, todo);
    const result = await op.commit();
    if (result.ok) return { todo, retries, versionstamp: result.versionstamp };
  }
  throw new Error(`todo ${id}: too many concurrent writers, gave up`);
}

// A temporary todo keeps its remaining lifetime when it is rewritten.
function keepExpiry(todo) {
  if (todo.expiresAt === undefined) return undefined;
  const left = todo.expiresAt - Date.now();
  return left > 0 ? { expireIn: left } : null;
}

export const toggleDone = (kv, id, done) => updateTodo(kv, id, (todo) => ({ ...todo, done }));
export const upvote = (kv, id) => updateTodo(kv, id, (todo) => ({ ...todo, votes: todo.votes + 1 }));
