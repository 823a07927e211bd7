import { expect } from "expect";
import { bytesOf as randomBytes } from "./client_fixtures.ts";
import { OssClient } from "../src/client.ts";
import { IntegrityError, OssError } from "../src/errors.ts";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import { serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore } from "../src/server/store/mod.ts";
import type { FaultOptions } from "../src/server/faults.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const PART = 256 * KiB;
const BUCKET = "ckpt";
const CREDS = { accessKeyId: "reader-key-id", accessKeySecret: "reader-key-secret" };

async function setup(opts: { faults?: FaultOptions; dir?: string; prefetchConcurrency?: number } = {}) {
  const store = opts.dir ? new DirectoryStore(opts.dir) : undefined;
  const server = await serveEmulator({
    port: 0,
    buckets: [BUCKET],
    credentials: [CREDS],
    minPartSize: 100 * KiB,
    faults: opts.faults,
    store,
  });
  const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials: CREDS });
  const checkpoint = new OssCheckpoint({
    endpoint: server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    partSize: PART,
    prefetchConcurrency: opts.prefetchConcurrency ?? 4,
    retry: { maxAttempts: 6, minDelayMs: 1, maxDelayMs: 20 },
  });
  return { server, client, checkpoint, [Symbol.asyncDispose]: () => server.close() };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Flips one byte of a stored object's data file in a DirectoryStore, leaving its recorded CRC-64 as it was. */
async function flipStoredByte(dir: string, offset: number): Promise<void> {
  const files: string[] = [];
  for await (const shard of Deno.readDir(`${dir}/blobs`)) {
    for await (const f of Deno.readDir(`${dir}/blobs/${shard.name}`)) {
      files.push(`${dir}/blobs/${shard.name}/${f.name}`);
    }
  }
  expect(files.length).toBe(1); // a single-PUT object: one blob
  const bytes = await Deno.readFile(files[0]);
  bytes[offset] ^= 0x01;
  await Deno.writeFile(files[0], bytes);
}

Deno.test("reader fails with IntegrityError when a byte is flipped on the server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-ckpt-" });
  try {
    await using t = await setup({ dir });
    const data = randomBytes(3 * PART + 77, 1);
    await t.client.put(BUCKET, "rot/model.bin", data);
    await flipStoredByte(dir, 2 * PART + 5);
    const reader = t.checkpoint.reader(`oss://${BUCKET}/rot/model.bin`);
    const err = await new Response(reader).arrayBuffer().then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).expected).toBe((await t.client.head(BUCKET, "rot/model.bin")).crc64);
    expect((err as IntegrityError).message).toContain("CRC-64 mismatch");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reader delivers ranges strictly in order even when later ranges arrive first", async () => {
  await using t = await setup();
  const data = randomBytes(20 * PART + 3, 2);
  await t.client.put(BUCKET, "order.bin", data);
  // A real fetch that holds back the response to the first range, so ranges 1..7 complete before it.
  const arrivals: string[] = [];
  const slowFirst: typeof fetch = async (input, init) => {
    const range = new Headers(init?.headers).get("range") ?? "";
    if (range.startsWith("bytes=0-")) await new Promise((r) => setTimeout(r, 150));
    const res = await fetch(input, init);
    if (range) arrivals.push(range);
    return res;
  };
  const client = new OssClient({
    endpoint: t.server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    fetch: slowFirst,
  });
  const checkpoint = new OssCheckpoint({ client, partSize: PART, prefetchConcurrency: 8 });
  let offset = 0;
  for await (const chunk of checkpoint.reader(`oss://${BUCKET}/order.bin`)) {
    expect(chunk.length).toBe(Math.min(PART, data.length - offset));
    expect(chunk[0]).toBe(data[offset]);
    expect(chunk[chunk.length - 1]).toBe(data[offset + chunk.length - 1]);
    offset += chunk.length;
  }
  expect(offset).toBe(data.length);
  expect(arrivals.indexOf(`bytes=0-${PART - 1}`)).toBeGreaterThan(0); // the first range really came late
});

Deno.test("a reader nobody reads from fetches no more than prefetchConcurrency ranges", async () => {
  await using t = await setup({ prefetchConcurrency: 3 });
  await t.client.put(BUCKET, "lazy.bin", randomBytes(20 * PART, 3));
  const reader = t.checkpoint.reader(`oss://${BUCKET}/lazy.bin`);
  const r = reader.getReader();
  await r.read(); // one chunk delivered; the window refills behind it
  await until(() => reader.stats.bufferedBytes === 3 * PART, "the prefetch window to fill");
  // A round trip to the same server after the window filled: a range the reader asked for beyond its bound
  // would be on the server's books by the time this answer is back.
  await until(() => t.server.stats.inFlight === 0, "the window's requests to finish");
  await t.client.head(BUCKET, "lazy.bin");
  expect(reader.stats.rangesRequested).toBe(4);
  expect(t.server.stats.byOperation.GetObject).toBe(4);
  expect(reader.stats.peakBufferedBytes).toBeLessThanOrEqual((3 + 1) * PART);
  await r.cancel();
});

Deno.test("cancelling a reader stops every request in flight", async () => {
  await using t = await setup({ faults: { bandwidthBytesPerSec: 2 * MiB }, prefetchConcurrency: 4 });
  await t.client.put(BUCKET, "slow.bin", randomBytes(16 * PART, 4));
  const reader = t.checkpoint.reader(`oss://${BUCKET}/slow.bin`);
  const r = reader.getReader();
  const first = r.read();
  await until(() => t.server.stats.inFlight >= 4, "4 ranged GETs in flight");
  await r.cancel(new Error("stop"));
  await first.catch(() => {});
  await until(() => t.server.stats.inFlight === 0, "server in-flight requests to drop to 0");
  const requested = reader.stats.rangesRequested;
  await t.client.head(BUCKET, "slow.bin"); // a round trip later, still no new range
  expect(reader.stats.rangesRequested).toBe(requested);
  expect(reader.stats.bufferedBytes).toBe(0);
});

Deno.test("an aborted signal errors the reader and stops its requests", async () => {
  await using t = await setup({ faults: { bandwidthBytesPerSec: 2 * MiB } });
  await t.client.put(BUCKET, "slow.bin", randomBytes(12 * PART, 5));
  const ac = new AbortController();
  const reader = t.checkpoint.reader(`oss://${BUCKET}/slow.bin`, { signal: ac.signal });
  const done = new Response(reader).arrayBuffer().then(() => undefined, (e) => e);
  await until(() => t.server.stats.inFlight >= 2, "ranged GETs in flight");
  ac.abort(new Error("job preempted"));
  expect(String(await done)).toContain("job preempted");
  await until(() => t.server.stats.inFlight === 0, "server in-flight requests to drop to 0");
});

Deno.test("reading a missing checkpoint fails with the server's NoSuchKey", async () => {
  await using t = await setup();
  const err = await new Response(t.checkpoint.reader(`oss://${BUCKET}/nope.bin`)).arrayBuffer().then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(OssError);
  expect((err as OssError).status).toBe(404);
  expect((err as OssError).code).toBe("NoSuchKey");
});

Deno.test("an object replaced while it is read fails the reader with IntegrityError", async () => {
  await using t = await setup({ prefetchConcurrency: 1 });
  await t.client.put(BUCKET, "moving.bin", randomBytes(6 * PART, 6));
  const reader = t.checkpoint.reader(`oss://${BUCKET}/moving.bin`);
  const r = reader.getReader();
  await r.read();
  await t.client.put(BUCKET, "moving.bin", randomBytes(6 * PART, 7));
  let err: unknown;
  try {
    for (;;) if ((await r.read()).done) break;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IntegrityError);
});

Deno.test("on a store that sends no CRC-64, an object replaced mid-read is caught by the ETag of its ranges", async () => {
  await using t = await setup();
  // A store (or gateway) without x-oss-hash-crc64ecma: only the ETag ties the ranges to one version.
  const noCrc: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(res.headers);
    headers.delete("x-oss-hash-crc64ecma");
    return new Response(res.body, { status: res.status, headers });
  };
  const client = new OssClient({
    endpoint: t.server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    fetch: noCrc,
  });
  const checkpoint = new OssCheckpoint({ client, partSize: PART, prefetchConcurrency: 1 });
  await t.client.put(BUCKET, "moving.bin", randomBytes(6 * PART, 6));
  const r = checkpoint.reader(`oss://${BUCKET}/moving.bin`).getReader();
  await r.read();
  await t.client.put(BUCKET, "moving.bin", randomBytes(6 * PART, 7));
  const err = await (async () => {
    for (;;) if ((await r.read()).done) return undefined;
  })().catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect(err.message).toContain("the object changed while it was read");
});

for (const size of [0, 1, PART - 1, PART, PART + 1, 3 * PART + 77]) {
  Deno.test(`load() returns a ${size}-byte checkpoint byte-exact in one buffer of its size`, async () => {
    await using t = await setup();
    const data = randomBytes(size, size + 5);
    await t.client.put(BUCKET, `load/${size}.bin`, data);
    const loaded = await t.checkpoint.load(`oss://${BUCKET}/load/${size}.bin`);
    expect(loaded.buffer.byteLength).toBe(size);
    expect(loaded.byteOffset).toBe(0);
    expect(loaded).toEqual(data);
    expect(t.server.stats.byOperation.GetObject ?? 0).toBe(Math.ceil(size / PART));
  });
}

Deno.test("load() fails with IntegrityError when a byte is flipped on the server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ossflow-ckpt-" });
  try {
    await using t = await setup({ dir });
    await t.client.put(BUCKET, "rot/load.bin", randomBytes(2 * PART + 9, 3));
    await flipStoredByte(dir, PART + 1);
    const err = await t.checkpoint.load(`oss://${BUCKET}/rot/load.bin`).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).message).toContain("CRC-64 mismatch");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("load() of a missing checkpoint rejects with NoSuchKey, and an aborted one with the reason", async () => {
  await using t = await setup({ faults: { latencyMs: 30 } });
  const missing = await t.checkpoint.load(`oss://${BUCKET}/nothing-here.bin`).catch((e) => e);
  expect(missing).toBeInstanceOf(OssError);
  // The HEAD that starts a load has no body to name the error: the key and the status do.
  expect(missing).toMatchObject({ status: 404, code: "NoSuchKey", method: "HEAD", key: "nothing-here.bin" });
  expect((missing as OssError).message).toContain(
    `NoSuchKey (HTTP 404) on HEAD ${BUCKET}/nothing-here.bin: The specified key does not exist. ` +
      "(from the status: HEAD answers have no body)",
  );
  await t.client.put(BUCKET, "slow.bin", randomBytes(8 * PART, 4));
  const ac = new AbortController();
  const loading = t.checkpoint.load(`oss://${BUCKET}/slow.bin`, { signal: ac.signal });
  await until(() => (t.server.stats.byOperation.GetObject ?? 0) > 0, "a range request");
  const reason = new Error("stop loading");
  ac.abort(reason);
  await expect(loading).rejects.toBe(reason);
  await until(() => t.server.stats.inFlight === 0, "server requests to end");
});
