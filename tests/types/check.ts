// Type-level test for pkg-template/index.d.ts. Never executed: it only has
// to type-check with real Deno's declarations in scope:
//
//   node_modules/@deno/linux-x64-glibc/deno check --unstable-kv tests/types/check.ts
//
// (see tests/types/run.sh). It has three parts:
//   1. typical Deno KV code written against webkv's declarations;
//   2. structural compatibility assertions between webkv's types and the
//      global `Deno.*` KV types (mutual assignability, in both directions);
//   3. `@ts-expect-error` lines, which fail the check if they stop erroring,
//      so the file cannot pass vacuously (e.g. if a type collapsed to `any`).

import type {
  AtomicCheck,
  AtomicOperation,
  Kv,
  KvCheck,
  KvCommitError,
  KvCommitResult,
  KvConsistencyLevel,
  KvEntry,
  KvEntryMaybe,
  KvKey,
  KvKeyPart,
  KvListIterator,
  KvListOptions,
  KvListSelector,
  KvMutation,
  OpenKvOptions,
} from "../../pkg-template/index.d.ts";
import type * as webkv from "../../pkg-template/index.d.ts";

// Values exported by the package (this file is only type-checked).
declare const openKv: typeof webkv.openKv;
declare const deleteKv: typeof webkv.deleteKv;
declare const wasmMemoryBytes: typeof webkv.wasmMemoryBytes;
declare const KvU64: typeof webkv.KvU64;
type KvU64 = webkv.KvU64;
declare const KvClass: typeof webkv.Kv;
declare const AtomicOperationClass: typeof webkv.AtomicOperation;
declare const KvListIteratorClass: typeof webkv.KvListIterator;

// ---------------------------------------------------------------------------
// Type-level assertion helpers
// ---------------------------------------------------------------------------

/** Compiles only if `T` is exactly `true`. */
type Assert<T extends true> = T;
/** Non-distributive "A is assignable to B". */
type IsAssignable<A, B> = [A] extends [B] ? true : false;
/** A is assignable to B and B to A. */
type IsMutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false)
  : false;
/** Strict identity as TypeScript's checker sees it (stronger than mutual
 * assignability: no `any` leakage, same optionality/readonly-ness). */
type IsIdentical<A, B> = (<G>() => G extends A ? 1 : 2) extends
  (<G>() => G extends B ? 1 : 2) ? true : false;
/** Guard the helpers themselves against being vacuous. */
type IsAny<T> = 0 extends 1 & T ? true : false;
type _h1 = Assert<IsMutuallyAssignable<string, string>>;
// @ts-expect-error string and number are not mutually assignable
type _h2 = Assert<IsMutuallyAssignable<string, number>>;
// @ts-expect-error only one direction holds
type _h3 = Assert<IsMutuallyAssignable<"a", string>>;
// @ts-expect-error any is not identical to unknown
type _h4 = Assert<IsIdentical<any, unknown>>;
type _h5 = Assert<IsAssignable<"a", string>>;

// ---------------------------------------------------------------------------
// 1. Typical Deno KV code, written against webkv
// ---------------------------------------------------------------------------

interface User {
  name: string;
  email: string;
  age?: number;
}

async function typicalUsage(): Promise<void> {
  const opts: OpenKvOptions = { accessToken: "secret" };
  const kv: Kv = await openKv();
  const mem = await openKv(":memory:");
  const named = await openKv("my-app");
  const remote = await openKv("https://kv.example.com/db", opts);
  const remote2 = await openKv("https://kv.example.com/db", {});
  const bytes: number = wasmMemoryBytes();
  const deleted: Promise<void> = deleteKv("my-app");
  await deleteKv();
  void bytes, deleted, mem, named, remote, remote2;

  // openKv(ctx.storage) in a Durable Object: a structural stand-in for
  // Cloudflare's DurableObjectStorage (its members as workers-types spells
  // them, options included).
  const storage = {
    sql: {} as { exec(query: string, ...bindings: unknown[]): unknown },
    transactionSync<T>(closure: () => T): T {
      return closure();
    },
    getAlarm(_options?: { allowConcurrency?: boolean }): Promise<number | null> {
      return Promise.resolve(null);
    },
    setAlarm(_time: number | Date, _options?: { allowUnconfirmed?: boolean }): Promise<void> {
      return Promise.resolve();
    },
    deleteAlarm(): Promise<void> {
      return Promise.resolve();
    },
  };
  const objectKv = await openKv(storage);
  const asKv: Kv = objectKv;
  await objectKv.alarm();
  // @ts-expect-error: alarm() is only on a Durable Object's Kv.
  await kv.alarm();
  void asKv;

  // set / get<T>
  const setRes: KvCommitResult = await kv.set(["users", "alice"], {
    name: "Alice",
    email: "alice@example.com",
  } satisfies User);
  const vs: string = setRes.versionstamp;
  const ok: true = setRes.ok;
  await kv.set(["session", crypto.randomUUID()], "token", { expireIn: 60_000 });

  const entry = await kv.get<User>(["users", "alice"]);
  const e1: KvEntryMaybe<User> = entry;
  if (entry.value !== null) {
    // Narrowed to KvEntry<User>.
    const name: string = entry.value.name;
    const stamp: string = entry.versionstamp;
    const asEntry: KvEntry<User> = entry;
    void name, stamp, asEntry;
  } else {
    const nullStamp: null = entry.versionstamp;
    void nullStamp;
  }
  const untyped = await kv.get(["x"], { consistency: "eventual" });
  const uv: unknown = untyped.value;
  const k: KvKey = untyped.key;
  void e1, uv, k, vs, ok;

  // getMany with a tuple of value types
  const [a, b] = await kv.getMany<[User, number]>([["users", "alice"], ["n"]]);
  const aName: string | undefined = a.value?.name;
  const bNum: number | null = b.value;
  void aName, bNum;
  const many = await kv.getMany([["a"], ["b"], ["c"]] as const, {
    consistency: "strong",
  });
  const manyLen: 3 = many.length;
  void manyLen;

  // list<T> with for-await, selectors and options
  const iter: KvListIterator<User> = kv.list<User>({ prefix: ["users"] });
  for await (const e of iter) {
    const key: KvKey = e.key;
    const u: User = e.value;
    const v: string = e.versionstamp;
    void key, u, v;
  }
  const cursor: string = iter.cursor;
  const opt: KvListOptions = {
    limit: 10,
    reverse: true,
    cursor,
    consistency: "eventual",
    batchSize: 100,
  };
  for await (const e of kv.list<number>({ start: ["a"], end: ["z"] }, opt)) {
    const n: number = e.value;
    void n;
  }
  kv.list({ prefix: ["users"], start: ["users", "b"] });
  kv.list({ prefix: ["users"], end: ["users", "m"] });
  const next = await kv.list<string>({ prefix: [] }).next();
  if (!next.done) {
    const s: string = next.value.value;
    void s;
  }
  const arr: KvEntry<User>[] = await Array.fromAsync(
    kv.list<User>({ prefix: ["users"] }),
  );
  void arr;

  // Key parts of every kind
  const parts: KvKeyPart[] = [new Uint8Array([1]), "s", 1.5, 2n, true];
  await kv.set(parts, null);
  await kv.delete(["users", "alice"]);

  // Atomic chains with checks, KvU64 and optimistic locking
  const atomicRes = await kv.atomic()
    .check({ key: ["users", "alice"], versionstamp: entry.versionstamp })
    .check({ key: ["users", "bob"], versionstamp: null })
    .set(["users", "bob"], { name: "Bob", email: "b@example.com" })
    .set(["tmp"], 1, { expireIn: 1000 })
    .delete(["users", "carol"])
    .sum(["visits"], 1n)
    .min(["lowest"], 5n)
    .max(["highest"], 10n)
    .mutate(
      { type: "set", key: ["m"], value: 1 },
      { type: "set", key: ["m2"], value: 1, expireIn: 10 },
      { type: "delete", key: ["m"] },
      { type: "sum", key: ["c"], value: new KvU64(1n) },
      { type: "max", key: ["c"], value: new KvU64(2n) },
      { type: "min", key: ["c"], value: new KvU64(0n) },
    )
    .enqueue({ job: "email" }, { delay: 100, keysIfUndelivered: [["failed"]] })
    .commit();
  if (atomicRes.ok) {
    const s: string = atomicRes.versionstamp;
    void s;
  } else {
    const err: KvCommitError = atomicRes;
    void err;
  }
  const op: AtomicOperation = kv.atomic();
  const checks: AtomicCheck[] = [{ key: ["a"], versionstamp: null }];
  const checks2: KvCheck[] = checks;
  const muts: KvMutation[] = [{ type: "delete", key: ["a"] }];
  op.check(...checks2).mutate(...muts);

  // KvU64 values
  const counter = await kv.get<KvU64>(["visits"]);
  const visits: bigint = counter.value?.value ?? 0n;
  const u = new KvU64(42n);
  const uval: bigint = u.value;
  await kv.set(["visits"], u);
  void visits, uval;

  // commitVersionstamp as the last key part
  const stampSym: symbol = kv.commitVersionstamp();
  await kv.set(["log", stampSym], "event");
  await kv.atomic().set(["log", kv.commitVersionstamp()], "event").commit();

  // watch
  const stream = kv.watch<[User, number]>([["users", "alice"], ["n"]]);
  const s1: ReadableStream<[KvEntryMaybe<User>, KvEntryMaybe<number>]> =
    stream;
  for await (const [w1, w2] of stream) {
    const wn: string | undefined = w1.value?.name;
    const wv: number | null = w2.value;
    void wn, wv;
    break;
  }
  kv.watch([["a"]], { raw: true });
  void s1;

  // Queues
  await kv.enqueue({ hello: "world" });
  await kv.enqueue("x", {
    delay: 60_000,
    keysIfUndelivered: [["foo", "bar"]],
    backoffSchedule: [1000, 5000, 10000],
  });
  const listening: Promise<void> = kv.listenQueue(async (msg: unknown) => {
    await kv.set(["last"], msg);
  });
  kv.listenQueue((msg) => {
    // handler parameter is `any`, exactly as in Deno
    const _n: number = msg;
  });
  void listening;

  // Consistency levels
  const cl: KvConsistencyLevel = "strong";
  await kv.get(["x"], { consistency: cl });

  // instanceof against the exported classes
  const maybe: unknown = kv;
  if (maybe instanceof KvClass) {
    const narrowed: Kv = maybe;
    void narrowed;
  }
  const isOp: boolean = op instanceof AtomicOperationClass;
  const isIter: boolean = iter instanceof KvListIteratorClass;
  const isU64: boolean = u instanceof KvU64;
  void isOp, isIter, isU64;

  // Explicit resource management
  {
    using scoped = await openKv(":memory:");
    await scoped.set(["k"], "v");
  }
  const d: Disposable = kv;
  void d;

  kv.close();
}
void typicalUsage;

// ---------------------------------------------------------------------------
// 2. Structural compatibility with Deno's declarations
// ---------------------------------------------------------------------------

// Every KV type, both directions, at several instantiations.
type _c01 = Assert<IsMutuallyAssignable<Kv, Deno.Kv>>;
type _c02 = Assert<IsMutuallyAssignable<AtomicOperation, Deno.AtomicOperation>>;
type _c03 = Assert<IsMutuallyAssignable<KvEntry<string>, Deno.KvEntry<string>>>;
type _c04 = Assert<IsMutuallyAssignable<KvEntry<User>, Deno.KvEntry<User>>>;
type _c05 = Assert<IsMutuallyAssignable<KvEntry<unknown>, Deno.KvEntry<unknown>>>;
type _c06 = Assert<
  IsMutuallyAssignable<KvEntryMaybe<User>, Deno.KvEntryMaybe<User>>
>;
type _c07 = Assert<IsMutuallyAssignable<KvListSelector, Deno.KvListSelector>>;
type _c08 = Assert<IsMutuallyAssignable<KvListOptions, Deno.KvListOptions>>;
type _c09 = Assert<IsMutuallyAssignable<KvCommitResult, Deno.KvCommitResult>>;
type _c10 = Assert<IsMutuallyAssignable<KvCommitError, Deno.KvCommitError>>;
type _c11 = Assert<IsMutuallyAssignable<KvU64, Deno.KvU64>>;
type _c12 = Assert<
  IsMutuallyAssignable<KvListIterator<User>, Deno.KvListIterator<User>>
>;
type _c13 = Assert<
  IsMutuallyAssignable<KvListIterator<unknown>, Deno.KvListIterator<unknown>>
>;
type _c14 = Assert<IsMutuallyAssignable<KvKey, Deno.KvKey>>;
type _c15 = Assert<IsMutuallyAssignable<KvKeyPart, Deno.KvKeyPart>>;
type _c16 = Assert<
  IsMutuallyAssignable<KvConsistencyLevel, Deno.KvConsistencyLevel>
>;
type _c17 = Assert<IsMutuallyAssignable<KvMutation, Deno.KvMutation>>;
type _c18 = Assert<IsMutuallyAssignable<AtomicCheck, Deno.AtomicCheck>>;
type _c19 = Assert<IsMutuallyAssignable<KvCheck, Deno.AtomicCheck>>;
// The static side: constructor of KvU64, and openKv. webkv's openKv
// serves wherever Deno's is expected; the reverse fails only because of
// the Durable Object overload (openKv(ctx.storage)), so Deno's is checked
// against webkv's path overload.
type _c20 = Assert<IsMutuallyAssignable<typeof KvU64, typeof Deno.KvU64>>;
type _c21 = Assert<
  IsAssignable<typeof webkv.openKv, typeof Deno.openKv>
>;
type _c23 = Assert<
  IsMutuallyAssignable<
    (path?: string, options?: webkv.OpenKvOptions) => Promise<Kv>,
    typeof Deno.openKv
  >
>;
type _c24 = Assert<
  IsIdentical<
    typeof webkv.openKv,
    {
      (storage: webkv.DurableObjectStorageLike): Promise<webkv.DurableObjectKv>;
      (path?: string, options?: webkv.OpenKvOptions): Promise<Kv>;
    }
  >
>;
type _c25 = Assert<IsAssignable<webkv.DurableObjectKv, Deno.Kv>>;
type _c22 = Assert<
  IsIdentical<ConstructorParameters<typeof KvU64>, [value: bigint]>
>;

// Strict identity where TypeScript can establish it, i.e. not only
// assignable but the same type member by member.
type _i01 = Assert<IsIdentical<KvKey, Deno.KvKey>>;
type _i02 = Assert<IsIdentical<KvKeyPart, Deno.KvKeyPart>>;
type _i03 = Assert<IsIdentical<KvConsistencyLevel, Deno.KvConsistencyLevel>>;
type _i04 = Assert<IsIdentical<KvEntry<User>, Deno.KvEntry<User>>>;
type _i05 = Assert<IsIdentical<KvEntryMaybe<User>, Deno.KvEntryMaybe<User>>>;
type _i06 = Assert<IsIdentical<KvListSelector, Deno.KvListSelector>>;
type _i07 = Assert<IsIdentical<KvListOptions, Deno.KvListOptions>>;
type _i08 = Assert<IsIdentical<KvCommitResult, Deno.KvCommitResult>>;
type _i09 = Assert<IsIdentical<KvCommitError, Deno.KvCommitError>>;
type _i10 = Assert<IsIdentical<KvMutation, Deno.KvMutation>>;
type _i11 = Assert<IsIdentical<AtomicCheck, Deno.AtomicCheck>>;
type _i12 = Assert<IsIdentical<KvU64, Deno.KvU64>>;
// The classes themselves are identical too (this also catches differences
// that mutual assignability tolerates, e.g. an extra optional option).
type _i13 = Assert<IsIdentical<Kv, Deno.Kv>>;
type _i14 = Assert<IsIdentical<AtomicOperation, Deno.AtomicOperation>>;
type _i15 = Assert<IsIdentical<KvListIterator<User>, Deno.KvListIterator<User>>>;
type _i16 = Assert<IsIdentical<typeof KvU64, typeof Deno.KvU64>>;
type _i17 = Assert<IsIdentical<AtomicCheck, KvCheck>>;
// The classes are exported as values (constructors) like Deno's, so
// `instanceof` works; their static sides are identical too.
type _i23 = Assert<IsIdentical<typeof webkv.Kv, typeof Deno.Kv>>;
type _i24 = Assert<
  IsIdentical<typeof webkv.AtomicOperation, typeof Deno.AtomicOperation>
>;
type _i25 = Assert<
  IsIdentical<typeof webkv.KvListIterator, typeof Deno.KvListIterator>
>;
// openKv is Deno's openKv plus an optional options argument.
type _i18 = Assert<
  IsIdentical<
    Parameters<typeof webkv.openKv>,
    [path?: string, options?: OpenKvOptions]
  >
>;
type _i19 = Assert<
  IsIdentical<ReturnType<typeof webkv.openKv>, ReturnType<typeof Deno.openKv>>
>;
type _i20 = Assert<IsIdentical<OpenKvOptions, { accessToken?: string; cacheBytes?: number }>>;
type _i21 = Assert<IsIdentical<typeof webkv.deleteKv, (name?: string) => Promise<void>>>;
type _i22 = Assert<IsIdentical<typeof webkv.wasmMemoryBytes, () => number>>;

// Method by method on Kv, AtomicOperation and KvListIterator, so that a
// failure points at the offending member.
type KvMethods = Exclude<keyof Deno.Kv, symbol>;
type AtomicMethods = keyof Deno.AtomicOperation;
type _m00 = Assert<IsIdentical<keyof Kv, keyof Deno.Kv>>;
type _m01 = Assert<IsIdentical<keyof AtomicOperation, keyof Deno.AtomicOperation>>;
type _m02 = Assert<IsIdentical<keyof KvListIterator<1>, keyof Deno.KvListIterator<1>>>;
type SameMethods<A, B, K extends keyof A & keyof B> = {
  [P in K]: IsIdentical<A[P], B[P]>;
}[K];
type _m03 = Assert<SameMethods<Kv, Deno.Kv, KvMethods>>;
type _m04 = Assert<SameMethods<AtomicOperation, Deno.AtomicOperation, AtomicMethods>>;
type _m05 = Assert<
  IsIdentical<Kv[typeof Symbol.dispose], Deno.Kv[typeof Symbol.dispose]>
>;
type _m06 = Assert<
  SameMethods<KvListIterator<User>, Deno.KvListIterator<User>, "next" | "cursor">
>;
type _m07 = Assert<
  IsIdentical<
    KvListIterator<User>[typeof Symbol.asyncIterator],
    Deno.KvListIterator<User>[typeof Symbol.asyncIterator]
  >
>;
// Return types of the generic Kv methods at concrete instantiations.
type _r01 = Assert<
  IsIdentical<
    Awaited<ReturnType<Kv["get"]>>,
    Awaited<ReturnType<Deno.Kv["get"]>>
  >
>;
type _r02 = Assert<
  IsIdentical<
    Parameters<Kv["listenQueue"]>,
    Parameters<Deno.Kv["listenQueue"]>
  >
>;
type _r03 = Assert<
  IsIdentical<Parameters<Kv["enqueue"]>, Parameters<Deno.Kv["enqueue"]>>
>;
type _r04 = Assert<
  IsIdentical<
    Parameters<AtomicOperation["enqueue"]>,
    Parameters<Deno.AtomicOperation["enqueue"]>
  >
>;
type _r05 = Assert<
  IsIdentical<Parameters<Kv["set"]>, Parameters<Deno.Kv["set"]>>
>;
type _r06 = Assert<
  IsIdentical<Parameters<Kv["list"]>, Parameters<Deno.Kv["list"]>>
>;
type _r07 = Assert<IsAny<Parameters<Parameters<Kv["listenQueue"]>[0]>[0]>>;

// Value-level: code written for Deno.Kv accepts a webkv Kv and vice versa,
// for each type (no casts).
declare const wKv: Kv;
declare const dKv: Deno.Kv;
declare const wOp: AtomicOperation;
declare const dOp: Deno.AtomicOperation;
declare const wEntry: KvEntry<User>;
declare const dEntry: Deno.KvEntry<User>;
declare const wSel: KvListSelector;
declare const dSel: Deno.KvListSelector;
declare const wOpts: KvListOptions;
declare const dOpts: Deno.KvListOptions;
declare const wRes: KvCommitResult;
declare const dRes: Deno.KvCommitResult;
declare const wU64: KvU64;
declare const dU64: Deno.KvU64;
declare const wIter: KvListIterator<User>;
declare const dIter: Deno.KvListIterator<User>;

function takesDenoKv(_kv: Deno.Kv): void {}
function takesWebkvKv(_kv: Kv): void {}
takesDenoKv(wKv);
takesWebkvKv(dKv);
takesDenoKv(await openKv(":memory:"));
takesWebkvKv(await Deno.openKv(":memory:"));

function takesDenoOp(_op: Deno.AtomicOperation): void {}
function takesWebkvOp(_op: AtomicOperation): void {}
takesDenoOp(wOp);
takesWebkvOp(dOp);
takesDenoOp(wKv.atomic().set(["a"], 1));
takesWebkvOp(dKv.atomic().sum(["a"], 1n));

function takesDenoEntry(_e: Deno.KvEntry<User>): void {}
function takesWebkvEntry(_e: KvEntry<User>): void {}
takesDenoEntry(wEntry);
takesWebkvEntry(dEntry);

function takesDenoSel(_s: Deno.KvListSelector): void {}
function takesWebkvSel(_s: KvListSelector): void {}
takesDenoSel(wSel);
takesWebkvSel(dSel);

function takesDenoOpts(_o: Deno.KvListOptions): void {}
function takesWebkvOpts(_o: KvListOptions): void {}
takesDenoOpts(wOpts);
takesWebkvOpts(dOpts);

function takesDenoRes(_r: Deno.KvCommitResult): void {}
function takesWebkvRes(_r: KvCommitResult): void {}
takesDenoRes(wRes);
takesWebkvRes(dRes);
takesDenoRes(await wKv.set(["a"], 1));
takesWebkvRes(await dKv.set(["a"], 1));

function takesDenoU64(_u: Deno.KvU64): void {}
function takesWebkvU64(_u: KvU64): void {}
takesDenoU64(wU64);
takesWebkvU64(dU64);
takesDenoU64(new KvU64(1n));
takesWebkvU64(new Deno.KvU64(1n));

function takesDenoIter(_i: Deno.KvListIterator<User>): void {}
function takesWebkvIter(_i: KvListIterator<User>): void {}
takesDenoIter(wIter);
takesWebkvIter(dIter);
takesDenoIter(wKv.list<User>({ prefix: [] }));
takesWebkvIter(dKv.list<User>({ prefix: [] }));

// Results of one side flow into the other side's APIs.
const wGot = await wKv.get<User>(["k"]);
await dKv.atomic().check(wGot).commit();
const dGot = await dKv.get<User>(["k"]);
await wKv.atomic().check(dGot).commit();
const dWatch: ReadableStream<[Deno.KvEntryMaybe<User>]> = wKv.watch<[User]>([[
  "k",
]]);
const wWatch: ReadableStream<[KvEntryMaybe<User>]> = dKv.watch<[User]>([["k"]]);
const dMany: [Deno.KvEntryMaybe<User>, Deno.KvEntryMaybe<number>] = await wKv
  .getMany<[User, number]>([["a"], ["b"]]);
void dWatch, wWatch, dMany;

// A generic helper written for Deno (as in existing Deno KV libraries).
async function incrementDeno(kv: Deno.Kv, key: Deno.KvKey): Promise<bigint> {
  await kv.atomic().sum(key, 1n).commit();
  return (await kv.get<Deno.KvU64>(key)).value?.value ?? 0n;
}
const viaDenoHelper: bigint = await incrementDeno(wKv, ["counter"]);
void viaDenoHelper;

// ---------------------------------------------------------------------------
// 3. Things that must NOT type-check
// ---------------------------------------------------------------------------

async function mustFail(kv: Kv): Promise<void> {
  // @ts-expect-error objects are not key parts
  await kv.set(["users", { id: 1 }], "v");
  // @ts-expect-error null is not a key part
  await kv.get(["a", null]);
  // @ts-expect-error a key is an array, not a string
  await kv.delete("users");
  // @ts-expect-error a range selector needs both start and end
  kv.list({ start: ["a"] });
  // @ts-expect-error unknown consistency level
  await kv.get(["a"], { consistency: "weak" });
  // @ts-expect-error sum takes a bigint, not a number
  kv.atomic().sum(["c"], 1);
  // @ts-expect-error sum mutation requires a KvU64 value
  kv.atomic().mutate({ type: "sum", key: ["c"], value: 1n });
  // @ts-expect-error check requires a versionstamp
  kv.atomic().check({ key: ["a"] });
  // @ts-expect-error set returns KvCommitResult, whose ok is true
  const _bad: false = (await kv.set(["a"], 1)).ok;
  const e = await kv.get<string>(["a"]);
  // @ts-expect-error value may be null
  const _s: string = e.value;
  // @ts-expect-error get<T> gives T, not any
  const _n: number = (await kv.get<string>(["a"])).value!;
  for await (const entry of kv.list<User>({ prefix: [] })) {
    // @ts-expect-error list<T> entries carry T
    const _x: number = entry.value;
  }
  // @ts-expect-error KvU64 requires a bigint
  new KvU64(1);
  // @ts-expect-error accessToken must be a string
  await openKv("https://x", { accessToken: 1 });
  // @ts-expect-error deleteKv takes a name, not options
  await deleteKv({ name: "x" });
  // @ts-expect-error wasmMemoryBytes returns a number
  const _m: string = wasmMemoryBytes();
  // @ts-expect-error Kv has no method not in Deno's Kv
  kv.clear();
}
void mustFail;

// A type that differs from Deno's must be caught by the assertions above.
interface NotQuiteKvEntry<T> {
  key: KvKey;
  value: T;
  versionstamp: string | null;
}
// @ts-expect-error versionstamp widened: assignable only one way
type _neg1 = Assert<IsMutuallyAssignable<NotQuiteKvEntry<1>, Deno.KvEntry<1>>>;
type NotQuiteKv = Omit<Kv, "commitVersionstamp">;
// @ts-expect-error a Kv missing a method is not a Deno.Kv
type _neg2 = Assert<IsMutuallyAssignable<NotQuiteKv, Deno.Kv>>;
type KvWithoutDispose = Omit<Kv, typeof Symbol.dispose>;
// @ts-expect-error Deno.Kv is Disposable, so [Symbol.dispose] is required
type _neg3 = Assert<IsMutuallyAssignable<KvWithoutDispose, Deno.Kv>>;
// @ts-expect-error a webkv Kv without dispose cannot be passed as Deno.Kv
takesDenoKv({} as KvWithoutDispose);

export {};
