// "Remind me in 3 s": a durable queue message.
//
// `enqueue` with a `delay` stores the message in IndexedDB together with the
// commit, so it survives reloads and browser restarts. Every open tab runs
// `listenQueue`; webkv hands each message to one tab at a time, and the
// handler writes a notification entry that every tab then shows (live.js).

import { newId, REV, updateTodo } from "./todos.js";

/**
 * Marks the todo as "reminder pending" and enqueues the reminder in one
 * atomic commit: either both happen or neither does.
 */
export function remindLater(kv, id, delay) {
  return updateTodo(
    kv,
    id,
    (todo) => ({ ...todo, remindAt: Date.now() + delay }),
    (op, todo) => op.enqueue({ kind: "remind", id, title: todo.title, notificationId: newId() }, { delay }),
  );
}

/** Starts handling reminders in this tab; resolves when `kv` is closed. */
export function listenForReminders(kv) {
  return kv.listenQueue(async (message) => {
    if (message?.kind !== "remind") return;
    // Delivery is at least once (a tab may die mid-handler and another tab
    // then gets the message again), so the notification's key comes from the
    // message: a second delivery overwrites it instead of adding a duplicate.
    const notification = ["notifications", message.notificationId];
    const { todo } = await updateTodo(
      kv,
      message.id,
      // Clear the "pending" mark, unless a later reminder is still due.
      ({ remindAt, ...todo }) => (remindAt > Date.now() + 100 ? { ...todo, remindAt } : todo),
      (op, todo) => op.set(notification, { text: `Reminder: ${todo.title}`, todoId: message.id, at: new Date() }),
    );
    if (todo === null) {
      // The todo was deleted meanwhile: still deliver the reminder.
      await kv.atomic()
        .set(notification, { text: `Reminder: ${message.title}`, todoId: message.id, at: new Date() })
        .sum(REV, 1n)
        .commit();
    }
  });
}

/** All notifications, oldest first. */
export async function listNotifications(kv) {
  const notes = [];
  for await (const { key, value } of kv.list({ prefix: ["notifications"] })) notes.push({ id: key[1], ...value });
  return notes;
}

export function dismiss(kv, id) {
  return kv.atomic().delete(["notifications", id]).sum(REV, 1n).commit();
}
