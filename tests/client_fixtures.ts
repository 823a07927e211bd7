// Shared fixtures of the tests/client_*_test.ts files: a signing emulator on 127.0.0.1, clients for both
// signature versions, deterministic bytes, and a fast byte comparison (expect's deep equality walks arrays
// element by element, which is slow for MiBs).
import { expect } from "expect";
import { OssClient } from "../src/client.ts";
import type { OssClientOptions } from "../src/client_types.ts";
import { type RunningEmulator, serveEmulator, type ServeEmulatorOptions } from "../src/server/emulator.ts";

export const CREDS = { accessKeyId: "LTAI5tTestKey", accessKeySecret: "test-secret-do-not-use" };
export const MODES = ["oss4", "s3v4"] as const;
export type Mode = typeof MODES[number];

/** Starts a signature-verifying emulator with bucket `bkt` (and `other`). */
export function startServer(opts: ServeEmulatorOptions = {}): Promise<RunningEmulator> {
  return serveEmulator({
    buckets: ["bkt", "other"],
    credentials: [CREDS],
    region: "cn-hangzhou",
    port: 0,
    ...opts,
  });
}

/** A client for `server` in `mode`, with quick retries. */
export function clientFor(
  server: RunningEmulator,
  mode: Mode,
  extra: Partial<OssClientOptions> = {},
): OssClient {
  return new OssClient({
    endpoint: server.url,
    region: "cn-hangzhou",
    signatureVersion: mode,
    credentials: CREDS,
    ...extra,
    retry: { minDelayMs: 5, maxDelayMs: 50, ...extra.retry },
  });
}

/** Runs `fn` with a fresh server, closing it afterwards. */
export async function withServer(
  fn: (server: RunningEmulator) => Promise<void>,
  opts: ServeEmulatorOptions = {},
): Promise<void> {
  const server = await startServer(opts);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** `n` pseudo-random bytes from `seed` (xorshift32). */
export function bytesOf(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Asserts byte equality, naming the first differing offset. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  expect(`${what}: length ${actual.length}`).toBe(`${what}: length ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${what}: first difference at byte ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Reads a stream to the end. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Polls `cond` until true or `ms` pass; returns whether it became true. */
export async function eventually(cond: () => boolean, ms = 20_000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** A stream of `data` in chunks of `chunk` bytes. */
export function streamOf(data: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close();
      c.enqueue(data.slice(at, at + chunk));
      at += chunk;
    },
  });
}
