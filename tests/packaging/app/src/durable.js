// A named database (IndexedDB in browsers): open, set, get, list, close,
// open again and read, delete. Returns what it saw; the test compares it
// with DURABLE_EXPECTED.
export async function durableRoundTrip(webkv, label) {
  const name = `packaging-${label}`;
  await webkv.deleteKv(name);
  let kv = await webkv.openKv(name);
  await kv.set(["fruit", "apple"], { color: "red" });
  await kv.set(["fruit", "pear"], { color: "green" });
  const got = await kv.get(["fruit", "apple"]);
  const listed = [];
  for await (const entry of kv.list({ prefix: ["fruit"] })) listed.push([entry.key, entry.value.color]);
  kv.close();
  kv = await webkv.openKv(name);
  const reopened = (await kv.get(["fruit", "pear"])).value;
  kv.close();
  await webkv.deleteKv(name);
  return { value: got.value, versionstamp: typeof got.versionstamp, listed, reopened };
}

export const DURABLE_EXPECTED = {
  value: { color: "red" },
  versionstamp: "string",
  listed: [[["fruit", "apple"], "red"], [["fruit", "pear"], "green"]],
  reopened: { color: "green" },
};
