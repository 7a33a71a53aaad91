// The KV explorer: open a database (the default one at once on a first
// visit, with an offer of sample data while it is empty), browse it by
// prefix a page at a time, edit entries under versionstamp checks, watch
// keys, export and import.
import { deleteKv, openKv } from "/pkg/browser.js";
import { readPage, scanChildren, stats } from "./browse.js";
import { FORM_TYPES, formatKey, formatPart, inspect, parseForm, parseKey, toForm, typeName } from "./format.js";
import { keyId } from "./typed-json.js";
import { exportNdjson, importNdjson } from "./transfer.js";
import { loadSample } from "./sample.js";

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && name !== "list") node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const state = {
  kv: null,
  db: null, // { kind: "named" | "memory" | "remote", name?, url? }
  prefix: [],
  reverse: false,
  pageSize: 50,
  cursors: [undefined], // cursors[i]: where page i starts
  page: 0,
  hasNext: false,
  entries: new Map(), // keyId -> entry, for the page on screen (and the prefix's own entry)
  self: null, // the entry whose key is the prefix itself
  children: [],
  childrenMore: false,
  watches: new Map(), // keyId -> { key, entry }: the watched keys and their latest entries
  watchReaders: [], // the readers of the watch streams
  load: 0, // generation of the page being loaded (stale answers are dropped)
  childrenLoad: 0,
  transfer: null, // { abort: AbortController }
};

// Exposed for tests and for curious users in the console: counters of what
// the explorer read.
globalThis.explorer = { stats, state };

// ------------------------------------------------------------------ status

const status = $("#status");
function setStatus(text, kind = "info") {
  status.textContent = text;
  status.className = `status ${kind}`;
}

function describeError(err) {
  return err?.message ? err.message : String(err);
}

// ------------------------------------------------------------------ open

const openForm = $("#open-form");
function selectedKind() {
  return openForm.elements.kind.value;
}
function showKindFields() {
  const kind = selectedKind();
  for (const node of openForm.querySelectorAll("[data-kind]")) node.hidden = node.dataset.kind !== kind;
}
openForm.addEventListener("change", (event) => {
  if (event.target.name === "kind") showKindFields();
});

function dbLabel(db) {
  if (db.kind === "memory") return "in-memory database";
  if (db.kind === "named") return `“${db.name}” (IndexedDB)`;
  return `${db.url} (KV Connect)`;
}

function dbHash(db) {
  const params = new URLSearchParams();
  if (db.kind === "memory") params.set("memory", "");
  else if (db.kind === "named") params.set("db", db.name);
  else params.set("url", db.url);
  return params;
}

function writeHash({ push = false } = {}) {
  if (!state.db) return;
  const params = dbHash(state.db);
  if (state.prefix.length) params.set("prefix", formatKey(state.prefix));
  const hash = `#${params.toString().replace(/=(?=&|$)/g, "")}`;
  if (hash === location.hash) return;
  if (push) history.pushState(null, "", hash);
  else history.replaceState(null, "", hash);
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  let db = null;
  if (params.has("memory")) db = { kind: "memory" };
  else if (params.get("db")) db = { kind: "named", name: params.get("db") };
  else if (params.get("url")) db = { kind: "remote", url: params.get("url") };
  let prefix = [];
  if (params.get("prefix")) {
    try {
      prefix = parseKey(params.get("prefix"));
    } catch {
      prefix = [];
    }
  }
  return { db, prefix };
}

function sameDb(a, b) {
  return a && b && a.kind === b.kind && a.name === b.name && a.url === b.url;
}

function explainOpenError(db, err) {
  const message = describeError(err);
  if (db.kind === "remote" && /fetch|network|load failed|NetworkError|CORS/i.test(message)) {
    return `Could not reach ${db.url}: ${message}. A browser can only reach a denokv server through the CORS proxy ` +
      `started with this page's origin allowed (KV_PROXY_TOKEN=<token> npm run kv-proxy -- --target <denokv URL> --port 8787 ` +
      `--allow-origin ${location.origin}); connect to the proxy's URL instead, with any placeholder token.`;
  }
  if (db.kind === "remote" && /401|unauthori|token/i.test(message)) {
    return `The server refused the access token: ${message}`;
  }
  return `Could not open the ${dbLabel(db)}: ${message}`;
}

function syncForm(db) {
  openForm.elements.kind.value = db.kind;
  if (db.kind === "named") $("#db-name").value = db.name;
  if (db.kind === "remote") $("#remote-url").value = db.url;
  showKindFields();
}

async function openDatabase(db, { prefix = [], token } = {}) {
  syncForm(db);
  setStatus(`Opening the ${dbLabel(db)}…`, "busy");
  $("#open-button").disabled = true;
  let kv;
  try {
    if (db.kind === "memory") kv = await openKv(":memory:");
    else if (db.kind === "named") kv = await openKv(db.name);
    else {
      // The KV Connect client is a wasm of its own in browsers, fetched only
      // by the pages that connect to a server.
      await import("/pkg/kv-connect-browser.js");
      kv = await openKv(db.url, { accessToken: token });
    }
  } catch (err) {
    setStatus(explainOpenError(db, err), "error");
    return false;
  } finally {
    $("#open-button").disabled = false;
  }
  // The database on screen (if any) is closed only once the new one is open.
  closeDatabase({ quiet: true });
  state.kv = kv;
  state.db = db;
  $("#db-label").textContent = dbLabel(db);
  $("#delete-db").hidden = db.kind !== "named";
  $("#main").hidden = false;
  await navigate(prefix, { push: false });
  if (state.kv === kv && !status.classList.contains("error")) setStatus(`Opened the ${dbLabel(db)}.`, "ok");
  return true;
}

function closeDatabase({ quiet = false } = {}) {
  state.transfer?.abort.abort();
  stopWatches();
  state.watches.clear();
  renderWatched();
  state.kv?.close();
  state.kv = null;
  state.db = null;
  state.load++;
  state.childrenLoad++;
  state.entries.clear();
  $("#main").hidden = true;
  $("#rows").replaceChildren();
  $("#self-row").replaceChildren();
  if (!quiet) {
    history.replaceState(null, "", location.pathname + location.search);
    setStatus("Closed. Choose a database and press Open.");
  }
}

openForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const kind = selectedKind();
  let db;
  let token;
  if (kind === "memory") db = { kind };
  else if (kind === "named") {
    const name = $("#db-name").value.trim();
    if (!name) return setStatus("Type a database name (for example default).", "error");
    db = { kind, name };
  } else {
    const url = $("#remote-url").value.trim();
    if (!/^https?:\/\//i.test(url)) return setStatus("Type the URL of a KV Connect server or of the CORS proxy, starting with http:// or https://.", "error");
    token = $("#remote-token").value;
    if (!token) return setStatus("Type the access token (any placeholder when the CORS proxy adds the real one).", "error");
    db = { kind, url };
  }
  if (await openDatabase(db, { token })) {
    // The client holds the token from here on; the page keeps no copy.
    $("#remote-token").value = "";
  }
});

$("#close-db").addEventListener("click", () => closeDatabase());

armButton($("#delete-db"), "Really delete it?", async () => {
  const db = state.db;
  if (db?.kind !== "named") return;
  closeDatabase({ quiet: true });
  setStatus(`Deleting “${db.name}”…`, "busy");
  try {
    await deleteKv(db.name);
    history.replaceState(null, "", location.pathname + location.search);
    setStatus(`Deleted the database “${db.name}” and all its entries.`, "ok");
  } catch (err) {
    setStatus(`Could not delete “${db.name}”: ${describeError(err)} (close it in other tabs first).`, "error");
  }
});

/**
 * A button that asks for a second click within a few seconds before it runs
 * `action` (no window.confirm, which blocks the page).
 */
function armButton(button, armedText, action) {
  const text = button.textContent;
  let timer = null;
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    if (!button.classList.contains("armed")) {
      button.classList.add("armed");
      button.textContent = armedText;
      timer = setTimeout(() => {
        button.classList.remove("armed");
        button.textContent = text;
      }, 4000);
      return;
    }
    clearTimeout(timer);
    button.classList.remove("armed");
    button.textContent = text;
    action();
  });
}

// ---------------------------------------------------------------- browsing

async function navigate(prefix, { push = true } = {}) {
  state.prefix = prefix;
  state.cursors = [undefined];
  state.page = 0;
  writeHash({ push });
  renderCrumbs();
  await Promise.all([loadPage(), loadChildren()]);
}

globalThis.addEventListener("popstate", async () => {
  const { db, prefix } = readHash();
  if (db && sameDb(db, state.db)) await navigate(prefix, { push: false });
  else if (db && db.kind !== "remote") await openDatabase(db, { prefix });
});

function renderCrumbs() {
  const nav = $("#crumbs");
  nav.replaceChildren();
  const root = state.prefix.length === 0
    ? el("span", { class: "current", "aria-current": "page" }, "All keys")
    : el("button", { type: "button", onclick: () => navigate([]) }, "All keys");
  nav.append(root);
  state.prefix.forEach((part, i) => {
    nav.append(el("span", { class: "sep" }, "›"));
    const text = formatPart(part);
    if (i === state.prefix.length - 1) nav.append(el("span", { class: "current", "aria-current": "page" }, text));
    else nav.append(el("button", { type: "button", onclick: () => navigate(state.prefix.slice(0, i + 1)) }, text));
  });
}

async function loadPage() {
  const kv = state.kv;
  if (!kv) return;
  const load = ++state.load;
  const started = performance.now();
  try {
    const [page, self] = await Promise.all([
      readPage(kv, { prefix: state.prefix, limit: state.pageSize, cursor: state.cursors[state.page], reverse: state.reverse }),
      state.prefix.length ? kv.get(state.prefix) : null,
    ]);
    if (load !== state.load) return;
    state.hasNext = page.hasNext;
    state.cursors[state.page + 1] = page.next ?? undefined;
    state.cursors.length = state.page + 2;
    state.entries.clear();
    for (const entry of page.entries) state.entries.set(keyId(entry.key), entry);
    state.self = self?.versionstamp ? self : null;
    if (state.self) state.entries.set(keyId(state.self.key), state.self);
    renderEntries(page.entries);
    globalThis.explorer.lastPageMs = performance.now() - started;
  } catch (err) {
    if (load !== state.load) return;
    setStatus(`Could not read the entries: ${describeError(err)}`, "error");
  }
}

async function loadChildren({ more = false } = {}) {
  const kv = state.kv;
  if (!kv) return;
  const load = ++state.childrenLoad;
  const after = more ? state.children.at(-1)?.part : undefined;
  $("#more-children").disabled = true;
  try {
    const { children, more: hasMore } = await scanChildren(kv, state.prefix, { after, max: 40 });
    if (load !== state.childrenLoad) return;
    state.children = more ? [...state.children, ...children] : children;
    state.childrenMore = hasMore;
    renderChildren();
  } catch (err) {
    if (load !== state.childrenLoad) return;
    $("#children").replaceChildren(el("span", { class: "none" }, `Could not list the next key parts: ${describeError(err)}`));
  } finally {
    $("#more-children").disabled = false;
  }
}

function renderChildren() {
  const box = $("#children");
  box.replaceChildren();
  if (state.children.length === 0) {
    box.append(el("span", { class: "none" }, state.prefix.length ? "No longer keys under this prefix." : "The database is empty."));
  }
  for (const child of state.children) {
    const text = formatPart(child.part);
    const title = child.hasChildren
      ? `Open the prefix ${formatKey([...state.prefix, child.part])}${child.isKey ? " (also a key itself)" : ""}`
      : `${formatKey([...state.prefix, child.part])} is a key with nothing under it`;
    box.append(el("button", {
      type: "button",
      class: `chip ${child.hasChildren ? "folder" : "leaf"}`,
      title,
      onclick: () => navigate([...state.prefix, child.part]),
    }, child.hasChildren ? `${text} ›` : text));
  }
  $("#more-children").hidden = !state.childrenMore;
}

function renderEntries(entries) {
  const rows = $("#rows");
  rows.replaceChildren(...entries.map((entry) => renderRow(entry)));
  $("#self-row").replaceChildren(...(state.self ? [renderRow(state.self, { self: true })] : []));
  // An empty database (on this device) offers sample data instead.
  const offer = entries.length === 0 && state.self === null && state.page === 0 && state.prefix.length === 0 && state.db?.kind !== "remote";
  $("#sample-offer").hidden = !offer;
  $("#empty").hidden = entries.length > 0 || state.self !== null || offer;
  const first = state.page * state.pageSize + 1;
  const last = state.page * state.pageSize + entries.length;
  const order = state.reverse ? " · last key first" : "";
  $("#page-info").textContent = entries.length ? `Page ${state.page + 1} · entries ${first}–${last}${order}` : state.page ? `Page ${state.page + 1} is empty` : "";
  $("#prev").disabled = state.page === 0;
  $("#next").disabled = !state.hasNext;
}

function renderKey(key, { self = false } = {}) {
  const box = el("div", { class: "key" });
  box.append(el("span", { class: "punct" }, "["));
  key.forEach((part, i) => {
    if (i) box.append(el("span", { class: "punct" }, ", "));
    const text = formatPart(part);
    if (i < state.prefix.length) box.append(el("span", { class: "part-in-prefix" }, text));
    else {
      box.append(el("button", {
        type: "button",
        class: "part",
        title: `Open the prefix ${formatKey(key.slice(0, i + 1))}`,
        onclick: () => navigate(key.slice(0, i + 1)),
      }, text));
    }
  });
  box.append(el("span", { class: "punct" }, "]"));
  if (self) box.append(el("span", { class: "self-label" }, "the prefix itself is a key"));
  return box;
}

function renderRow(entry, { self = false } = {}) {
  const id = keyId(entry.key);
  const deleted = entry.versionstamp === null;
  const type = deleted ? "—" : typeName(entry.value);
  const watching = state.watches.has(id);
  const row = el("tr", { class: [self ? "self" : "", deleted ? "deleted" : ""].join(" ").trim(), dataset: { id } });
  const watch = el("button", {
    type: "button",
    class: "watch",
    "aria-pressed": String(watching),
    title: "Follow this key live: the row updates when any tab changes it",
    onclick: () => toggleWatch(entry.key),
  }, watching ? "Watching" : "Watch");
  const edit = el("button", { type: "button", class: "edit", onclick: () => openEditor(currentEntry(entry.key)) }, deleted ? "Re-create" : "Edit");
  const del = el("button", { type: "button", class: "delete danger", disabled: deleted }, "Delete");
  armButton(del, "Confirm", () => deleteEntry(currentEntry(entry.key)));
  row.append(
    el("td", { class: "c-key" }, renderKey(entry.key, { self })),
    el("td", { class: "c-type" }, el("span", { class: `type type-${type}` }, type)),
    el("td", { class: "c-value" }, el("div", { class: "value", title: deleted ? "" : "Edit to see the whole value" }, deleted ? "(deleted)" : inspect(entry.value, { limit: 300 }))),
    el("td", { class: "c-stamp" }, el("span", { class: "stamp" }, entry.versionstamp ?? "—")),
    el("td", { class: "c-actions" }, el("div", { class: "actions-cell" }, watch, edit, del)),
  );
  return row;
}

/** The freshest entry the page knows for `key` (a watch may have updated it). */
function currentEntry(key) {
  const id = keyId(key);
  return state.watches.get(id)?.entry ?? state.entries.get(id) ?? { key, value: null, versionstamp: null };
}

/** Puts a newer version of an entry on screen, in the table and the watched panel. */
function showEntry(entry, { flash = false } = {}) {
  const id = keyId(entry.key);
  if (state.entries.has(id)) {
    state.entries.set(id, entry);
    if (state.self && keyId(state.self.key) === id) state.self = entry;
    for (const old of document.querySelectorAll("#rows tr, #self-row tr")) {
      if (old.dataset.id !== id) continue;
      const row = renderRow(entry, { self: old.classList.contains("self") });
      if (flash) row.classList.add("flash");
      old.replaceWith(row);
    }
  }
  renderWatched(flash ? id : null);
  if (editor.open && editorState.key && keyId(editorState.key) === id) warnIfStale(entry);
}

/** Tells the editor's user, as soon as a watch shows it, that the entry moved on. */
function warnIfStale(entry) {
  const stale = entry.versionstamp !== editorState.base;
  $("#ed-stale").hidden = !stale;
  if (stale) {
    $("#ed-stale").textContent = entry.versionstamp === null
      ? "This entry has been deleted since you opened it; saving will show the conflict."
      : `This entry changed since you opened it (now versionstamp ${entry.versionstamp}); saving will show the conflict.`;
  }
}

$("#prev").addEventListener("click", () => {
  if (state.page === 0) return;
  state.page--;
  loadPage();
});
$("#next").addEventListener("click", () => {
  if (!state.hasNext) return;
  state.page++;
  loadPage();
});
$("#reverse").addEventListener("change", (event) => {
  state.reverse = event.target.checked;
  state.cursors = [undefined];
  state.page = 0;
  loadPage();
});
$("#page-size").addEventListener("change", (event) => {
  state.pageSize = Number(event.target.value);
  state.cursors = [undefined];
  state.page = 0;
  loadPage();
});
$("#refresh").addEventListener("click", async () => {
  await Promise.all([loadPage(), loadChildren()]);
  setStatus("Refreshed.", "ok");
});
$("#more-children").addEventListener("click", () => loadChildren({ more: true }));

/** Reloads what is on screen after a write (the page keeps its place). */
async function afterWrite() {
  await loadPage();
  if (state.page > 0 && state.entries.size === (state.self ? 1 : 0)) {
    state.page--;
    await loadPage();
  }
  await loadChildren();
}

// ------------------------------------------------------------ sample data

$("#load-sample").addEventListener("click", async () => {
  const kv = state.kv;
  if (!kv) return;
  const button = $("#load-sample");
  button.disabled = true;
  setStatus("Loading the sample data…", "busy");
  try {
    const loaded = await loadSample(kv);
    if (state.kv !== kv) return;
    if (loaded) {
      setStatus(`Loaded ${loaded} sample entries into the ${dbLabel(state.db)}. Open a prefix such as "users", or edit an entry.`, "ok");
    } else {
      setStatus("The sample data was not loaded: the database is not empty any more (another tab wrote to it).", "error");
    }
    await Promise.all([loadPage(), loadChildren()]);
  } catch (err) {
    setStatus(`Could not load the sample data: ${describeError(err)}`, "error");
  } finally {
    button.disabled = false;
  }
});

// ------------------------------------------------------------------ watch

// Watched keys share streams: one kv.watch per 10 keys (Deno's limit per
// call). Over KV Connect each stream holds an HTTP connection, and a browser
// opens only 6 per server over HTTP/1.1, so fewer keys may be watched there.
const WATCH_KEYS_PER_STREAM = 10;
const MAX_WATCHED = { remote: 30, local: 200 };

function toggleWatch(key) {
  const id = keyId(key);
  if (state.watches.has(id)) {
    state.watches.delete(id);
    setStatus(`Stopped watching ${formatKey(key)}.`);
  } else {
    const max = state.db.kind === "remote" ? MAX_WATCHED.remote : MAX_WATCHED.local;
    if (state.watches.size >= max) {
      setStatus(`At most ${max} keys can be watched at once here; stop watching one first.`, "error");
      return;
    }
    state.watches.set(id, { key, entry: state.entries.get(id) ?? null });
    setStatus(`Watching ${formatKey(key)}: changes from any tab or client show up here.`, "ok");
  }
  restartWatches();
  showEntry(currentEntry(key));
}

function stopWatches() {
  for (const reader of state.watchReaders) reader.cancel().catch(() => {});
  state.watchReaders = [];
}

function restartWatches() {
  stopWatches();
  const kv = state.kv;
  const all = [...state.watches.values()];
  for (let i = 0; i < all.length; i += WATCH_KEYS_PER_STREAM) {
    const group = all.slice(i, i + WATCH_KEYS_PER_STREAM);
    let reader;
    try {
      reader = kv.watch(group.map((watch) => watch.key)).getReader();
    } catch (err) {
      setStatus(`Could not watch: ${describeError(err)}`, "error");
      return;
    }
    state.watchReaders.push(reader);
    follow(kv, reader, group);
  }
}

async function follow(kv, reader, group) {
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || !state.watchReaders.includes(reader)) return;
      value.forEach((entry, i) => {
        const watch = group[i];
        if (state.watches.get(keyId(watch.key)) !== watch) return;
        const changed = watch.entry !== null && watch.entry.versionstamp !== entry.versionstamp;
        watch.entry = entry;
        showEntry(entry, { flash: changed });
      });
    }
  } catch (err) {
    if (state.watchReaders.includes(reader) && state.kv === kv) {
      setStatus(`Watching stopped: ${describeError(err)}`, "error");
      for (const watch of group) state.watches.delete(keyId(watch.key));
      state.watchReaders = state.watchReaders.filter((other) => other !== reader);
      for (const watch of group) showEntry(currentEntry(watch.key));
    }
  }
}

function renderWatched(flashId = null) {
  const list = $("#watched");
  list.replaceChildren();
  for (const [id, watch] of state.watches) {
    const entry = watch.entry;
    const known = entry !== null;
    const deleted = known && entry.versionstamp === null;
    const type = !known ? "…" : deleted ? "—" : typeName(entry.value);
    const item = el("li", { dataset: { id }, class: id === flashId ? "flash" : "" },
      el("span", { class: "key" }, formatKey(watch.key)),
      el("span", {}, el("span", { class: `type type-${type}` }, type)),
      el("span", { class: "value" }, !known ? "loading…" : deleted ? "(no entry)" : inspect(entry.value, { limit: 200 })),
      el("span", { class: "stamp" }, entry?.versionstamp ?? "—"),
      el("button", { type: "button", class: "unwatch", onclick: () => toggleWatch(watch.key) }, "Stop"),
    );
    list.append(item);
  }
  $("#watched-panel").hidden = state.watches.size === 0;
}

// ----------------------------------------------------------------- editing

const editor = $("#editor");
const editorState = { mode: "create", key: null, base: null, mine: null };

function setFormType(type) {
  $("#ed-type").value = type;
  $("#ed-hint").textContent = FORM_TYPES[type] ?? "";
  const noText = type === "null" || type === "undefined";
  const long = ["string", "json", "Map", "Set", "Uint8Array", "typed"].includes(type);
  $("#ed-value").rows = noText ? 1 : long ? 10 : 2;
  $("#ed-value").disabled = noText;
  if (noText) $("#ed-value").value = "";
}
$("#ed-type").addEventListener("change", (event) => setFormType(event.target.value));

function fillForm(entry) {
  const form = entry.versionstamp === null ? { type: "string", text: "" } : toForm(entry.value);
  setFormType(form.type);
  $("#ed-value").value = form.text;
  $("#ed-stamp").textContent = entry.versionstamp ? `loaded at versionstamp ${entry.versionstamp}` : "new entry";
}

function openEditor(entry = null) {
  $("#ed-error").textContent = "";
  $("#ed-stale").hidden = true;
  $("#conflict").hidden = true;
  editorState.mine = null;
  if (entry === null) {
    editorState.mode = "create";
    editorState.key = null;
    editorState.base = null;
    $("#editor-title").textContent = "New entry";
    $("#ed-key").readOnly = false;
    $("#ed-key").value = state.prefix.length ? `${state.prefix.map(formatPart).join(", ")}, ` : "";
    $("#ed-delete").hidden = true;
    fillForm({ key: null, value: null, versionstamp: null });
  } else {
    editorState.mode = entry.versionstamp === null ? "create" : "edit";
    editorState.key = entry.key;
    editorState.base = entry.versionstamp;
    $("#editor-title").textContent = entry.versionstamp === null ? "Re-create entry" : "Edit entry";
    $("#ed-key").readOnly = true;
    $("#ed-key").value = formatKey(entry.key);
    $("#ed-delete").hidden = entry.versionstamp === null;
    fillForm(entry);
  }
  if (!editor.open) editor.showModal();
  const focus = entry === null ? $("#ed-key") : $("#ed-value");
  focus.focus();
  if (focus === $("#ed-key")) focus.setSelectionRange(focus.value.length, focus.value.length);
  else {
    focus.setSelectionRange(0, 0);
    focus.scrollTop = 0;
  }
}

$("#new-entry").addEventListener("click", () => openEditor(null));
$("#ed-cancel").addEventListener("click", () => editor.close());

function showConflict({ title, current, mine, base }) {
  $("#conflict-title").textContent = title;
  const now = current.versionstamp ?? "no entry";
  $("#conflict-detail").textContent = `You loaded versionstamp ${base ?? "(no entry)"}; the database now has ${now}. Nothing was written.`;
  $("#conflict-current").textContent = current.versionstamp === null
    ? "(no entry: it was deleted)"
    : `${typeName(current.value)}\n${inspect(current.value, { pretty: true, limit: 20000 })}`;
  $("#conflict-mine").textContent = mine.deleting ? "(delete the entry)" : `${typeName(mine.value)}\n${inspect(mine.value, { pretty: true, limit: 20000 })}`;
  $("#conflict").hidden = false;
  $("#ed-stale").hidden = true;
  editorState.current = current;
}

$("#conflict-load").addEventListener("click", () => {
  const current = editorState.current;
  if (!current) return;
  editorState.base = current.versionstamp;
  editorState.mode = current.versionstamp === null ? "create" : "edit";
  $("#editor-title").textContent = current.versionstamp === null ? "Re-create entry" : "Edit entry";
  $("#ed-delete").hidden = current.versionstamp === null;
  fillForm(current);
  $("#ed-stale").hidden = true;
  $("#conflict-title").textContent = "Loaded the current version; your value (right) was not written";
  $("#conflict-load").hidden = true;
});

editor.addEventListener("close", () => {
  $("#conflict-load").hidden = false;
});

$("#editor-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const kv = state.kv;
  if (!kv) return;
  $("#ed-error").textContent = "";
  let key;
  let value;
  try {
    key = editorState.mode === "create" && editorState.key === null ? parseKey($("#ed-key").value) : editorState.key;
    if (key.length === 0) throw new SyntaxError("key: a key needs at least one part");
    value = parseForm($("#ed-type").value, $("#ed-value").value);
  } catch (err) {
    $("#ed-error").textContent = describeError(err);
    return;
  }
  const base = editorState.base;
  $("#ed-save").disabled = true;
  try {
    const result = await kv.atomic().check({ key, versionstamp: base }).set(key, value).commit();
    if (result.ok) {
      editor.close();
      setStatus(`Saved ${formatKey(key)} at versionstamp ${result.versionstamp}.`, "ok");
      await afterWrite();
      return;
    }
    const current = await kv.get(key);
    showEntry(current);
    showConflict({
      title: base === null ? "Not saved: an entry with this key exists already" : "Not saved: the entry changed since you loaded it",
      current,
      mine: { value },
      base,
    });
    $("#conflict-load").hidden = false;
    setStatus(`Conflict on ${formatKey(key)}: it changed since it was loaded, so nothing was written.`, "error");
  } catch (err) {
    $("#ed-error").textContent = `Not saved: ${describeError(err)}`;
  } finally {
    $("#ed-save").disabled = false;
  }
});

armButton($("#ed-delete"), "Confirm delete", async () => {
  if (editorState.key && editorState.base) {
    await deleteEntry({ key: editorState.key, versionstamp: editorState.base, value: undefined }, { fromEditor: true });
  }
});

async function deleteEntry(entry, { fromEditor = false } = {}) {
  const kv = state.kv;
  if (!kv || entry.versionstamp === null) return;
  try {
    const result = await kv.atomic().check({ key: entry.key, versionstamp: entry.versionstamp }).delete(entry.key).commit();
    if (result.ok) {
      if (editor.open) editor.close();
      setStatus(`Deleted ${formatKey(entry.key)}.`, "ok");
      await afterWrite();
      return;
    }
    const current = await kv.get(entry.key);
    if (!fromEditor) openEditor(entry);
    showEntry(current);
    showConflict({
      title: "Not deleted: the entry changed since you loaded it",
      current,
      mine: { deleting: true },
      base: entry.versionstamp,
    });
    setStatus(`Conflict on ${formatKey(entry.key)}: it changed since it was loaded, so it was not deleted.`, "error");
  } catch (err) {
    setStatus(`Could not delete ${formatKey(entry.key)}: ${describeError(err)}`, "error");
  }
}

// ---------------------------------------------------------- export/import

function startTransfer(label) {
  const abort = new AbortController();
  state.transfer = { abort };
  $("#transfer").hidden = false;
  $("#transfer-label").textContent = label;
  const bar = $("#transfer-progress");
  bar.removeAttribute("value");
  bar.removeAttribute("max");
  $("#export").disabled = true;
  $("#import").disabled = true;
  return abort;
}

function endTransfer() {
  state.transfer = null;
  $("#transfer").hidden = true;
  $("#export").disabled = false;
  $("#import").disabled = false;
}

$("#transfer-cancel").addEventListener("click", () => state.transfer?.abort.abort());

function fileName() {
  const db = state.db;
  const base = db.kind === "named" ? db.name : db.kind === "memory" ? "memory" : new URL(db.url).host;
  const prefix = state.prefix.map((part) => formatPart(part).replace(/^"|"$/g, "")).join("-");
  return `${[base, prefix].filter(Boolean).join("-").replace(/[^\w.-]+/g, "_")}.ndjson`;
}

$("#export").addEventListener("click", async () => {
  const kv = state.kv;
  if (!kv || state.transfer) return;
  const prefix = state.prefix;
  const where = prefix.length ? `under ${formatKey(prefix)}` : "in the database";
  const abort = startTransfer(`Exporting the entries ${where}…`);
  const started = performance.now();
  setStatus(`Exporting the entries ${where}…`, "busy");
  try {
    const { blob, entries, skipped } = await exportNdjson(kv, {
      prefix,
      signal: abort.signal,
      onProgress: ({ entries, bytes }) => {
        $("#transfer-label").textContent = `Exporting: ${entries.toLocaleString("en")} entries (${formatBytes(bytes)})…`;
      },
    });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: fileName() });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const skippedText = skipped.length ? ` Skipped ${skipped.length} with values JSON cannot hold (first: ${formatKey(skipped[0].key)}: ${skipped[0].reason}).` : "";
    setStatus(`Exported ${entries.toLocaleString("en")} entries ${where} to ${fileName()} (${formatBytes(blob.size)}, ${seconds} s).${skippedText}`, skipped.length ? "error" : "ok");
  } catch (err) {
    setStatus(err.name === "AbortError" ? "Export cancelled." : `Export failed: ${describeError(err)}`, "error");
  } finally {
    endTransfer();
  }
});

$("#import").addEventListener("click", () => $("#import-file").click());
$("#import-file").addEventListener("change", async (event) => {
  const input = event.target;
  const file = input.files?.[0];
  input.value = "";
  const kv = state.kv;
  if (!file || !kv || state.transfer) return;
  const abort = startTransfer(`Importing ${file.name}…`);
  const bar = $("#transfer-progress");
  bar.max = Math.max(file.size, 1);
  bar.value = 0;
  const started = performance.now();
  setStatus(`Importing ${file.name} (${formatBytes(file.size)})…`, "busy");
  let done = 0;
  try {
    const { entries } = await importNdjson(kv, file, {
      signal: abort.signal,
      onProgress: ({ entries, bytesRead, total }) => {
        done = entries;
        bar.value = bytesRead;
        $("#transfer-label").textContent = `Importing ${file.name}: ${entries.toLocaleString("en")} entries, ${Math.floor((100 * bytesRead) / Math.max(total, 1))}%`;
      },
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    setStatus(`Imported ${entries.toLocaleString("en")} entries from ${file.name} (${seconds} s).`, "ok");
  } catch (err) {
    const kept = done ? ` The ${done.toLocaleString("en")} entries before it were imported.` : " Nothing was imported.";
    setStatus(err.name === "AbortError" ? `Import cancelled after ${done.toLocaleString("en")} entries.` : `Import failed: ${describeError(err)}.${kept}`, "error");
  } finally {
    endTransfer();
    if (state.kv === kv) await Promise.all([loadPage(), loadChildren()]);
  }
});

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// ------------------------------------------------------------------ start

for (const node of document.querySelectorAll(".page-origin")) node.textContent = location.origin;
{
  const { db, prefix } = readHash();
  if (db) {
    syncForm(db);
    if (db.kind === "remote") {
      setStatus(`Type the access token for ${db.url} and press Open (tokens are never kept in the URL).`);
      $("#remote-token").focus();
    } else {
      await openDatabase(db, { prefix });
    }
  } else {
    // First visit: the default database (the one openKv() opens, which the
    // playground also uses), at once; an empty one offers sample data.
    await openDatabase({ kind: "named", name: "default" });
  }
  document.body.dataset.ready = "true";
}
