// One KV Connect scenario, run unchanged in every runtime that reaches
// denokv directly (Node, workerd): every result is returned for the caller
// to assert.
export async function runRemoteScenario({ openKv, KvU64 }, url, accessToken, prefix) {
  const kv = await openKv(url, { accessToken });
  try {
    const set = await kv.set([prefix, "a"], { when: new Date(0), big: 2n ** 70n, bytes: new Uint8Array([1, 2]) });
    const got = await kv.get([prefix, "a"]);
    await kv.atomic().sum([prefix, "n"], 2n).commit();
    await kv.atomic().sum([prefix, "n"], 3n).commit();
    const n = (await kv.get([prefix, "n"])).value;
    const failedCheck = await kv.atomic().check({ key: [prefix, "a"], versionstamp: null }).set([prefix, "a"], 0).commit();
    const keys = [];
    for await (const entry of kv.list({ prefix: [prefix] })) keys.push(entry.key[1]);
    let wrongToken;
    try {
      (await openKv(url, { accessToken: "definitely-not-the-token" })).close();
      wrongToken = "opened";
    } catch (err) {
      wrongToken = `${err.name}: ${err.message}`;
    }
    return {
      setOk: set.ok,
      sameVersionstamp: got.versionstamp === set.versionstamp,
      when: got.value.when.getTime(),
      big: String(got.value.big),
      bytes: [...got.value.bytes],
      n: n instanceof KvU64 ? String(n.value) : "not a KvU64",
      failedCheckOk: failedCheck.ok,
      keys,
      wrongToken,
    };
  } finally {
    kv.close();
  }
}
