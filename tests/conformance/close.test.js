import { IS_DENO, KvU64, openKv, REMOTE, TARGET } from "./target.js";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.js";

// After close(), Deno fails every operation with Deno.errors.BadResource("Bad resource ID").
// That class is not a global, so the check is by name (plus instanceof Error); on the
// deno target we also check the real class.
const BAD = "BadResource";
const BAD_MSG = "Bad resource ID";

function checkClass(e) {
  if (IS_DENO) assert(e instanceof Deno.errors.BadResource, "is a Deno.errors.BadResource");
}

Deno.test(`[${TARGET}] close: every operation afterwards rejects with BadResource`, async () => {
  const kv = await openKv();
  await kv.set(["a"], 1);
  kv.close();
  checkClass(await assertRejects(() => kv.get(["a"]), BAD, BAD_MSG, "get"));
  await assertRejects(() => kv.getMany([["a"]]), BAD, BAD_MSG, "getMany");
  await assertRejects(() => kv.set(["a"], 2), BAD, BAD_MSG, "set");
  await assertRejects(() => kv.delete(["a"]), BAD, BAD_MSG, "delete");
  // creating the iterator / atomic is fine, using it is not
  const it = kv.list({ prefix: [] });
  await assertRejects(() => it.next(), BAD, BAD_MSG, "list next");
  const op = kv.atomic().set(["a"], 3);
  await assertRejects(() => op.commit(), BAD, BAD_MSG, "atomic commit");
  await assertRejects(() => kv.atomic().commit(), BAD, BAD_MSG, "empty atomic commit");
  await assertRejects(() => kv.atomic().check({ key: ["a"], versionstamp: null }).commit(), BAD, BAD_MSG, "check commit");
  await assertRejects(() => kv.atomic().sum(["n"], 1n).commit(), BAD, BAD_MSG, "sum commit");
  // argument validation that happens in JS still comes first
  await assertRejects(
    () => kv.set(["a"], 1, { expireIn: -1 }),
    TypeError,
    "expireIn must be a non-negative integer: received -1",
  );
  assertThrows(() => kv.list({ prefix: [] }, { limit: 0 }), Error, "Limit must be a positive integer: received 0");
  assertThrows(() => kv.atomic().sum(["n"], 1), TypeError, "Value must be a bigint: received number");
  // commitVersionstamp needs no database
  assertStrictEquals(typeof kv.commitVersionstamp(), "symbol");
});

Deno.test(`[${TARGET}] close: an iterator created before close fails on its next batch`, async () => {
  const kv = await openKv();
  for (let i = 0; i < 5; i++) await kv.set(["k", i], i);
  const it = kv.list({ prefix: ["k"] }, { batchSize: 2 });
  assertEquals((await it.next()).value.key, ["k", 0]);
  assertEquals((await it.next()).value.key, ["k", 1]);
  kv.close();
  await assertRejects(() => it.next(), BAD, BAD_MSG);
});

Deno.test(`[${TARGET}] close: a second close() throws synchronously`, async () => {
  const kv = await openKv();
  kv.close();
  checkClass(assertThrows(() => kv.close(), BAD, BAD_MSG));
});

Deno.test(`[${TARGET}] close: Symbol.dispose closes and is idempotent`, async () => {
  const kv = await openKv();
  assertStrictEquals(typeof kv[Symbol.dispose], "function");
  assertStrictEquals(kv[Symbol.asyncDispose], undefined);
  await kv.set(["a"], 1);
  kv[Symbol.dispose]();
  await assertRejects(() => kv.get(["a"]), BAD, BAD_MSG);
  kv[Symbol.dispose](); // no throw
  assertThrows(() => kv.close(), BAD, BAD_MSG, "close after dispose");

  const kv2 = await openKv();
  kv2.close();
  kv2[Symbol.dispose](); // dispose after close does not throw either
});

Deno.test(`[${TARGET}] close: \`using\` closes the database at the end of the block`, async () => {
  let escaped;
  {
    using kv = await openKv();
    escaped = kv;
    await kv.set(["x"], 1);
    assertEquals((await kv.get(["x"])).value, 1);
  }
  await assertRejects(() => escaped.get(["x"]), BAD, BAD_MSG);
});

Deno.test(`[${TARGET}] close: other open databases are unaffected`, async () => {
  const a = await openKv();
  const b = await openKv();
  try {
    await a.set(["k"], "a");
    await b.set(["k"], "b");
    a.close();
    assertEquals((await b.get(["k"])).value, "b");
    await b.set(["k2"], new KvU64(1n));
    await b.atomic().sum(["k2"], 1n).commit();
    assertEquals((await b.get(["k2"])).value, new KvU64(2n));
    const keys = [];
    for await (const e of b.list({ prefix: [] })) keys.push(e.key);
    assertEquals(keys, [["k"], ["k2"]]);
    await assertRejects(() => a.get(["k"]), BAD, BAD_MSG);
  } finally {
    b.close();
  }
});

Deno.test(`[${TARGET}] close: separate :memory: databases do not share data`, async () => {
  const a = await openKv(":memory:");
  const b = await openKv(":memory:");
  try {
    const { versionstamp } = await a.set(["shared?"], 1);
    if (REMOTE) {
      // Remote targets ignore the path: both are connections to the one server database.
      assertEquals((await b.get(["shared?"])).versionstamp, versionstamp);
    } else {
      assertEquals((await b.get(["shared?"])).versionstamp, null);
    }
  } finally {
    a.close();
    b.close();
  }
});
