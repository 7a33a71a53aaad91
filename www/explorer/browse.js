// Reading a database a little at a time: one page of entries under a prefix,
// and the distinct next key parts under a prefix (the tree's children),
// found by skipping from one child to the next rather than by listing every
// entry. Nothing here reads more than a page's worth of entries at once.
import { samePart } from "./format.js";

/** Counts what the explorer has read, so tests can tell it never loads everything. */
export const stats = { listCalls: 0, entriesRead: 0 };

/**
 * One page of entries under `prefix`: up to `limit` entries starting after
 * `cursor` (undefined: from the start), in `reverse` order. Returns the
 * entries, the cursor for the next page, and whether there is a next page
 * (it reads one entry more than the page to know).
 */
export async function readPage(kv, { prefix, limit, cursor, reverse }) {
  stats.listCalls++;
  const iter = kv.list({ prefix }, { limit: limit + 1, cursor: cursor || undefined, reverse, batchSize: limit + 1 });
  const entries = [];
  let next = null;
  let hasNext = false;
  for await (const entry of iter) {
    stats.entriesRead++;
    if (entries.length === limit) {
      hasNext = true;
      break;
    }
    entries.push(entry);
    if (entries.length === limit) next = iter.cursor;
  }
  return { entries, next: hasNext ? next : null, hasNext };
}

async function firstEntries(kv, prefix, start, count) {
  stats.listCalls++;
  const out = [];
  const selector = start ? { prefix, start } : { prefix };
  for await (const entry of kv.list(selector, { limit: count, batchSize: count })) {
    stats.entriesRead++;
    out.push(entry);
  }
  return out;
}

/**
 * The distinct next key parts under `prefix`, in key order: up to `max` of
 * them, after the part `after` (undefined: from the first). Each child says
 * whether `[...prefix, part]` is itself a key (`isKey`) and whether longer
 * keys lie under it (`hasChildren`).
 *
 * `true` is the greatest key part, so `[...prefix, part, true]` comes after
 * every key under `[...prefix, part]` except those continuing with `true`;
 * a further `true` skips those. Each child costs one or two reads of at most
 * two entries.
 */
export async function scanChildren(kv, prefix, { after, max = 40 } = {}) {
  const depth = prefix.length;
  const children = [];
  let skipping = after; // the part whose keys are being skipped
  let start = after === undefined ? null : [...prefix, after, true];
  let lookahead; // undefined: unknown; null: no more entries; else the first entry at or after start
  for (let guard = 0; guard < max * 8 + 64; guard++) {
    let first;
    let second;
    if (lookahead !== undefined) {
      first = lookahead;
      lookahead = undefined;
    } else {
      [first = null, second] = await firstEntries(kv, prefix, start, 2);
    }
    if (first === null) return { children, more: false };
    const part = first.key[depth];
    if (skipping !== undefined && samePart(part, skipping)) {
      start = [...start, true]; // a key under `skipping` continuing with true
      continue;
    }
    if (children.length === max) return { children, more: true };
    const isKey = first.key.length === depth + 1;
    let hasChildren = !isKey;
    if (isKey) {
      if (second === undefined) [, second] = await firstEntries(kv, prefix, first.key, 2);
      if (second && samePart(second.key[depth], part)) hasChildren = true;
      else lookahead = second ?? null; // the next child's first entry, already read
    }
    children.push({ part, isKey, hasChildren });
    skipping = part;
    start = [...prefix, part, true];
  }
  return { children, more: true };
}
