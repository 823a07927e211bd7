/**
 * What the checkpoint tests share: one emulator with a checkpoint and a client on it, deterministic random
 * bytes, and small helpers.
 */
import { OssClient } from "../src/client.ts";
import { OssCheckpoint, type OssCheckpointOptions } from "../src/checkpoint/mod.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import type { FaultOptions } from "../src/server/faults.ts";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const PART = 2 * MiB; // parts over 1 MiB are streamed; the memory test covers byte bodies
export const BUCKET = "ckpt";
export const CREDS = { accessKeyId: "test-key-id", accessKeySecret: "test-key-secret" };

/** Deterministic pseudo-random bytes (xorshift32), fast enough for 100 MiB. */
export function randomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  for (let i = words.length * 4; i < n; i++) out[i] = (i * 131) & 0xff;
  return out;
}

export async function setup(faults?: FaultOptions, opts: Partial<OssCheckpointOptions> = {}) {
  const server = await serveEmulator({
    port: 0,
    buckets: [BUCKET],
    credentials: [CREDS],
    minPartSize: 100 * KiB,
    faults,
  });
  const retry = { maxAttempts: 8, minDelayMs: 1, maxDelayMs: 20 };
  const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: CREDS, retry });
  const checkpoint = new OssCheckpoint({
    endpoint: server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    partSize: PART,
    uploadConcurrency: 4,
    prefetchConcurrency: 4,
    retry,
    ...opts,
  });
  return { server, client, checkpoint, [Symbol.asyncDispose]: () => server.close() };
}

export async function readAll(rs: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(rs).arrayBuffer());
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `setup` with a server that answers every UploadPart with 503 (the client tries twice), and an object at
 * `run/latest.bin` (`previous`, its HEAD in `before`) that a failed save must leave untouched. */
export async function setupFailingParts(seed: number) {
  const t = await setup({
    errorRate: 1,
    errorKinds: ["slowdown"],
    match: (_method, _key, operation) => operation === "UploadPart",
  }, { retry: { maxAttempts: 2, minDelayMs: 1, maxDelayMs: 5 } });
  const previous = randomBytes(300 * KiB, seed);
  await t.client.put(BUCKET, "run/latest.bin", previous);
  const before = await t.client.head(BUCKET, "run/latest.bin");
  return Object.assign(t, { previous, before });
}
