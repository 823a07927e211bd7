import { expect } from "expect";
import { crc64 } from "../src/crc64.ts";
import { OssError } from "../src/errors.ts";
import {
  BUCKET,
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

/** A byte stream over `data` that fills at most `perRead` bytes per pull and records how it was read. */
function byteSource(data: Uint8Array, perRead: number, opts: { failAt?: number; hangAt?: number } = {}) {
  const seen = { byobReads: 0, defaultReads: 0, cancelled: undefined as unknown };
  let offset = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller: ReadableByteStreamController) {
      if (opts.failAt !== undefined && offset >= opts.failAt) throw new Error("disk read failed");
      if (opts.hangAt !== undefined && offset >= opts.hangAt) return new Promise<void>(() => {});
      if (offset >= data.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const req = controller.byobRequest;
      if (req?.view) {
        seen.byobReads++;
        const view = new Uint8Array(req.view.buffer, req.view.byteOffset, req.view.byteLength);
        const n = Math.min(view.length, perRead, data.length - offset);
        view.set(data.subarray(offset, offset + n));
        offset += n;
        req.respond(n);
      } else {
        seen.defaultReads++;
        const n = Math.min(perRead, data.length - offset);
        controller.enqueue(data.slice(offset, offset + n));
        offset += n;
      }
    },
    cancel(reason: unknown) {
      seen.cancelled = reason ?? "cancelled";
    },
  });
  return { stream: stream as ReadableStream<Uint8Array>, seen };
}

async function tempFile(data: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ossflow-save-" });
  await Deno.writeFile(path, data);
  return path;
}

for (const size of [0, 1, PART - 1, PART, PART + 1, 3 * PART + 5]) {
  Deno.test(`save() of a ${size}-byte file's readable round-trips byte-exact (part size ${PART})`, async () => {
    await using t = await setup();
    const data = randomBytes(size, size + 3);
    const path = await tempFile(data);
    try {
      const uri = `oss://${BUCKET}/files/${size}.bin`;
      const stats = await t.checkpoint.save(uri, (await Deno.open(path)).readable);
      expect(stats.bytesWritten).toBe(size);
      expect(stats.bufferedBytes).toBe(0);
      expect(sameBytes(await readAll(t.checkpoint.reader(uri)), data)).toBe(true);
      expect((await t.client.head(BUCKET, `files/${size}.bin`)).crc64).toBe(await crc64(data));
      const parts = Math.ceil(size / PART);
      expect(t.server.stats.byOperation.PutObject ?? 0).toBe(parts <= 1 ? 1 : 0);
      expect(t.server.stats.byOperation.UploadPart ?? 0).toBe(parts <= 1 ? 0 : parts);
    } finally {
      await Deno.remove(path);
    }
  });
}

Deno.test("save() reads a byte stream with a BYOB reader, however little each read fills", async () => {
  await using t = await setup();
  const data = randomBytes(2 * PART + 4321, 21);
  const { stream, seen } = byteSource(data, 100 * KiB + 7);
  const stats = await t.checkpoint.save(`oss://${BUCKET}/byob/small-reads.bin`, stream);
  expect(seen.byobReads).toBeGreaterThan(40);
  expect(seen.defaultReads).toBe(0);
  expect(stats.bytesWritten).toBe(data.length);
  expect(stats.partsUploaded).toBe(3);
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/byob/small-reads.bin`)), data)).toBe(
    true,
  );
});

Deno.test("save() takes a Uint8Array, a Blob and a plain (non-byte) stream, with the same result", async () => {
  await using t = await setup();
  const data = randomBytes(PART + 999, 22);
  let chunkAt = 0;
  const plain = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (chunkAt >= data.length) return controller.close();
      controller.enqueue(data.slice(chunkAt, chunkAt + 300 * KiB));
      chunkAt += 300 * KiB;
    },
  });
  const sources = { bytes: data, blob: new Blob([data]), plain };
  for (const [name, source] of Object.entries(sources)) {
    const uri = `oss://${BUCKET}/sources/${name}.bin`;
    const stats = await t.checkpoint.save(uri, source);
    expect({ name, size: stats.bytesWritten }).toEqual({ name, size: data.length });
    expect(sameBytes(await readAll(t.checkpoint.reader(uri)), data)).toBe(true);
  }
});

Deno.test("save() from a byte stream keeps memory within partSize × (uploadConcurrency + 1)", async () => {
  const part = 128 * KiB;
  const concurrency = 3;
  await using t = await setup({ latencyMs: 30 }, { partSize: part, uploadConcurrency: concurrency });
  const data = randomBytes(20 * part + 17, 23);
  const { stream } = byteSource(data, 50 * KiB);
  const stats = await t.checkpoint.save(`oss://${BUCKET}/mem/byob.bin`, stream);
  expect(stats.peakBufferedBytes).toBeLessThanOrEqual(part * (concurrency + 1));
  expect(stats.peakUploadsInFlight).toBe(concurrency);
  expect(stats.bufferedBytes).toBe(0);
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/mem/byob.bin`)), data)).toBe(true);
});

Deno.test("a source that fails mid-save rejects save(), aborts the upload and keeps the previous object", async () => {
  await using t = await setup();
  const previous = randomBytes(200 * KiB, 24);
  await t.client.put(BUCKET, "run/latest.bin", previous);
  const before = await t.client.head(BUCKET, "run/latest.bin");
  const { stream } = byteSource(randomBytes(6 * MiB, 25), 256 * KiB, { failAt: 2 * PART + 1000 });
  const err = await t.checkpoint.save(`oss://${BUCKET}/run/latest.bin`, stream).catch((e) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toBe("disk read failed");
  expect(t.server.stats.byOperation.InitiateMultipartUpload).toBe(1);
  expect(t.server.stats.byOperation.AbortMultipartUpload).toBe(1);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "run/latest.bin")).etag).toBe(before.etag);
});

Deno.test("an upload that fails cancels the source of save() and leaves nothing behind", async () => {
  await using t = await setupFailingParts(26);
  const { before } = t;
  const { stream, seen } = byteSource(randomBytes(64 * MiB, 27), 512 * KiB);
  const err = await t.checkpoint.save(`oss://${BUCKET}/run/latest.bin`, stream).catch((e) => e);
  expect(err).toBeInstanceOf(OssError);
  expect((err as OssError).status).toBe(503);
  expect(seen.cancelled).toBe(err);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "run/latest.bin")).etag).toBe(before.etag);
});

Deno.test("aborting the signal while the source of save() stalls rejects at once and cancels the source", async () => {
  await using t = await setup();
  const ac = new AbortController();
  const { stream, seen } = byteSource(randomBytes(8 * MiB, 28), 256 * KiB, { hangAt: 2 * PART + 10 });
  const saving = t.checkpoint.save(`oss://${BUCKET}/stall/x.bin`, stream, { signal: ac.signal });
  await until(() => (t.server.stats.byOperation.InitiateMultipartUpload ?? 0) > 0, "the upload to start");
  const reason = new Error("preempted");
  ac.abort(reason);
  await expect(saving).rejects.toBe(reason);
  expect(seen.cancelled).toBe(reason);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  await expect(t.client.head(BUCKET, "stall/x.bin")).rejects.toMatchObject({ status: 404 });
});

Deno.test("writeAll() and save() reject bad sources with a message naming the source", async () => {
  await using t = await setup();
  const locked = new Blob(["x"]).stream();
  locked.getReader();
  await expect(t.checkpoint.save(`oss://${BUCKET}/bad.bin`, locked)).rejects.toThrow(
    "OssCheckpointWriter.writeAll: source: the stream is locked to another reader",
  );
  await expect(t.checkpoint.save(`oss://${BUCKET}/bad.bin`, "text" as never)).rejects.toThrow(
    "OssCheckpointWriter.writeAll: source: expected a ReadableStream<Uint8Array>, Blob or Uint8Array, got string",
  );
  const writer = t.checkpoint.writer(`oss://${BUCKET}/bad.bin`);
  writer.getWriter();
  await expect(writer.writeAll(new Uint8Array(1))).rejects.toThrow(TypeError);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect(t.server.stats.byOperation.PutObject ?? 0).toBe(0);
});

Deno.test("save() of a Blob over one part streams slices of it: no part buffers, byte-exact", async () => {
  await using t = await setup(undefined, { uploadConcurrency: 3 });
  const data = randomBytes(5 * PART + 321, 31);
  const stats = await t.checkpoint.save(`oss://${BUCKET}/blob/sliced.bin`, new Blob([data]));
  expect(stats.bytesWritten).toBe(data.length);
  expect(stats.partsUploaded).toBe(6);
  expect(stats.peakBufferedBytes).toBe(0);
  expect(stats.peakUploadsInFlight).toBe(3);
  expect(t.server.stats.byOperation.UploadPart).toBe(6);
  expect((await t.client.head(BUCKET, "blob/sliced.bin")).crc64).toBe(await crc64(data));
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/blob/sliced.bin`)), data)).toBe(true);
});

Deno.test("a sliced Blob save survives 30% faults on its part uploads, byte-exact, nothing left behind", async () => {
  await using t = await setup({
    errorRate: 0.3,
    seed: 77,
    match: (_method, _key, operation) => operation === "UploadPart",
  });
  const data = randomBytes(6 * PART + 9, 32);
  await t.checkpoint.save(`oss://${BUCKET}/blob/faulty.bin`, new Blob([data]));
  expect(t.server.stats.faultsInjected).toBeGreaterThanOrEqual(2); // each one a part sent again from its slice
  expect(t.server.stats.byOperation.UploadPart).toBeGreaterThan(7);
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/blob/faulty.bin`)), data)).toBe(true);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
});

Deno.test("a sliced Blob save that cannot upload its parts aborts and keeps the previous object", async () => {
  await using t = await setupFailingParts(33);
  const { before } = t;
  const err = await t.checkpoint.save(`oss://${BUCKET}/run/latest.bin`, new Blob([randomBytes(4 * PART, 34)]))
    .catch((e) => e);
  expect(err).toBeInstanceOf(OssError);
  expect((err as OssError).status).toBe(503);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "run/latest.bin")).etag).toBe(before.etag);
});
