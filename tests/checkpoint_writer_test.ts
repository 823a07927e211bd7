import { expect } from "expect";
import { crc64 } from "../src/crc64.ts";
import { IntegrityError, OssError } from "../src/errors.ts";
import { OssClient } from "../src/client.ts";
import { OssCheckpoint } from "../src/checkpoint/mod.ts";
import {
  BUCKET,
  CREDS,
  KiB,
  MiB,
  PART,
  randomBytes,
  readAll,
  sameBytes,
  setup,
  setupFailingParts,
  until,
} from "./checkpoint_fixture.ts";

/** Writes `data` in chunks of varied sizes (1 B up to ~3 parts), the way serializers emit them. */
async function writeChunked(ws: WritableStream<Uint8Array>, data: Uint8Array, seed = 7): Promise<void> {
  const w = ws.getWriter();
  let s = seed;
  for (let off = 0; off < data.length;) {
    s = (s * 1103515245 + 12345) >>> 0;
    const pick = s % 4;
    const n = pick === 0
      ? 1 + (s % 97)
      : pick === 1
      ? 1 + (s % (64 * KiB))
      : pick === 2
      ? PART
      : 1 + (s % (3 * PART));
    await w.write(data.subarray(off, Math.min(data.length, off + n)));
    off += n;
  }
  await w.close();
}

/**
 * A real fetch that flips the byte at `at` of request bodies for which `when(url)` holds, as a faulty network
 * would. Stream bodies (how the writer sends parts over 1 MiB) are read out first.
 */
function flippingFetch(when: (url: URL) => boolean, at: number): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (init?.body && when(url)) {
      const body = new Uint8Array(await new Response(init.body).arrayBuffer());
      body[at] ^= 0xff;
      return fetch(input, { ...init, body });
    }
    return fetch(input, init);
  };
}

for (const size of [0, 1, PART - 1, PART, PART + 1]) {
  Deno.test(`a ${size}-byte checkpoint round-trips byte-exact (part size ${PART})`, async () => {
    await using t = await setup();
    const data = randomBytes(size, size + 1);
    const uri = `oss://${BUCKET}/sizes/${size}.bin`;
    const writer = t.checkpoint.writer(uri);
    await writeChunked(writer, data);
    const back = await readAll(t.checkpoint.reader(uri));
    expect(back.length).toBe(size);
    expect(sameBytes(back, data)).toBe(true);
    const meta = await t.client.head(BUCKET, `sizes/${size}.bin`);
    expect(meta.crc64).toBe(await crc64(data));
    // Up to one part: a single PUT; beyond: a multipart upload.
    expect(writer.stats.uploadId === undefined).toBe(size <= PART);
    expect(t.server.stats.byOperation.PutObject ?? 0).toBe(size <= PART ? 1 : 0);
    expect(t.server.stats.byOperation.UploadPart ?? 0).toBe(size <= PART ? 0 : 2);
    expect(writer.stats.bufferedBytes).toBe(0);
  });
}

Deno.test("a 100 MiB random checkpoint round-trips byte-exact with parallel parts and ranges", async () => {
  await using t = await setup(undefined, { uploadConcurrency: 8, prefetchConcurrency: 8 });
  const data = randomBytes(100 * MiB, 42);
  const uri = `oss://${BUCKET}/big/model.bin`;
  const writer = t.checkpoint.writer(uri, { sizeHint: data.length });
  await writeChunked(writer, data, 3);
  expect(writer.stats.partsUploaded).toBe(50);
  expect(writer.stats.peakUploadsInFlight).toBeGreaterThan(1);
  const reader = t.checkpoint.reader(uri);
  const back = await readAll(reader);
  expect(back.length).toBe(data.length);
  expect(sameBytes(back, data)).toBe(true);
  expect(reader.stats.rangesRequested).toBe(50);
  expect(reader.stats.peakBufferedBytes).toBeLessThanOrEqual((8 + 1) * PART);
});

Deno.test("with 20% injected faults (503, reset, truncated body) a checkpoint still saves and loads", async () => {
  await using t = await setup({ errorRate: 0.2, seed: 2024 });
  const data = randomBytes(40 * MiB + 12345, 9);
  const uri = `oss://${BUCKET}/faulty/step-1.bin`;
  await writeChunked(t.checkpoint.writer(uri), data);
  const back = await readAll(t.checkpoint.reader(uri));
  expect(sameBytes(back, data)).toBe(true);
  expect(t.server.stats.faultsInjected).toBeGreaterThanOrEqual(5);
  expect(Object.keys(t.server.stats.faultsByKind).length).toBeGreaterThanOrEqual(2);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
});

Deno.test("a server failing every UploadPart leaves the previous checkpoint intact and no upload behind", async () => {
  await using t = await setupFailingParts(5);
  const { previous, before } = t;

  const err = await writeChunked(
    t.checkpoint.writer(`oss://${BUCKET}/run/latest.bin`),
    randomBytes(5 * MiB, 6),
  )
    .then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(OssError);
  expect((err as OssError).status).toBe(503);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  const after = await t.client.head(BUCKET, "run/latest.bin");
  expect(after.etag).toBe(before.etag);
  expect(after.crc64).toBe(await crc64(previous));
  expect(sameBytes(await readAll((await t.client.get(BUCKET, "run/latest.bin")).body), previous)).toBe(true);
});

Deno.test("abort() mid-write aborts the multipart upload and keeps the previous checkpoint", async () => {
  await using t = await setup({ latencyMs: 30 });
  const previous = randomBytes(200 * KiB, 11);
  await t.client.put(BUCKET, "run/latest.bin", previous);
  const before = await t.client.head(BUCKET, "run/latest.bin");

  const writer = t.checkpoint.writer(`oss://${BUCKET}/run/latest.bin`);
  const w = writer.getWriter();
  const data = randomBytes(6 * MiB, 12);
  for (let off = 0; off < 3 * MiB; off += 256 * KiB) await w.write(data.subarray(off, off + 256 * KiB));
  await until(() => writer.stats.uploadsInFlight > 0, "a part upload in flight");
  expect((await t.client.listUploads(BUCKET)).map((u) => [u.key, u.uploadId])).toEqual([
    ["run/latest.bin", writer.stats.uploadId],
  ]);
  await w.abort(new Error("training step failed"));

  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "run/latest.bin")).etag).toBe(before.etag);
  expect(writer.stats.bufferedBytes).toBe(0);
  await until(() => t.server.stats.inFlight === 0, "server requests to end");
});

Deno.test("an aborted signal aborts the upload, rejects the pending write, and keeps the previous checkpoint", async () => {
  await using t = await setup({ latencyMs: 20 });
  const previous = randomBytes(150 * KiB, 13);
  await t.client.put(BUCKET, "sig/latest.bin", previous);
  const before = await t.client.head(BUCKET, "sig/latest.bin");
  const ac = new AbortController();
  const writer = t.checkpoint.writer(`oss://${BUCKET}/sig/latest.bin`, { signal: ac.signal });
  const w = writer.getWriter();
  await w.write(randomBytes(2 * MiB + 1, 14));
  await until(() => writer.stats.uploadsInFlight > 0, "a part upload in flight");
  ac.abort(new Error("preempted"));
  await expect(w.close()).rejects.toThrow("preempted");
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "sig/latest.bin")).etag).toBe(before.etag);
});

Deno.test("memory stays within partSize × (uploadConcurrency + 1) and write() waits while the pool is full", async () => {
  const part = 128 * KiB;
  const concurrency = 3;
  await using t = await setup({ latencyMs: 40 }, { partSize: part, uploadConcurrency: concurrency });
  const writer = t.checkpoint.writer(`oss://${BUCKET}/mem/bounded.bin`);
  const w = writer.getWriter();
  // One write that needs concurrency + 1 part dispatches: the last must wait for a free slot.
  let settled = false;
  const big = w.write(randomBytes(part * (concurrency + 2), 15)).finally(() => (settled = true));
  await until(() => writer.stats.uploadsInFlight === concurrency, "the upload pool to fill");
  expect(settled).toBe(false);
  expect(writer.stats.bufferedBytes).toBeLessThanOrEqual(part * (concurrency + 1));
  await big;
  // Many more writes of all sizes; the gauge never exceeds the bound.
  const data = randomBytes(40 * part + 17, 16);
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = [1, 1000, part - 1, part, 3 * part + 5][i % 5];
    await w.write(data.subarray(off, off + n));
    off += n;
  }
  await w.close();
  expect(writer.stats.peakBufferedBytes).toBeLessThanOrEqual(part * (concurrency + 1));
  expect(writer.stats.peakUploadsInFlight).toBe(concurrency);
  expect(writer.stats.bufferedBytes).toBe(0);
});

Deno.test("a part corrupted in transit is re-sent, and the checkpoint completes with the right CRC-64", async () => {
  await using t = await setup();
  let corrupted = 0;
  // A real fetch whose first UploadPart body has one byte flipped on its way out (a network fault).
  const flipping = flippingFetch(
    (url) => corrupted === 0 && url.searchParams.has("partNumber") && ++corrupted > 0,
    100,
  );
  const client = new OssClient({
    endpoint: t.server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    fetch: flipping,
  });
  const checkpoint = new OssCheckpoint({ client, partSize: PART, uploadConcurrency: 2 });
  const data = randomBytes(3 * PART, 17);
  await writeChunked(checkpoint.writer(`oss://${BUCKET}/transit.bin`), data);
  expect(corrupted).toBe(1);
  expect(t.server.stats.byOperation.UploadPart).toBe(4);
  expect((await t.client.head(BUCKET, "transit.bin")).crc64).toBe(await crc64(data));
});

Deno.test("a part that keeps arriving corrupted fails the write with IntegrityError and aborts the upload", async () => {
  await using t = await setup();
  const flipping = flippingFetch((url) => url.searchParams.get("partNumber") === "2", 0);
  const client = new OssClient({
    endpoint: t.server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    fetch: flipping,
  });
  const checkpoint = new OssCheckpoint({ client, partSize: PART, uploadConcurrency: 2 });
  const err = await writeChunked(checkpoint.writer(`oss://${BUCKET}/rot.bin`), randomBytes(3 * PART, 18))
    .then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect((err as Error).message).toContain("part 2");
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  await expect(t.client.head(BUCKET, "rot.bin")).rejects.toThrow(OssError);
});

Deno.test("a checkpoint piped from a ReadableStream saves like one written by hand", async () => {
  await using t = await setup();
  const data = randomBytes(2 * MiB + 3, 19);
  await new Blob([data]).stream().pipeTo(t.checkpoint.writer(`oss://${BUCKET}/piped.bin`));
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/piped.bin`)), data)).toBe(true);
});

Deno.test("an s3:// checkpoint round-trips through the S3 form of the API (SigV4, byte bodies)", async () => {
  await using t = await setup({ errorRate: 0.1, errorKinds: ["slowdown"], seed: 5 }, {
    signatureVersion: "s3v4",
  });
  const data = randomBytes(3 * PART + 9, 21);
  const writer = t.checkpoint.writer(`s3://${BUCKET}/s3/model.bin`);
  await writeChunked(writer, data);
  expect(writer.stats.partsUploaded).toBe(4);
  expect(sameBytes(await readAll(t.checkpoint.reader(`s3://${BUCKET}/s3/model.bin`)), data)).toBe(true);
  expect(t.server.stats.byOperation.UploadPart).toBeGreaterThanOrEqual(4);
});

Deno.test("close() fails with IntegrityError and deletes the object when the completed object's CRC-64 differs", async () => {
  await using t = await setup();
  // A real fetch whose CompleteMultipartUpload and HEAD responses report another CRC-64, as a server that
  // assembled the parts wrongly would (a garbled answer alone is confirmed by HEAD: see integrity_test.ts).
  const lying: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const complete = init?.method === "POST" && url.searchParams.has("uploadId");
    if (!complete && init?.method !== "HEAD") return res;
    const headers = new Headers(res.headers);
    headers.set("x-oss-hash-crc64ecma", "12345");
    return new Response(res.body, { status: res.status, headers });
  };
  const client = new OssClient({
    endpoint: t.server.url,
    region: "cn-hangzhou",
    credentials: CREDS,
    fetch: lying,
  });
  const checkpoint = new OssCheckpoint({ client, partSize: PART, uploadConcurrency: 2 });
  const err = await writeChunked(checkpoint.writer(`oss://${BUCKET}/liar.bin`), randomBytes(2 * PART + 1, 22))
    .then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect((err as IntegrityError).actual).toBe("12345");
  expect((err as Error).message).toContain("the object was deleted");
  await expect(t.client.head(BUCKET, "liar.bin")).rejects.toThrow(OssError);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
});
