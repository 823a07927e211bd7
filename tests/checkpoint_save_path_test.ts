/**
 * `OssCheckpoint.save(uri, { path })`: a local file saved part by part, each part read from the file while it is
 * sent and read again on a retry, against the local server.
 */
import { expect } from "expect";
import { crc64 } from "../src/crc64.ts";
import { ConfigError, IntegrityError, OssError } from "../src/errors.ts";
import { BUCKET, KiB, PART, randomBytes, readAll, sameBytes, setup } from "./checkpoint_fixture.ts";

async function tempFile(data: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ossflow-save-path-" });
  await Deno.writeFile(path, data);
  return path;
}

/** Faults only on the `n`-th UploadPart request (1-based), and a count of UploadParts seen. */
function onUploadPart(n: number, then?: () => void) {
  let seen = 0;
  return {
    match: (_method: string, _key: string, operation: string) => {
      if (operation !== "UploadPart") return false;
      if (++seen !== n) return false;
      then?.();
      return true;
    },
  };
}

/** Leaves `run/latest.bin` on the server (a failed save must not touch it); returns its HEAD. */
async function previousObject(t: Awaited<ReturnType<typeof setup>>) {
  await t.client.put(BUCKET, "run/latest.bin", randomBytes(300 * KiB, 40));
  return await t.client.head(BUCKET, "run/latest.bin");
}

Deno.test("save({ path }) round-trips a file of several parts byte-exact, with no part buffers", async () => {
  await using t = await setup(undefined, { uploadConcurrency: 3 });
  const data = randomBytes(5 * PART + 321, 41);
  const path = await tempFile(data);
  const stats = await t.checkpoint.save(`oss://${BUCKET}/file/exact.bin`, { path });
  expect(stats.bytesWritten).toBe(data.length);
  expect(stats.partsUploaded).toBe(6);
  expect(stats.peakUploadsInFlight).toBe(3);
  // Every part was read from the file as it was sent: the writer held no part buffer at any time, far under
  // the bound of a byte stream's save, partSize × (uploadConcurrency + 1).
  expect(stats.peakBufferedBytes).toBe(0);
  expect(stats.crc64).toBe(await crc64(data));
  expect((await t.client.head(BUCKET, "file/exact.bin")).crc64).toBe(await crc64(data));
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/file/exact.bin`)), data)).toBe(true);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  await Deno.remove(path);
});

Deno.test("save({ path }) of a file of at most one part is one PUT, byte-exact", async () => {
  await using t = await setup();
  for (const size of [0, 1, PART]) {
    const data = randomBytes(size, 42);
    const path = await tempFile(data);
    const stats = await t.checkpoint.save(`oss://${BUCKET}/file/small-${size}.bin`, { path });
    expect([stats.bytesWritten, stats.partsUploaded]).toEqual([size, 0]);
    expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/file/small-${size}.bin`)), data))
      .toBe(true);
    await Deno.remove(path);
  }
  expect(t.server.stats.byOperation.UploadPart ?? 0).toBe(0);
});

Deno.test("a part of save({ path }) whose upload is reset is read again from the file: byte-exact", async () => {
  await using t = await setup({ errorRate: 1, errorKinds: ["reset"], ...onUploadPart(2) }, {
    uploadConcurrency: 2,
  });
  const data = randomBytes(4 * PART + 7, 43);
  const path = await tempFile(data);
  const stats = await t.checkpoint.save(`oss://${BUCKET}/file/retried.bin`, { path });
  expect(t.server.stats.faultsInjected).toBe(1);
  expect(t.server.stats.byOperation.UploadPart).toBe(5 + 1); // five parts, one of them sent twice
  expect(stats.partsUploaded).toBe(5);
  expect(stats.peakBufferedBytes).toBe(0); // no copy of the part existed to resend: it came from the file
  expect(sameBytes(await readAll(t.checkpoint.reader(`oss://${BUCKET}/file/retried.bin`)), data)).toBe(true);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  await Deno.remove(path);
});

Deno.test("a file truncated during save({ path }) fails the save naming the file; the previous object stays", async () => {
  let path = "";
  // The first part reaching the server truncates the file to one part and a bit: later parts find it short.
  await using t = await setup(
    { errorRate: 0, ...onUploadPart(1, () => Deno.truncateSync(path, PART + 10)) },
    { uploadConcurrency: 2 },
  );
  const before = await previousObject(t);
  path = await tempFile(randomBytes(6 * PART, 44));
  const err = await t.checkpoint.save(`oss://${BUCKET}/run/latest.bin`, { path }).catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect((err as Error).message).toContain(`file "${path}" ended at byte`);
  expect((err as Error).message).toContain("truncated");
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "run/latest.bin")).etag).toBe(before.etag);
  await Deno.remove(path);
});

Deno.test("a file that grows during save({ path }) fails the save before completing it; the previous object stays", async () => {
  let path = "";
  await using t = await setup(
    { errorRate: 0, ...onUploadPart(1, () => Deno.writeFileSync(path, new Uint8Array(5), { append: true })) },
    { uploadConcurrency: 2 },
  );
  const before = await previousObject(t);
  const size = 3 * PART + 1;
  path = await tempFile(randomBytes(size, 45));
  const err = await t.checkpoint.save(`oss://${BUCKET}/run/latest.bin`, { path }).catch((e) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect((err as Error).message).toContain(
    `oss://${BUCKET}/run/latest.bin: file "${path}" changed during the save: ${size} bytes when it began, ${
      size + 5
    } now`,
  );
  expect(t.server.stats.byOperation.CompleteMultipartUpload ?? 0).toBe(0);
  expect(await t.client.listUploads(BUCKET)).toEqual([]);
  expect((await t.client.head(BUCKET, "run/latest.bin")).etag).toBe(before.etag);
  await Deno.remove(path);
});

Deno.test("save({ path }) rejects a missing file and a path that is not a string, naming them", async () => {
  await using t = await setup();
  const missing = `${await Deno.makeTempDir()}/no-such.bin`;
  const err = await t.checkpoint.save(`oss://${BUCKET}/file/missing.bin`, { path: missing }).catch((e) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toBe(`cannot read "${missing}": no such file or directory`);
  await expect(t.checkpoint.save(`oss://${BUCKET}/file/x.bin`, { path: 7 } as unknown as { path: string }))
    .rejects.toThrow("OssCheckpoint.save: source.path: expected the path of a local file, got 7");
  expect(t.server.stats.byOperation.InitiateMultipartUpload ?? 0).toBe(0);
  expect(err).not.toBeInstanceOf(OssError);
});
