// The demo app: wires the data layer (todos.js, reminders.js), live updates
// (live.js) and the DOM (view.js). It takes an open `Kv`, so each page decides
// how to import webkv (see index.html, and ../bundled/entry.js for a bundle).

import { addTodo, deleteTodo, listTodos, REV, toggleDone, upvote } from "./todos.js";
import { dismiss, listenForReminders, listNotifications, remindLater } from "./reminders.js";
import { keepFresh } from "./live.js";
import { createView } from "./view.js";

export const REMINDER_DELAY = 3000;

export function startDemo(kv, root) {
  const view = createView(root, {
    add: (title, expireIn) => act(() => addTodo(kv, title, { expireIn }), expireIn ? `Added "${title}", gone in ${expireIn / 1000} s` : `Added "${title}"`),
    toggle: (id, done) => act(() => toggleDone(kv, id, done), done ? "Marked done" : "Marked not done"),
    upvote: (id) => act(() => upvote(kv, id), "Upvoted"),
    remind: (id) => act(() => remindLater(kv, id, REMINDER_DELAY), `Reminder queued for ${REMINDER_DELAY / 1000} s from now`),
    remove: (id) => act(() => deleteTodo(kv, id), "Deleted"),
    dismiss: (id) => act(() => dismiss(kv, id), "Dismissed"),
  });

  // Runs one write and says how it went. `retries` counts the commits whose
  // `check` failed because another tab (or click) wrote first.
  async function act(write, message) {
    try {
      const result = await write();
      if (result?.todo === null) return view.status("That todo is gone (deleted or expired)");
      const retries = result?.retries ? ` (after ${result.retries} conflict${result.retries === 1 ? "" : "s"} with other writers)` : "";
      view.status(message + retries);
    } catch (error) {
      view.status(`Failed: ${error.message}`, true);
    }
  }

  // Re-read both lists whenever anything changes, in any tab.
  keepFresh(kv, [REV], async () => {
    const [todos, notes] = await Promise.all([listTodos(kv), listNotifications(kv)]);
    view.render(todos, notes);
    const expiries = todos.map((t) => t.expiresAt).filter((t) => t !== undefined);
    return expiries.length ? Math.min(...expiries) : undefined;
  });

  // Handle reminders in this tab too (one tab at a time gets each message).
  listenForReminders(kv).catch((error) => view.status(`Queue listener failed: ${error.message}`, true));

  view.status("Ready. Open this page in a second tab: changes show up live in both.");
}
