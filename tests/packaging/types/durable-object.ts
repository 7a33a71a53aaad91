// A Durable Object written against Cloudflare's own types
// (@cloudflare/workers-types): `openKv(this.ctx.storage)` must type-check
// with the storage as Cloudflare declares it, and give a Deno.Kv-shaped
// database with `alarm()`.
import { DurableObject } from "cloudflare:workers";
import { type DurableObjectKv, type Kv, KvU64, openKv } from "webkv";

interface Env {
  KV_OBJECT: DurableObjectNamespace<KvObject>;
}

export class KvObject extends DurableObject<Env> {
  kv!: DurableObjectKv;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.kv = await openKv(ctx.storage);
      this.kv.listenQueue(async (message: unknown) => {
        await this.kv.set(["delivered"], message);
      });
    });
  }

  override async alarm(): Promise<void> {
    await this.kv.alarm();
  }

  async visits(): Promise<number> {
    const kv: Kv = this.kv;
    const { value } = await kv.get<number>(["visits"]);
    const res = await kv.atomic().sum(["total"], 1n).set(["visits"], (value ?? 0) + 1).commit();
    const total = await kv.get<KvU64>(["total"]);
    return res.ok ? Number(total.value?.value ?? 0n) : -1;
  }

  override async fetch(_request: Request): Promise<Response> {
    return Response.json({ visits: await this.visits() });
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    return env.KV_OBJECT.get(env.KV_OBJECT.idFromName("x")).fetch(request);
  },
} satisfies ExportedHandler<Env>;
