// NDJSON export and import. One line per entry:
//   {"key": [typed parts], "value": typed value, "versionstamp": "0000000000000001000"}
// in the typed JSON form of typed-json.js, so every value type round-trips.
//
// Export reads the database page by page through one list iterator and turns
// each page into a Blob at once: what stays in memory is the text of the file
// (held by the browser's blob store), never an array of all entries. Import
// reads the file as a stream, line by line, and commits atomic batches of at
// most 1000 mutations (and well under the commit size limits).
import { keyFromTyped, keyToTyped, fromTyped, toTyped } from "./typed-json.js";
import { formatKey } from "./format.js";

export const PAGE = 500;

// Reads and commits on an in-memory database resolve without ever leaving the
// microtask queue; a long loop must give the page a turn now and then to
// paint its progress and answer clicks.
function yielder() {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < 25) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

/**
 * Exports every entry under `prefix` as an NDJSON Blob. `onProgress({ entries,
 * bytes })` is called after each page; `signal.aborted` stops the export.
 * Entries whose value cannot be written as a tree (a cycle) are skipped and
 * listed in `skipped`.
 */
export async function exportNdjson(kv, { prefix = [], signal, onProgress } = {}) {
  const chunks = [];
  const skipped = [];
  const breathe = yielder();
  let lines = [];
  let entries = 0;
  let bytes = 0;
  const flush = () => {
    if (lines.length === 0) return;
    const text = lines.join("");
    bytes += text.length;
    chunks.push(new Blob([text]));
    lines = [];
  };
  for await (const entry of kv.list({ prefix }, { batchSize: PAGE })) {
    let line;
    try {
      line = JSON.stringify({ key: keyToTyped(entry.key), value: toTyped(entry.value), versionstamp: entry.versionstamp });
    } catch (err) {
      skipped.push({ key: entry.key, reason: err.message });
      continue;
    }
    lines.push(line + "\n");
    entries++;
    if (lines.length === PAGE) {
      flush();
      onProgress?.({ entries, bytes });
      await breathe();
      if (signal?.aborted) throw new DOMException("Export cancelled", "AbortError");
    }
  }
  flush();
  onProgress?.({ entries, bytes });
  return { blob: new Blob(chunks, { type: "application/x-ndjson" }), entries, skipped };
}

/** Splits a stream of text into lines (without their "\n"). */
async function* lines(stream) {
  let rest = "";
  for await (const text of stream) {
    const parts = text.split("\n");
    parts[0] = rest + parts[0];
    rest = parts.pop();
    yield* parts;
  }
  if (rest) yield rest;
}

// Batches stay far below Deno's limits (1000 mutations, 800 KiB of keys and
// values, 80 KiB of keys) judging by the size of the JSON text, which is at
// least as long as a key's or value's encoding for nearly all values; a batch
// that is still too large is split in halves.
const MAX_MUTATIONS = 1000;
const MAX_BATCH_TEXT = 400 * 1024;
const MAX_BATCH_KEY_TEXT = 40 * 1024;

async function commitBatch(kv, batch) {
  const op = kv.atomic();
  for (const { key, value } of batch) op.set(key, value);
  try {
    const result = await op.commit();
    if (!result.ok) throw new Error("the commit was refused");
  } catch (err) {
    if (batch.length > 1 && /too large|Too many/.test(err.message)) {
      const half = Math.ceil(batch.length / 2);
      await commitBatch(kv, batch.slice(0, half));
      await commitBatch(kv, batch.slice(half));
      return;
    }
    const where = batch.length === 1 ? ` (line ${batch[0].line}, key ${formatKey(batch[0].key)})` : ` (lines ${batch[0].line}-${batch.at(-1).line})`;
    throw new Error(`${err.message}${where}`);
  }
}

/**
 * Imports an NDJSON file (a File or Blob) into `kv`, setting every entry (an
 * existing key is overwritten). `onProgress({ entries, bytesRead, total })`
 * follows the file; `signal.aborted` stops before the next batch. Batches
 * committed before an error or a cancel stay committed; the error names the
 * line.
 */
export async function importNdjson(kv, file, { signal, onProgress } = {}) {
  const total = file.size;
  let bytesRead = 0;
  let entries = 0;
  let lineNumber = 0;
  let batch = [];
  let batchText = 0;
  let batchKeyText = 0;
  const encoder = new TextEncoder();
  const breathe = yielder();
  const flush = async () => {
    if (batch.length === 0) return;
    if (signal?.aborted) throw new DOMException("Import cancelled", "AbortError");
    await commitBatch(kv, batch);
    entries += batch.length;
    batch = [];
    batchText = 0;
    batchKeyText = 0;
    onProgress?.({ entries, bytesRead, total });
    await breathe();
  };
  const text = file.stream().pipeThrough(new TextDecoderStream());
  for await (const line of lines(text)) {
    lineNumber++;
    bytesRead += encoder.encode(line).length + 1;
    if (!line.trim()) continue;
    let key;
    let value;
    let keyText;
    try {
      const record = JSON.parse(line);
      if (record === null || typeof record !== "object" || !Array.isArray(record.key) || !("value" in record)) {
        throw new SyntaxError(`expected {"key": [...], "value": ...}`);
      }
      key = keyFromTyped(record.key);
      value = fromTyped(record.value);
      keyText = JSON.stringify(record.key).length;
    } catch (err) {
      throw new SyntaxError(`line ${lineNumber}: ${err.message}`);
    }
    if (batch.length === MAX_MUTATIONS || batchText + line.length > MAX_BATCH_TEXT || batchKeyText + keyText > MAX_BATCH_KEY_TEXT) {
      await flush();
    }
    batch.push({ key, value, line: lineNumber });
    batchText += line.length;
    batchKeyText += keyText;
  }
  bytesRead = total;
  await flush();
  onProgress?.({ entries, bytesRead: total, total });
  return { entries, lines: lineNumber };
}
