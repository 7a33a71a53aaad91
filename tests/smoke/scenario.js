// The smoke scenario, shared by every runtime. Plain ES module, no imports:
// the caller passes the `webkv` module it imported (by package name where the
// runtime resolves names), so the same code runs in Node, Bun, workerd,
// a Chromium page and a Chromium module worker.
//
// runScenario(webkv) never throws. It returns
//   { runtime, checks: [{ name, actual, expected }] }
// where `actual` and `expected` are JSON-safe (see describe()) so results can
// cross HTTP or postMessage unchanged. The host asserts, for every check, that
// `actual` deep-equals `expected`, and that the last check, "scenario
// completed", is present and passed (it carries the error if a step threw).

/**
 * A JSON-safe, type-tagged picture of a value read back from webkv, so that a
 * Date read as a string, a bigint read as a number, a Map read as an object or
 * a Uint8Array read as a plain array all show as mismatches.
 */
export function describe(value, webkv) {
  if (value === null) return null;
  if (value === undefined) return { $undefined: true };
  switch (typeof value) {
    case "bigint":
      return { $bigint: value.toString() };
    case "number":
      if (!Number.isFinite(value) || Object.is(value, -0)) return { $number: String(value) };
      return value;
    case "string":
    case "boolean":
      return value;
    case "object":
      break;
    default:
      return { $unexpected: typeof value };
  }
  if (webkv && value instanceof webkv.KvU64) {
    return { $KvU64: value.value.toString(), frozen: Object.isFrozen(value) };
  }
  if (value instanceof Date) return { $Date: value.toISOString() };
  if (value instanceof Map) {
    return { $Map: [...value].map(([k, v]) => [describe(k, webkv), describe(v, webkv)]) };
  }
  if (value instanceof Set) return { $Set: [...value].map((v) => describe(v, webkv)) };
  if (value instanceof Uint8Array) {
    return { $Uint8Array: [...value], exact: Object.getPrototypeOf(value) === Uint8Array.prototype };
  }
  if (ArrayBuffer.isView(value)) return { $view: Object.prototype.toString.call(value) };
  if (Array.isArray(value)) return value.map((v) => describe(v, webkv));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return { $object: Object.prototype.toString.call(value), ctor: value.constructor?.name ?? null };
  }
  const out = {};
  for (const key of Object.keys(value)) out[key] = describe(value[key], webkv);
  return { $plain: out };
}

const VERSIONSTAMP = /^[0-9a-f]{20}$/;

function describeEntry(entry, webkv) {
  if (entry === null || typeof entry !== "object") return { $notAnEntry: String(entry) };
  return {
    keys: Object.keys(entry).sort(),
    key: describe(entry.key, webkv),
    value: describe(entry.value, webkv),
    versionstampShape: entry.versionstamp === null
      ? null
      : typeof entry.versionstamp === "string" && VERSIONSTAMP.test(entry.versionstamp)
      ? "20 hex digits"
      : `bad: ${String(entry.versionstamp)}`,
  };
}

function describeCommit(result) {
  if (result === null || typeof result !== "object") return { $notAResult: String(result) };
  const out = { keys: Object.keys(result).sort(), ok: result.ok };
  if ("versionstamp" in result) {
    out.versionstamp = typeof result.versionstamp === "string" && VERSIONSTAMP.test(result.versionstamp)
      ? "20 hex digits"
      : `bad: ${String(result.versionstamp)}`;
  }
  return out;
}

async function collect(iter, webkv) {
  const out = [];
  for await (const entry of iter) out.push([describe(entry.key, webkv), describe(entry.value, webkv)]);
  return out;
}

async function rejection(promiseFn) {
  try {
    await promiseFn();
  } catch (error) {
    return String(error?.message ?? error);
  }
  return "resolved: did not throw";
}

function errorText(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack ?? ""}`;
  return String(error);
}

export async function runScenario(webkv, runtime = "unknown") {
  const checks = [];
  const check = (name, actual, expected) => checks.push({ name, actual, expected });
  try {
    const { openKv, Kv, KvU64 } = webkv;
    check("exports", ["openKv", "Kv", "AtomicOperation", "KvU64", "KvListIterator"].map((n) => typeof webkv[n]), [
      "function", "function", "function", "function", "function",
    ]);

    const kv = await openKv(":memory:");
    check("openKv(':memory:') returns a Kv", kv instanceof Kv, true);

    // 1. An object with a Date, a Map, a bigint and nested values.
    const user = {
      name: "Alice",
      born: new Date(Date.UTC(1990, 0, 2, 3, 4, 5, 6)),
      tags: new Map([["role", "admin"], ["scores", [1, 2.5, -3]]]),
      big: 12345678901234567890123n,
      nested: { list: [1, "two", null, true], empty: {} },
    };
    const setResult = await kv.set(["users", "alice"], user);
    check("set: commit result", describeCommit(setResult), {
      keys: ["ok", "versionstamp"], ok: true, versionstamp: "20 hex digits",
    });
    const got = await kv.get(["users", "alice"]);
    check("get: entry of the object", describeEntry(got, webkv), {
      keys: ["key", "value", "versionstamp"],
      key: ["users", "alice"],
      value: {
        $plain: {
          name: "Alice",
          born: { $Date: "1990-01-02T03:04:05.006Z" },
          tags: { $Map: [["role", "admin"], ["scores", [1, 2.5, -3]]] },
          big: { $bigint: "12345678901234567890123" },
          nested: { $plain: { list: [1, "two", null, true], empty: { $plain: {} } } },
        },
      },
      versionstampShape: "20 hex digits",
    });
    check("get: versionstamp equals the set's", got.versionstamp === setResult.versionstamp, true);
    check("get: value is a copy, not the stored object", got.value !== user, true);

    // 2. A Uint8Array value.
    await kv.set(["bytes"], new Uint8Array([0, 1, 2, 127, 128, 254, 255]));
    const bytes = await kv.get(["bytes"]);
    check("Uint8Array value", describe(bytes.value, webkv), {
      $Uint8Array: [0, 1, 2, 127, 128, 254, 255], exact: true,
    });

    // 3. KvU64 and atomic sum (sum wraps at 2^64 as in Deno).
    await kv.set(["counter"], new KvU64(10n));
    const sum1 = await kv.atomic().sum(["counter"], 5n).sum(["counter"], 2n).commit();
    check("atomic sum: commit result", describeCommit(sum1), {
      keys: ["ok", "versionstamp"], ok: true, versionstamp: "20 hex digits",
    });
    check("atomic sum: 10 + 5 + 2", describe((await kv.get(["counter"])).value, webkv), {
      $KvU64: "17", frozen: true,
    });
    await kv.atomic().sum(["fresh"], 3n).commit();
    check("atomic sum on a missing key", describe((await kv.get(["fresh"])).value, webkv), {
      $KvU64: "3", frozen: true,
    });
    await kv.set(["wrap"], new KvU64(0xffffffffffffffffn));
    await kv.atomic().sum(["wrap"], 2n).commit();
    check("atomic sum wraps at 2^64", describe((await kv.get(["wrap"])).value, webkv), {
      $KvU64: "1", frozen: true,
    });

    // 4. Atomic checks: a stale versionstamp and a null versionstamp on an
    //    existing key fail with exactly { ok: false } and change nothing.
    const before = await kv.get(["users", "alice"]);
    const reSet = await kv.set(["users", "alice"], "v2");
    check("versionstamps increase", reSet.versionstamp > before.versionstamp, true);
    const stale = await kv.atomic()
      .check({ key: ["users", "alice"], versionstamp: before.versionstamp })
      .set(["users", "alice"], "should not be written")
      .set(["other"], "should not be written either")
      .commit();
    check("atomic check with a stale versionstamp fails", stale, { ok: false });
    const nullCheck = await kv.atomic()
      .check({ key: ["users", "alice"], versionstamp: null })
      .delete(["users", "alice"])
      .commit();
    check("atomic check versionstamp null on an existing key fails", nullCheck, { ok: false });
    const afterFail = await kv.getMany([["users", "alice"], ["other"]]);
    check("failed atomics wrote nothing", afterFail.map((e) => describe(e.value, webkv)), ["v2", null]);
    check("failed atomics kept the versionstamp", afterFail[0].versionstamp === reSet.versionstamp, true);
    const good = await kv.atomic()
      .check({ key: ["users", "alice"], versionstamp: reSet.versionstamp })
      .check({ key: ["other"], versionstamp: null })
      .set(["users", "alice"], "v3")
      .commit();
    check("atomic check with current versionstamps succeeds", describeCommit(good), {
      keys: ["ok", "versionstamp"], ok: true, versionstamp: "20 hex digits",
    });
    check("successful atomic wrote", describe((await kv.get(["users", "alice"])).value, webkv), "v3");

    // 5. List by prefix with a limit, then resume from the cursor.
    for (let i = 0; i < 5; i++) await kv.set(["items", i], `item-${i}`);
    await kv.set(["itemsZ"], "not under the prefix");
    const first = kv.list({ prefix: ["items"] }, { limit: 2 });
    check("list limit 2", await collect(first, webkv), [[["items", 0], "item-0"], [["items", 1], "item-1"]]);
    // Deno 2.9 gives this exact cursor for the same data.
    check("list cursor after the limit", first.cursor, "Ib_wAAAAAAAA");
    const second = kv.list({ prefix: ["items"] }, { cursor: first.cursor, limit: 2 });
    check("list resumed from the cursor", await collect(second, webkv), [
      [["items", 2], "item-2"], [["items", 3], "item-3"],
    ]);
    check("list cursor after the second page", second.cursor, "IcAIAAAAAAAA");
    const rest = kv.list({ prefix: ["items"] }, { cursor: second.cursor });
    check("list resumed to the end", await collect(rest, webkv), [[["items", 4], "item-4"]]);
    const reversed = kv.list({ prefix: ["items"] }, { reverse: true, limit: 2 });
    check("list reverse limit 2", await collect(reversed, webkv), [
      [["items", 4], "item-4"], [["items", 3], "item-3"],
    ]);

    // 6. Delete.
    check("delete returns undefined", describe(await kv.delete(["items", 0])), { $undefined: true });
    check("get after delete", describeEntry(await kv.get(["items", 0]), webkv), {
      keys: ["key", "value", "versionstamp"], key: ["items", 0], value: null, versionstampShape: null,
    });
    check("list after delete", (await collect(kv.list({ prefix: ["items"] }), webkv)).map(([k]) => k), [
      ["items", 1], ["items", 2], ["items", 3], ["items", 4],
    ]);

    // 7. Close: later calls fail as in Deno.
    check("close returns undefined", describe(kv.close()), { $undefined: true });
    check("get after close rejects", await rejection(() => kv.get(["bytes"])), "Bad resource ID");
    check("close twice throws", await rejection(() => kv.close()), "Bad resource ID");

    check("scenario completed", "completed", "completed");
  } catch (error) {
    check("scenario completed", `threw ${errorText(error)}`, "completed");
  }
  return { runtime, checks };
}

/** How many checks a complete run produces (hosts compare). */
export const CHECK_COUNT = 31;
