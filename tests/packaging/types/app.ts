// A program using webkv's types as an app would, compiled by
// tests/packaging/types.test.mjs under several TypeScript versions, libs and
// module resolutions. No bigint literals and no top-level await, so that it
// also compiles for the oldest targets TypeScript defaults to.
import { AtomicOperation, deleteKv, Kv, KvU64, openKv, setWasmSource } from "webkv";
import type { DurableObjectKv, KvEntry, KvEntryMaybe, KvKey, KvListSelector } from "webkv";
// KV Connect in browsers: a side-effect import that every resolution finds.
import "webkv/kv-connect";

interface User {
  name: string;
  joined: Date;
}

export async function main(): Promise<number> {
  const kv: Kv = await openKv(":memory:");
  const key: KvKey = ["users", "ada"];
  const written = await kv.set(key, { name: "Ada", joined: new Date() } satisfies User);
  const maybe: KvEntryMaybe<User> = await kv.get<User>(key);
  const name: string | undefined = maybe.value?.name;

  const atomic: AtomicOperation = kv.atomic().check(maybe).sum(["visits"], BigInt(1));
  const result = await atomic.commit();
  if (result.ok) written.versionstamp.toUpperCase();

  const selector: KvListSelector = { prefix: ["users"] };
  const users: KvEntry<User>[] = [];
  for await (const entry of kv.list<User>(selector, { limit: 10 })) users.push(entry);

  const counter = new KvU64(BigInt(1));
  const sum: bigint = counter.value + BigInt(1);

  // Kv is Disposable.
  const disposeKv: () => void = kv[Symbol.dispose];
  disposeKv.call(kv);

  const other = await openKv("http://127.0.0.1:4512", { accessToken: "a-token-of-12+chars" });
  other.close();
  await deleteKv("name");
  setWasmSource(new URL("https://example.invalid/webkv_wasm_bg.wasm"));
  return users.length + (name?.length ?? 0) + Number(sum);
}

// openKv(ctx.storage) in a Durable Object, with the storage's members as
// @cloudflare/workers-types declares them (types.test.mjs also compiles
// tests/packaging/types/durable-object.ts against the real package).
interface WorkersDurableObjectStorage {
  getAlarm(options?: { allowConcurrency?: boolean }): Promise<number | null>;
  setAlarm(scheduledTime: number | Date, options?: { allowConcurrency?: boolean; allowUnconfirmed?: boolean }): Promise<void>;
  deleteAlarm(options?: { allowConcurrency?: boolean }): Promise<void>;
  transactionSync<T>(closure: () => T): T;
  sql: { exec(query: string, ...bindings: unknown[]): unknown };
}

export async function inDurableObject(storage: WorkersDurableObjectStorage): Promise<Kv> {
  const kv: DurableObjectKv = await openKv(storage);
  await kv.alarm();
  return kv;
}
