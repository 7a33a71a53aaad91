import { MAX_CHECKS, REMOTE, TARGET, openKv, serverError, withKv } from "./target.js";
import { assert, assertEquals, assertRejects } from "./assert.js";

async function count(kv) {
  let n = 0;
  for await (const _ of kv.list({ prefix: [] })) n++;
  return n;
}

Deno.test(`[${TARGET}] limits: at most 100 checks`, () =>
  withKv(async (kv) => {
    const op = (n) => {
      const a = kv.atomic();
      for (let i = 0; i < n; i++) a.check({ key: ["c", i], versionstamp: null });
      return a.set(["written"], n);
    };
    if (REMOTE) {
      // denokv allows only 10 checks per commit; the client's own limit of 100 still comes
      // first (checked before anything is sent).
      assert((await op(10).commit()).ok);
      await assertRejects(() => op(11).commit(), ...serverError("Too many checks included in atomic write."));
      await assertRejects(() => op(100).commit(), ...serverError("Too many checks included in atomic write."));
      await assertRejects(() => op(101).commit(), TypeError, "Too many checks (max 100)");
      assertEquals((await kv.get(["written"])).value, 10);
      return;
    }
    assert((await op(100).commit()).ok);
    await assertRejects(() => op(101).commit(), TypeError, "Too many checks (max 100)");
    assertEquals((await kv.get(["written"])).value, 100);
  }));

Deno.test(`[${TARGET}] limits: at most 1000 mutations of any kind`, () =>
  withKv(async (kv) => {
    const sets = (n) => {
      const a = kv.atomic();
      for (let i = 0; i < n; i++) a.set(["m", i], i);
      return a;
    };
    assert((await sets(1000).commit()).ok);
    assertEquals(await count(kv), 1000);
    await kv.atomic().delete(["m", 0]).commit();
    await assertRejects(() => sets(1001).commit(), TypeError, "Too many mutations (max 1000)");
    assertEquals((await kv.get(["m", 0])).versionstamp, null, "nothing written");
    const dels = kv.atomic();
    for (let i = 0; i < 1001; i++) dels.delete(["m", i]);
    await assertRejects(() => dels.commit(), TypeError, "Too many mutations (max 1000)");
    const mixed = kv.atomic();
    for (let i = 0; i < 250; i++) {
      mixed.set(["x", i], 1).delete(["y", i]).sum(["z", i], 1n).max(["w", i], 1n);
    }
    mixed.min(["last"], 1n);
    await assertRejects(() => mixed.commit(), TypeError, "Too many mutations (max 1000)");
    // checks do not count as mutations (MAX_CHECKS: 10 on remote targets, denokv's limit)
    const withChecks = kv.atomic();
    for (let i = 0; i < MAX_CHECKS; i++) withChecks.check({ key: ["c", i], versionstamp: null });
    for (let i = 0; i < 1000; i++) withChecks.delete(["m", i]);
    assert((await withChecks.commit()).ok);
    assertEquals(await count(kv), 0);
  }));

Deno.test(`[${TARGET}] limits: too many checks is reported before too many mutations`, () =>
  withKv(async (kv) => {
    const a = kv.atomic();
    for (let i = 0; i < 101; i++) a.check({ key: ["c", i], versionstamp: null });
    for (let i = 0; i < 1001; i++) a.set(["x", i], 1);
    await assertRejects(() => a.commit(), TypeError, "Too many checks (max 100)");
    const b = kv.atomic();
    for (let i = 0; i < 1001; i++) b.set(["x", i], 1);
    b.set(["big"], new Uint8Array(70000));
    b.set(["k".repeat(3000)], 1);
    await assertRejects(() => b.commit(), TypeError, "Too many mutations (max 1000)");
  }));

// Total mutation size = sum over checks and mutations of the key size, plus, for
// mutations carrying a value, the key size again and the value size.
Deno.test(`[${TARGET}] limits: total mutation size is at most 819200 bytes`, () =>
  withKv(async (kv) => {
    const MSG = "Total mutation size too large (max 819200 bytes)";
    const full = new Uint8Array(65536);
    // keys [Uint8Array([i])] encode to 3 bytes; 12 * (3 + 3 + 65536) = 786504
    const build = (last, extra) => {
      const a = kv.atomic();
      for (let i = 1; i <= 12; i++) a.set([new Uint8Array([i])], full);
      extra?.(a);
      // + 3 + 3 + last
      return a.set([new Uint8Array([99])], new Uint8Array(last));
    };
    assert((await build(32690).commit()).ok, "exactly 819200 bytes");
    await assertRejects(() => build(32691).commit(), TypeError, MSG);
    // a check or a delete adds its key size once (3 bytes)
    const check = (a) => a.check({ key: [new Uint8Array([200])], versionstamp: null });
    const del = (a) => a.delete([new Uint8Array([201])]);
    assert((await build(32687, check).commit()).ok);
    await assertRejects(() => build(32688, check).commit(), TypeError, MSG);
    assert((await build(32687, del).commit()).ok);
    await assertRejects(() => build(32688, del).commit(), TypeError, MSG);
    // an empty value still adds its key twice (6 bytes)
    const setEmpty = (a) => a.set([new Uint8Array([202])], new Uint8Array(0));
    assert((await build(32684, setEmpty).commit()).ok);
    await assertRejects(() => build(32685, setEmpty).commit(), TypeError, MSG);
    // failed commits wrote nothing: only the 13 + 1 keys of the successful ones exist
    assertEquals(await count(kv), 14);
  }));

Deno.test(`[${TARGET}] limits: total key size of value mutations is at most 81920 bytes`, () =>
  withKv(async (kv) => {
    const MSG = "Total key size too large (max 81920 bytes)";
    // 2048-byte keys: (1 + 2043 + 1) + (1 + 1 + 1)
    const K = (i) => [new Uint8Array(2043).fill(1), new Uint8Array([i + 1])];
    const sets = (n) => {
      const a = kv.atomic();
      for (let i = 0; i < n; i++) a.set(K(i), 0);
      return a;
    };
    assert((await sets(40).commit()).ok, "40 * 2048 = 81920");
    await assertRejects(() => sets(41).commit(), TypeError, MSG);
    await assertRejects(() => sets(40).set(["x"], 0).commit(), TypeError, MSG);
    const sums = kv.atomic();
    for (let i = 100; i < 141; i++) sums.sum(K(i), 1n);
    await assertRejects(() => sums.commit(), TypeError, MSG);
    const minmax = kv.atomic();
    for (let i = 100; i < 120; i++) minmax.min(K(i), 1n).max(K(i + 50), 1n);
    minmax.max(K(200), 1n);
    await assertRejects(() => minmax.commit(), TypeError, MSG);
    // commitVersionstamp keys count without the stamp
    const vs = kv.atomic();
    for (let i = 0; i < 41; i++) vs.set([...K(i), kv.commitVersionstamp()], 0);
    await assertRejects(() => vs.commit(), TypeError, MSG);
    // deletes and checks do not count
    const a = kv.atomic();
    for (let i = 0; i < 40; i++) a.set(K(i), 1);
    for (let i = 40; i < 100; i++) a.delete(K(i));
    for (let i = 0; i < MAX_CHECKS; i++) a.check({ key: K(i + 100), versionstamp: null });
    assert((await a.commit()).ok);
    assertEquals(await count(kv), 40);
    // when both totals are exceeded, the mutation size is reported
    const both = kv.atomic();
    for (let i = 0; i < 41; i++) both.set(K(i), new Uint8Array(20000));
    await assertRejects(() => both.commit(), TypeError, "Total mutation size too large (max 819200 bytes)");
  }));

Deno.test(`[${TARGET}] limits: per-key and per-value limits inside an atomic`, () =>
  withKv(async (kv) => {
    await assertRejects(
      () => kv.atomic().set(["ok"], 1).set(["v"], new Uint8Array(65537)).commit(),
      TypeError,
      "Value too large (max 65536 bytes)",
    );
    await assertRejects(
      () => kv.atomic().set(["ok"], 1).set(["k".repeat(2047)], 1).commit(),
      TypeError,
      "Key too large for write (max 2048 bytes)",
    );
    await assertRejects(
      () => kv.atomic().set(["ok"], 1).check({ key: ["k".repeat(2047)], versionstamp: null }).commit(),
      TypeError,
      "Key too large for write (max 2048 bytes)",
    );
    assertEquals(await count(kv), 0);
  }));
