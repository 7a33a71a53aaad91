// Shared by the Deno tests in tests/kvconnect/: the denokv server to use, real Deno's remote
// client, and webkv's remote client with detection of "not implemented yet".
//
// The server: KV_CONNECT_URL + KV_CONNECT_TOKEN when set (tests/kvconnect/run.sh starts one),
// otherwise this module starts its own denokv (stopped when the process exits).

import { startDenokv } from "./denokv.mjs";

export async function getServer() {
  const url = Deno.env.get("KV_CONNECT_URL");
  const token = Deno.env.get("KV_CONNECT_TOKEN");
  if (url && token) return { url, token, own: false, stop: async () => {} };
  const s = await startDenokv();
  return { url: s.url, token: s.token, own: true, stop: s.stop, pid: s.pid };
}

/** Real Deno's KV Connect client. It reads the token only from DENO_KV_ACCESS_TOKEN. */
export function openDenoRemote(url, token) {
  Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
  return Deno.openKv(url);
}

let webkvMod = null;
/** webkv as built in pkg/ (the Deno entry). */
export async function webkv() {
  if (!webkvMod) {
    const href = new URL("../../pkg/deno.js", import.meta.url).href;
    try {
      webkvMod = await import(href);
    } catch (e) {
      throw new Error(`cannot import ${href} (build it with \`node scripts/build.mjs\`): ${e.message}`);
    }
  }
  return webkvMod;
}

/** webkv's KV Connect client. */
export async function openWebkvRemote(url, token) {
  return (await webkv()).openKv(url, { accessToken: token });
}

/** Deletes every key (list everything + atomics of deletes; the empty key cannot be written). */
export async function wipe(kv) {
  for (;;) {
    const keys = [];
    for await (const e of kv.list({ prefix: [] }, { batchSize: 500 })) keys.push(e.key);
    if (keys.length === 0) break;
    for (let i = 0; i < keys.length; i += 500) {
      const op = kv.atomic();
      for (const k of keys.slice(i, i + 500)) op.delete(k);
      await op.commit();
    }
  }
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with a message naming what we waited for. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
