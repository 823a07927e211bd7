// Multipart uploads and appendable objects through OssClient against the signing emulator.
import { expect } from "expect";
import { ConfigError, OssError } from "../src/errors.ts";
import { bytesOf, clientFor, expectBytes, MODES, streamOf, withServer } from "./client_fixtures.ts";

for (const mode of MODES) {
  Deno.test(`${mode}: multipart upload round trip: initiate, parts out of order, list, complete`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const part = 256 * 1024;
      const data = bytesOf(3 * part + 1234, 3);
      const uploadId = await client.initiateMultipart("bkt", "mp/big file.bin", {
        contentType: "application/x-mp",
      });
      expect(uploadId.length).toBeGreaterThan(0);
      const slices = [data.subarray(0, part), data.subarray(part, 2 * part), data.subarray(2 * part)];
      const p3 = await client.uploadPart("bkt", "mp/big file.bin", uploadId, 3, new Blob([slices[2]]));
      const p1 = await client.uploadPart("bkt", "mp/big file.bin", uploadId, 1, slices[0]);
      const p2 = await client.uploadPart("bkt", "mp/big file.bin", uploadId, 2, streamOf(slices[1], 10_000));
      expect([p1.partNumber, p2.partNumber, p3.partNumber]).toEqual([1, 2, 3]);
      expect(p1.etag).toMatch(/^".+"$/);

      const listed = await client.listParts("bkt", "mp/big file.bin", uploadId);
      expect(listed.map((p) => [p.partNumber, p.etag, p.size])).toEqual([
        [1, p1.etag, part],
        [2, p2.etag, part],
        [3, p3.etag, slices[2].length],
      ]);
      const uploads = await client.listUploads("bkt", { prefix: "mp/" });
      expect(uploads.map((u) => [u.key, u.uploadId])).toEqual([["mp/big file.bin", uploadId]]);
      expect(uploads[0].initiated).toBeInstanceOf(Date);

      const done = await client.completeMultipart("bkt", "mp/big file.bin", uploadId, [p3, p1, p2]);
      expect(done.etag).toMatch(/^".+-3"$/);
      expect(done.crc64).toMatch(/^\d+$/);
      const got = await client.getBytes("bkt", "mp/big file.bin");
      expectBytes(got.bytes, data);
      expect(got).toMatchObject({ etag: done.etag, crc64: done.crc64, contentType: "application/x-mp" });
      expect(await client.listUploads("bkt")).toEqual([]);
    });
  });

  Deno.test(`${mode}: abortMultipart discards the upload; later calls fail with NoSuchUpload`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const uploadId = await client.initiateMultipart("bkt", "mp/aborted");
      const p1 = await client.uploadPart("bkt", "mp/aborted", uploadId, 1, "part one");
      await client.abortMultipart("bkt", "mp/aborted", uploadId);
      expect(await client.listUploads("bkt")).toEqual([]);
      const err = await client.completeMultipart("bkt", "mp/aborted", uploadId, [p1]).catch((e) => e);
      expect(err).toBeInstanceOf(OssError);
      expect(err).toMatchObject({ code: "NoSuchUpload", status: 404, key: "mp/aborted", method: "POST" });
      await expect(client.uploadPart("bkt", "mp/aborted", uploadId, 2, "x")).rejects.toMatchObject({
        code: "NoSuchUpload",
      });
      await expect(client.head("bkt", "mp/aborted")).rejects.toMatchObject({ status: 404 });
    });
  });

  Deno.test(`${mode}: completing with a wrong part ETag fails with InvalidPart`, async () => {
    await withServer(async (server) => {
      const client = clientFor(server, mode);
      const uploadId = await client.initiateMultipart("bkt", "mp/bad");
      await client.uploadPart("bkt", "mp/bad", uploadId, 1, "data");
      await expect(client.completeMultipart("bkt", "mp/bad", uploadId, [{ partNumber: 1, etag: '"00"' }]))
        .rejects.toMatchObject({ code: "InvalidPart", status: 400 });
    });
  });
}

Deno.test("oss4: append returns the next position; a wrong position is PositionNotEqualToLength", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "oss4");
    const a = bytesOf(1000, 1);
    const b = bytesOf(70_000, 2);
    const first = await client.append("bkt", "log/app.log", 0, a);
    expect(first.nextPosition).toBe(1000);
    expect(first.crc64).toMatch(/^\d+$/);
    const second = await client.append("bkt", "log/app.log", first.nextPosition, b);
    expect(second.nextPosition).toBe(71_000);
    const third = await client.append("bkt", "log/app.log", second.nextPosition, "tail");
    expect(third.nextPosition).toBe(71_004);

    const err = await client.append("bkt", "log/app.log", 5, "oops").catch((e) => e);
    expect(err).toBeInstanceOf(OssError);
    expect(err).toMatchObject({
      code: "PositionNotEqualToLength",
      status: 409,
      bucket: "bkt",
      key: "log/app.log",
      method: "POST",
    });
    expect(err.requestId).toMatch(/^[0-9A-F]{24}$/);

    const meta = await client.head("bkt", "log/app.log");
    expect(meta).toMatchObject({ size: 71_004, objectType: "Appendable", nextAppendPosition: 71_004 });
    expect(meta.crc64).toBe(third.crc64);
    const whole = new Uint8Array([...a, ...b, ...new TextEncoder().encode("tail")]);
    expectBytes((await client.getBytes("bkt", "log/app.log")).bytes, whole);

    await client.put("bkt", "normal", "x");
    await expect(client.append("bkt", "normal", 1, "y")).rejects.toMatchObject({
      code: "ObjectNotAppendable",
    });
  });
});

Deno.test("s3v4: append is a clear usage error, sent nowhere", async () => {
  await withServer(async (server) => {
    const client = clientFor(server, "s3v4");
    const err = await client.append("bkt", "k", 0, "x").catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'OssClient.append: appendable objects are an OSS feature; this client uses signatureVersion "s3v4"',
    );
    expect(server.stats.requests).toBe(0);
  });
});
