// A todo list written as plain Deno KV code; only the import differs.
import { openKv } from "webkv";

const kv = await openKv();
const list = document.querySelector("#todos");
const status = document.querySelector("#status");

async function render() {
  list.replaceChildren();
  for await (const { key, value, versionstamp } of kv.list({ prefix: ["todos"] })) {
    const item = document.createElement("li");
    item.className = value.done ? "done" : "";
    item.dataset.id = String(key[1]);
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = value.done;
    toggle.addEventListener("change", () => setDone(key, toggle.checked));
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = value.title;
    const stamp = document.createElement("span");
    stamp.className = "stamp";
    stamp.textContent = versionstamp;
    item.append(toggle, title, stamp);
    list.append(item);
  }
  const done = await kv.get(["stats", "done"]);
  document.querySelector("#done-count").textContent = String(done.value?.value ?? 0n);
}

// Optimistic concurrency: the write only lands if nobody changed the entry
// since it was read.
async function setDone(key, done) {
  const entry = await kv.get(key);
  const op = kv.atomic().check(entry).set(key, { ...entry.value, done });
  if (done && !entry.value.done) op.sum(["stats", "done"], 1n);
  const result = await op.commit();
  status.textContent = result.ok ? `Saved at versionstamp ${result.versionstamp}` : "Someone else changed it first";
  await render();
}

document.querySelector("#add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.querySelector("#title");
  const key = ["todos", Date.now()];
  const { versionstamp } = await kv.set(key, { title: input.value, done: false, created: new Date() });
  status.textContent = `Added at versionstamp ${versionstamp}`;
  input.value = "";
  await render();
});

await render();
status.textContent = "Ready";
