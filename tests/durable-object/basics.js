// Conformance basics run on a Kv: in the Durable Object (test-worker.js) and
// in real Deno (deno_basics.js, Deno.openKv(":memory:")); the test asserts
// both give the same JSON. Versionstamps differ between databases, so only
// their shape and order are recorded.

async function outcome(fn) {
  try {
    return { ok: await fn() };
  } catch (err) {
    return { error: `${err?.name}: ${err?.message}` };
  }
}

function keyText(key) {
  return key.map((part) =>
    part instanceof Uint8Array ? `bytes:${[...part]}` : typeof part === "bigint" ? `${part}n` : `${typeof part}:${part}`
  );
}

export async function runBasics(kv) {
  const r = {};
  const prefix = ["basics", crypto.randomUUID()];
  const parts = [new Uint8Array([2]), new Uint8Array([1, 0]), "b", "a", "", 3.5, -1, 2n, -5n, true, false];
  for (const part of parts) await kv.set([...prefix, part], keyText([part]).join());
  const list = async (options, selector = { prefix }) =>
    (await Array.fromAsync(kv.list(selector, options))).map((e) => keyText(e.key.slice(2)).join());
  r.order = await list();
  r.reverse = await list({ reverse: true });
  r.limit = await list({ limit: 3 });
  r.range = await list({}, { start: [...prefix, "a"], end: [...prefix, 2n] });
  const first = kv.list({ prefix }, { limit: 4 });
  await Array.fromAsync(first);
  r.cursor = await list({ cursor: first.cursor, limit: 3 });

  const a = await kv.set([...prefix, "x"], { n: 1, when: new Date(0), map: new Map([[1, "one"]]) });
  const b = await kv.set([...prefix, "y"], 1);
  r.versionstamps = {
    shape: /^[0-9a-f]{20}$/.test(a.versionstamp),
    increasing: b.versionstamp > a.versionstamp,
  };
  const got = await kv.get([...prefix, "x"]);
  r.value = { n: got.value.n, when: got.value.when.getTime(), map: [...got.value.map], same: got.versionstamp === a.versionstamp };
  r.staleCheck = await outcome(async () => (await kv.atomic().check({ key: [...prefix, "y"], versionstamp: a.versionstamp }).set([...prefix, "y"], 2).commit()).ok);
  r.freshCheck = await outcome(async () => (await kv.atomic().check({ key: [...prefix, "y"], versionstamp: b.versionstamp }).set([...prefix, "y"], 2).commit()).ok);
  r.missingCheck = await outcome(async () => (await kv.atomic().check({ key: [...prefix, "none"], versionstamp: null }).set([...prefix, "z"], 1).commit()).ok);

  await kv.atomic().sum([...prefix, "u"], 5n).max([...prefix, "m"], 3n).min([...prefix, "m"], 2n).commit();
  r.sum = String((await kv.get([...prefix, "u"])).value);
  r.minMax = String((await kv.get([...prefix, "m"])).value);
  r.sumOnNumber = await outcome(() => kv.atomic().sum([...prefix, "y"], 1n).commit());
  r.sumNotU64 = await outcome(() => kv.atomic().sum([...prefix, "u"], 1).commit());

  r.keyTooLarge = await outcome(() => kv.set([...prefix, "k".repeat(2048)], 1));
  r.valueTooLarge = await outcome(() => kv.set([...prefix, "v"], new Uint8Array(65537)));
  r.tooManyMutations = await outcome(() => {
    const op = kv.atomic();
    for (let i = 0; i < 1001; i++) op.set([...prefix, "many", i], i);
    return op.commit();
  });
  r.tooManyKeys = await outcome(() => kv.getMany(Array.from({ length: 11 }, (_, i) => [...prefix, i])));
  r.badLimit = await outcome(() => Array.fromAsync(kv.list({ prefix }, { limit: 0 })));
  r.badKey = await outcome(() => kv.set([...prefix, {}], 1));
  r.emptyKeySet = await outcome(() => kv.set([], 1));
  r.badDelay = await outcome(() => kv.enqueue(1, { delay: 31 * 24 * 3600 * 1000 }));
  r.uncloneable = await outcome(() => kv.set([...prefix, "f"], () => 1));

  const watched = [...prefix, "watched"];
  const reader = kv.watch([watched]).getReader();
  const before = await reader.read();
  await kv.set(watched, "changed");
  const afterSet = await reader.read();
  await reader.cancel();
  r.watch = [before.value[0].value, afterSet.value[0].value, afterSet.value[0].versionstamp?.length];

  // (Expiry is not compared: Deno shows an expired entry until its sweep,
  // webkv hides it at once; docs/sqlite.md. The restart test checks it.)
  await kv.delete([...prefix, "x"]);
  r.deleted = (await kv.get([...prefix, "x"])).versionstamp;
  return r;
}
