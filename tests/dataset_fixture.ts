/**
 * Shared setup of the dataset tests: a real local server (serveEmulator on 127.0.0.1, port 0, signed requests
 * required) and objects whose bytes are derived from their index, so every test can check bytes exactly.
 */
import { OssClient } from "../src/client.ts";
import type { DataObject } from "../src/dataset/item.ts";
import type { DatasetOptions } from "../src/dataset/options.ts";
import { prefetch } from "../src/prefetch.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import type { FaultOptions } from "../src/server/faults.ts";

export const CREDS = { accessKeyId: "LTAItestdataset", accessKeySecret: "dataset-test-secret-0123456789" };
export const BUCKET = "dsbucket";
export const REGION = "cn-hangzhou";

export type Server = Awaited<ReturnType<typeof serveEmulator>>;

/** Starts the emulator; faults (if any) apply to reads only, so seeding is fast and exact. */
export async function startServer(faults?: FaultOptions): Promise<Server> {
  return await serveEmulator({
    port: 0,
    hostname: "127.0.0.1",
    credentials: [CREDS],
    buckets: [BUCKET],
    region: REGION,
    faults: faults && { ...faults, match: faults.match ?? ((method) => method === "GET") },
  });
}

export function clientFor(server: Server): OssClient {
  return new OssClient({ endpoint: server.url, region: REGION, credentials: CREDS });
}

/** Bytes of object `i`: a size that varies with i, filled from a small LCG seeded with i. */
export function bytesOf(i: number, size = 100 + (i * 37) % 900): Uint8Array {
  const out = new Uint8Array(size);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < size; j++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[j] = x >>> 24;
  }
  return out;
}

export const keyOf = (prefix: string, i: number) => `${prefix}${String(i).padStart(5, "0")}.bin`;

/** Puts `n` objects under `prefix`; returns key → bytes. */
export async function seed(
  server: Server,
  n: number,
  prefix = "train/",
  size?: number,
): Promise<Map<string, Uint8Array>> {
  const client = clientFor(server);
  const expected = new Map<string, Uint8Array>();
  const indices = Array.from({ length: n }, (_, i) => i);
  for await (
    const [key, bytes] of prefetch(indices, async (i) => {
      const key = keyOf(prefix, i), bytes = bytesOf(i, size);
      await client.put(BUCKET, key, bytes);
      return [key, bytes] as const;
    }, { concurrency: 32 })
  ) expected.set(key, bytes);
  return expected;
}

/** Dataset options for the test server. */
export function dsOpts<R = DataObject>(server: Server, extra: DatasetOptions<R> = {}): DatasetOptions<R> {
  return { endpoint: server.url, region: REGION, credentials: CREDS, prefetchWorker: 0, ...extra };
}

/** Drains a pass into key → bytes, failing on a duplicate key. */
export async function collect(items: AsyncIterable<DataObject>): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  for await (const item of items) {
    if (got.has(item.key)) throw new Error(`duplicate item ${item.key}`);
    got.set(item.key, await item.bytes());
  }
  return got;
}

/** Throws unless `got` has exactly the keys and bytes of `expected`. */
export function assertSameObjects(got: Map<string, Uint8Array>, expected: Map<string, Uint8Array>): void {
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  if (missing.length || extra.length) {
    throw new Error(
      `keys differ: missing ${missing.slice(0, 5)} (${missing.length}), extra ${
        extra.slice(0, 5)
      } (${extra.length})`,
    );
  }
  for (const [k, b] of expected) {
    const g = got.get(k)!;
    if (g.byteLength !== b.byteLength || g.some((v, i) => v !== b[i])) {
      throw new Error(`bytes differ for ${k}`);
    }
  }
}

/**
 * Waits until the server has no request in flight and no new request has arrived for `quietMs` (an aborted
 * request can reach the server a moment after the abort); returns `inFlight` then.
 */
export async function settled(server: Server, timeoutMs = 20_000, quietMs = 50): Promise<number> {
  const t0 = performance.now();
  let seen = server.stats.requests, since = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 5));
    if (server.stats.requests !== seen || server.stats.inFlight > 0) {
      seen = server.stats.requests;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) break;
  }
  return server.stats.inFlight;
}
