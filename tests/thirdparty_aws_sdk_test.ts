/**
 * `@aws-sdk/client-s3` (path style, default flexible-checksum settings) against the local server's S3 form,
 * with SigV4 signatures verified. Streaming bodies arrive aws-chunked with a CRC32 trailer; buffered bodies
 * with a signed SHA-256 payload hash and an x-amz-checksum-crc32 header — the server checks all of them.
 */
import { expect } from "expect";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { type RunningEmulator, serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const AK = "AKIAOSSFLOWTEST";
const SK = "aws-sdk-test-secret";
const enc = new TextEncoder();

function s3(s: RunningEmulator, secret = SK): S3Client {
  return new S3Client({
    endpoint: s.url,
    forcePathStyle: true,
    region: "cn-hangzhou",
    credentials: { accessKeyId: AK, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

async function withServer(backend: string, fn: (s: RunningEmulator, client: S3Client) => Promise<void>) {
  const dir = backend === "directory" ? await Deno.makeTempDir({ prefix: "ossflow-awssdk-" }) : undefined;
  const store: ObjectStore = dir ? new DirectoryStore(dir) : new MemoryStore();
  const s = await serveEmulator({
    store,
    buckets: ["data"],
    credentials: [{ accessKeyId: AK, accessKeySecret: SK }],
  });
  const client = s3(s);
  try {
    await fn(s, client);
  } finally {
    client.destroy();
    await s.close();
    await store.close();
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

const opts = { sanitizeResources: false, sanitizeOps: false }; // the SDK's HTTP agent keeps sockets pooled

for (const backend of ["memory", "directory"]) {
  Deno.test({
    ...opts,
    name: `aws-sdk (${backend} store): put (buffered and streamed), get, range, head, copy, delete`,
    fn: () =>
      withServer(backend, async (s, client) => {
        const put = await client.send(
          new PutObjectCommand({
            Bucket: "data",
            Key: "a/hello.txt",
            Body: "hello world",
            Metadata: { owner: "me" },
          }),
        );
        expect(put.ETag).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
        const streamed = Readable.from([enc.encode("stream"), enc.encode("ed body")]);
        await client.send(
          new PutObjectCommand({ Bucket: "data", Key: "a/streamed.txt", Body: streamed, ContentLength: 13 }),
        );

        const get = await client.send(new GetObjectCommand({ Bucket: "data", Key: "a/hello.txt" }));
        expect(await get.Body!.transformToString()).toBe("hello world");
        expect(get.Metadata).toEqual({ owner: "me" });
        expect(
          await (await client.send(new GetObjectCommand({ Bucket: "data", Key: "a/streamed.txt" }))).Body!
            .transformToString(),
        ).toBe("streamed body");
        const range = await client.send(
          new GetObjectCommand({ Bucket: "data", Key: "a/hello.txt", Range: "bytes=-5" }),
        );
        expect([range.ContentRange, await range.Body!.transformToString()]).toEqual([
          "bytes 6-10/11",
          "world",
        ]);
        const head = await client.send(new HeadObjectCommand({ Bucket: "data", Key: "a/streamed.txt" }));
        expect(head.ContentLength).toBe(13);

        const copy = await client.send(
          new CopyObjectCommand({ Bucket: "data", Key: "b/copy.txt", CopySource: "data/a/hello.txt" }),
        );
        expect(copy.CopyObjectResult?.ETag).toBe(put.ETag);
        await client.send(new DeleteObjectCommand({ Bucket: "data", Key: "a/hello.txt" }));
        await expect(client.send(new GetObjectCommand({ Bucket: "data", Key: "a/hello.txt" }))).rejects
          .toMatchObject({
            name: "NoSuchKey",
            $metadata: { httpStatusCode: 404 },
          });
        await expect(client.send(new HeadObjectCommand({ Bucket: "data", Key: "a/hello.txt" }))).rejects
          .toMatchObject({
            $metadata: { httpStatusCode: 404 },
          });
        expect(s.stats.errors.XAmzContentSHA256Mismatch).toBeUndefined();
      }),
  });

  Deno.test({
    ...opts,
    name:
      `aws-sdk (${backend} store): ListObjectsV2 paginates, groups by delimiter, and DeleteObjects removes keys`,
    fn: () =>
      withServer(backend, async (_s, client) => {
        const keys = Array.from({ length: 23 }, (_, i) => `shard-${String(i).padStart(3, "0")}.tar`);
        await Promise.all(
          [...keys, "meta/index.json"].map((Key) =>
            client.send(new PutObjectCommand({ Bucket: "data", Key, Body: Key }))
          ),
        );
        const listed: string[] = [];
        let pages = 0;
        for await (
          const page of paginateListObjectsV2({ client, pageSize: 5 }, { Bucket: "data", Prefix: "shard-" })
        ) {
          listed.push(...(page.Contents ?? []).map((c) => c.Key!));
          pages++;
        }
        expect([listed, pages]).toEqual([keys, 5]);
        const top = await client.send(new ListObjectsV2Command({ Bucket: "data", Delimiter: "/" }));
        expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["meta/"]);
        expect(top.KeyCount).toBe(24);
        expect(top.Contents?.[0].Size).toBe(13);

        const del = await client.send(
          new DeleteObjectsCommand({
            Bucket: "data",
            Delete: { Objects: keys.slice(0, 20).map((Key) => ({ Key })) },
          }),
        );
        expect(del.Deleted?.map((d) => d.Key)).toEqual(keys.slice(0, 20));
        const rest = await client.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "shard-" }));
        expect(rest.Contents?.map((c) => c.Key)).toEqual(keys.slice(20));
      }),
  });

  Deno.test({
    ...opts,
    name:
      `aws-sdk (${backend} store): multipart create, upload, list parts, complete; abort and list uploads`,
    fn: () =>
      withServer(backend, async (s, client) => {
        const { UploadId } = await client.send(
          new CreateMultipartUploadCommand({
            Bucket: "data",
            Key: "ckpt/step-1.bin",
            ContentType: "application/x-ckpt",
          }),
        );
        const part1 = new Uint8Array(5 * 1024 * 1024).fill(1);
        const part2 = enc.encode("tail of the checkpoint");
        const etags: string[] = [];
        for (const [i, Body] of [part1, part2].entries()) {
          const r = await client.send(
            new UploadPartCommand({
              Bucket: "data",
              Key: "ckpt/step-1.bin",
              UploadId,
              PartNumber: i + 1,
              Body,
            }),
          );
          etags.push(r.ETag!);
        }
        const parts = await client.send(
          new ListPartsCommand({ Bucket: "data", Key: "ckpt/step-1.bin", UploadId }),
        );
        expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
          [1, etags[0], part1.length],
          [2, etags[1], part2.length],
        ]);
        const done = await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: "data",
            Key: "ckpt/step-1.bin",
            UploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        );
        expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
        const got = await client.send(new GetObjectCommand({ Bucket: "data", Key: "ckpt/step-1.bin" }));
        const bytes = await got.Body!.transformToByteArray();
        expect(bytes.length).toBe(part1.length + part2.length);
        expect(new TextDecoder().decode(bytes.subarray(part1.length))).toBe("tail of the checkpoint");
        expect(got.ContentType).toBe("application/x-ckpt");

        const second = await client.send(
          new CreateMultipartUploadCommand({ Bucket: "data", Key: "ckpt/step-2.bin" }),
        );
        const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: "data" }));
        expect(listing.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([[
          "ckpt/step-2.bin",
          second.UploadId,
        ]]);
        await client.send(
          new AbortMultipartUploadCommand({
            Bucket: "data",
            Key: "ckpt/step-2.bin",
            UploadId: second.UploadId,
          }),
        );
        await expect(
          client.send(
            new ListPartsCommand({ Bucket: "data", Key: "ckpt/step-2.bin", UploadId: second.UploadId }),
          ),
        ).rejects.toMatchObject({ name: "NoSuchUpload" });
        expect(await s.store.listUploads("data")).toEqual([]);
      }),
  });
}

Deno.test({
  ...opts,
  name: "aws-sdk: lib-storage Upload streams a large body as a concurrent multipart upload",
  fn: () =>
    withServer("memory", async (s, client) => {
      const size = 12 * 1024 * 1024 + 7;
      const data = new Uint8Array(size).map((_, i) => (i * 13) & 255);
      const upload = new Upload({
        client,
        params: {
          Bucket: "data",
          Key: "big.bin",
          Body: Readable.from([data.subarray(0, size / 2 | 0), data.subarray(size / 2 | 0)]),
        },
        partSize: 5 * 1024 * 1024,
        queueSize: 3,
      });
      await upload.done();
      expect(s.stats.byOperation.UploadPart).toBe(3);
      const got = await client.send(new GetObjectCommand({ Bucket: "data", Key: "big.bin" }));
      const bytes = await got.Body!.transformToByteArray();
      expect(bytes.length).toBe(size);
      expect(bytes.every((b, i) => b === data[i])).toBe(true);
    }),
});

Deno.test({
  ...opts,
  name: "aws-sdk: a client with the wrong secret gets SignatureDoesNotMatch",
  fn: () =>
    withServer("memory", async (s) => {
      const bad = s3(s, "wrong-secret");
      try {
        await expect(bad.send(new PutObjectCommand({ Bucket: "data", Key: "k", Body: "x" }))).rejects
          .toMatchObject({
            name: "SignatureDoesNotMatch",
            $metadata: { httpStatusCode: 403 },
          });
        expect(await s.store.head("data", "k")).toBeUndefined();
      } finally {
        bad.destroy();
      }
    }),
});
