// A KV Connect database, through `import "webkv/kv-connect"` (which the
// page and the worker import): open the proxy's URL the test passes in,
// set, get, sum, list. Returns what it saw; the test compares it with
// REMOTE_EXPECTED. Each run writes under a key of its own, since every
// bundler's app talks to the one denokv.
export async function remoteRoundTrip(webkv, url, label) {
  const kv = await webkv.openKv(url, { accessToken: "placeholder-from-the-page" });
  const prefix = ["packaging", label, crypto.randomUUID()];
  await kv.set([...prefix, "a"], { n: 1 });
  const got = await kv.get([...prefix, "a"]);
  await kv.atomic().sum([...prefix, "count"], 2n).commit();
  const count = (await kv.get([...prefix, "count"])).value;
  const listed = [];
  for await (const entry of kv.list({ prefix })) listed.push(entry.key.at(-1));
  kv.close();
  return { value: got.value, count: count instanceof webkv.KvU64 ? String(count.value) : "not a KvU64", listed };
}

export const REMOTE_EXPECTED = { value: { n: 1 }, count: "2", listed: ["a", "count"] };
