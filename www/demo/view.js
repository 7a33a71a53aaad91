// The DOM side of the demo: builds the page, draws the lists, and reports the
// user's clicks as plain callbacks. Nothing here knows about webkv.

const EXPIRY_CHOICES = [["", "keep"], ["5000", "expires in 5 s"], ["60000", "expires in 1 min"]];

export function createView(root, actions) {
  root.innerHTML = `
    <form class="add">
      <input name="title" type="text" placeholder="What needs doing?" autocomplete="off" required>
      <select name="expire" aria-label="Lifetime">
        ${EXPIRY_CHOICES.map(([ms, label]) => `<option value="${ms}">${label}</option>`).join("")}
      </select>
      <button type="submit">Add</button>
    </form>
    <p class="status" role="status">Loading…</p>
    <ul class="todos"></ul>
    <p class="summary"></p>
    <h2>Notifications</h2>
    <ul class="notifications"></ul>`;
  const $ = (selector) => root.querySelector(selector);
  const form = $("form.add");

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const title = form.title.value.trim();
    if (!title) return;
    actions.add(title, Number(form.expire.value) || undefined);
    form.reset();
    form.title.focus();
  });

  function button(text, className, title, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", onClick);
    return b;
  }

  function todoItem(todo) {
    const li = document.createElement("li");
    li.dataset.id = todo.id;
    li.classList.toggle("done", todo.done);
    const check = document.createElement("input");
    check.type = "checkbox";
    check.checked = todo.done;
    check.setAttribute("aria-label", "done");
    check.addEventListener("change", () => actions.toggle(todo.id, check.checked));
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = todo.title;
    li.append(check, title);
    if (todo.expiresAt !== undefined) {
      const left = Math.max(0, Math.ceil((todo.expiresAt - Date.now()) / 1000));
      li.append(Object.assign(document.createElement("span"), { className: "badge expires", textContent: `expires in ${left} s` }));
    }
    if (todo.remindAt !== undefined) {
      li.append(Object.assign(document.createElement("span"), { className: "badge reminder", textContent: "reminder pending" }));
    }
    li.append(
      button(`+1 · ${todo.votes}`, "vote", "Upvote (safe from any number of tabs at once)", () => actions.upvote(todo.id)),
      button("Remind in 3 s", "remind", "Remind me in 3 seconds", () => actions.remind(todo.id)),
      button("✕", "delete", "Delete", () => actions.remove(todo.id)),
    );
    return li;
  }

  function noteItem(note) {
    const li = document.createElement("li");
    li.dataset.id = note.id;
    const text = Object.assign(document.createElement("span"), { className: "text", textContent: note.text });
    const at = Object.assign(document.createElement("time"), { textContent: note.at.toLocaleTimeString() });
    li.append(text, at, button("Dismiss", "dismiss", "Dismiss", () => actions.dismiss(note.id)));
    return li;
  }

  return {
    render(todos, notes) {
      $("ul.todos").replaceChildren(...todos.map(todoItem));
      $("ul.notifications").replaceChildren(...notes.map(noteItem));
      const done = todos.filter((t) => t.done).length;
      $("p.summary").textContent = todos.length ? `${todos.length} todo${todos.length === 1 ? "" : "s"}, ${done} done` : "Nothing to do.";
      if (!notes.length) $("ul.notifications").append(Object.assign(document.createElement("li"), { className: "empty", textContent: "None yet." }));
    },
    status(text, isError = false) {
      $("p.status").textContent = text;
      $("p.status").classList.toggle("error", isError);
    },
  };
}
