/**
 * `@aws-sdk/client-s3` as the independent judge of the local server's S3 form (SigV4 verified): standard
 * object headers, copy-source conditions and ranges, self-copy, listing edge cases, repeated
 * CompleteMultipartUpload, GetBucketLocation and bucket names with dots, as the SDK parses them.
 */
import { expect } from "expect";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { type RunningEmulator, serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore } from "../src/server/store/mod.ts";

const AK = "AKIAOSSFLOWCONF";
const SK = "aws-sdk-conformance-secret";

const HEADERS = {
  CacheControl: "max-age=60",
  ContentDisposition: 'inline; filename="a.txt"',
  ContentEncoding: "identity",
  ContentLanguage: "fr",
  Expires: new Date("2033-12-01T16:00:00Z"),
};

function client(s: RunningEmulator): S3Client {
  return new S3Client({
    endpoint: s.url,
    forcePathStyle: true,
    region: "cn-beijing",
    credentials: { accessKeyId: AK, secretAccessKey: SK },
    maxAttempts: 1,
  });
}

/** The SDK's error for a failed call, or undefined when it succeeded. */
async function failure(p: Promise<unknown>): Promise<{ name?: string; status?: number } | undefined> {
  return await p.then(
    () => undefined,
    (e) => ({ name: e?.name, status: e?.$metadata?.httpStatusCode }),
  );
}

async function withServer(fn: (s: RunningEmulator, c: S3Client) => Promise<void>, dir?: string) {
  const s = await serveEmulator({
    store: dir ? new DirectoryStore(dir) : undefined,
    buckets: ["data"],
    region: "cn-beijing",
    minPartSize: 0,
    credentials: [{ accessKeyId: AK, accessKeySecret: SK }],
  });
  const c = client(s);
  try {
    await fn(s, c);
  } finally {
    c.destroy();
    await s.close();
    await s.store.close();
  }
}

const opts = { sanitizeResources: false, sanitizeOps: false }; // the SDK's HTTP agent keeps sockets pooled

Deno.test({
  ...opts,
  name:
    "aws-sdk: standard headers of PutObject, CreateMultipartUpload and CopyObject come back from HeadObject",
  fn: () =>
    withServer(async (_s, c) => {
      const standardOf = (h: HeadObjectCommandOutput) => ({
        CacheControl: h.CacheControl,
        ContentDisposition: h.ContentDisposition,
        ContentEncoding: h.ContentEncoding,
        ContentLanguage: h.ContentLanguage,
        Expires: h.Expires,
      });
      await c.send(new PutObjectCommand({ Bucket: "data", Key: "put", Body: "hello", ...HEADERS }));
      expect(standardOf(await c.send(new HeadObjectCommand({ Bucket: "data", Key: "put" })))).toEqual(
        HEADERS,
      );

      const { UploadId } = await c.send(
        new CreateMultipartUploadCommand({ Bucket: "data", Key: "mp", ...HEADERS }),
      );
      const part = await c.send(
        new UploadPartCommand({ Bucket: "data", Key: "mp", UploadId, PartNumber: 1, Body: "part" }),
      );
      await c.send(
        new CompleteMultipartUploadCommand({
          Bucket: "data",
          Key: "mp",
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      expect(standardOf(await c.send(new HeadObjectCommand({ Bucket: "data", Key: "mp" })))).toEqual(HEADERS);

      await c.send(new CopyObjectCommand({ Bucket: "data", Key: "copy", CopySource: "data/put" }));
      expect(standardOf(await c.send(new HeadObjectCommand({ Bucket: "data", Key: "copy" })))).toEqual(
        HEADERS,
      );
      await c.send(
        new CopyObjectCommand({
          Bucket: "data",
          Key: "replaced",
          CopySource: "data/put",
          MetadataDirective: "REPLACE",
          CacheControl: "no-store",
        }),
      );
      const replaced = await c.send(new HeadObjectCommand({ Bucket: "data", Key: "replaced" }));
      expect([replaced.CacheControl, replaced.ContentLanguage]).toEqual(["no-store", undefined]);
    }),
});

Deno.test({
  ...opts,
  name: "aws-sdk: failed copy-source conditions, a part range beyond the source and a self-copy are refused",
  fn: () =>
    withServer(async (s, c) => {
      const put = await c.send(new PutObjectCommand({ Bucket: "data", Key: "src", Body: "12345" }));
      const copy = (extra: Record<string, unknown>) =>
        c.send(new CopyObjectCommand({ Bucket: "data", Key: "dst", CopySource: "data/src", ...extra }));
      expect(await failure(copy({ CopySourceIfMatch: '"0123"' }))).toEqual({
        name: "PreconditionFailed",
        status: 412,
      });
      expect(await failure(copy({ CopySourceIfNoneMatch: put.ETag }))).toEqual({
        name: "PreconditionFailed",
        status: 412,
      });
      expect(await failure(copy({ CopySourceIfModifiedSince: new Date("2100-01-01") }))).toEqual({
        name: "PreconditionFailed",
        status: 412,
      });
      expect(await failure(copy({ CopySourceIfUnmodifiedSince: new Date("2001-01-01") }))).toEqual({
        name: "PreconditionFailed",
        status: 412,
      });
      expect(await s.store.head("data", "dst")).toBeUndefined();
      expect(await failure(copy({ CopySourceIfMatch: put.ETag }))).toBeUndefined();

      const self = c.send(new CopyObjectCommand({ Bucket: "data", Key: "src", CopySource: "data/src" }));
      expect(await failure(self)).toEqual({ name: "InvalidRequest", status: 400 });

      const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "dest" }));
      const partCopy = c.send(
        new UploadPartCopyCommand({
          Bucket: "data",
          Key: "dest",
          UploadId,
          PartNumber: 1,
          CopySource: "data/src",
          CopySourceRange: "bytes=0-21",
        }),
      );
      expect(await failure(partCopy)).toEqual({ name: "InvalidArgument", status: 400 });
      const parts = await c.send(new ListPartsCommand({ Bucket: "data", Key: "dest", UploadId }));
      expect(parts.Parts ?? []).toEqual([]);
      expect(parts.StorageClass).toBe("STANDARD");
    }),
});

Deno.test({
  ...opts,
  name: "aws-sdk: MaxKeys 0 is an empty page that is not truncated, and listings say STANDARD",
  fn: () =>
    withServer(async (_s, c) => {
      await c.send(new PutObjectCommand({ Bucket: "data", Key: "a", Body: "1" }));
      const empty = await c.send(new ListObjectsV2Command({ Bucket: "data", MaxKeys: 0 }));
      expect([empty.IsTruncated, empty.KeyCount, empty.Contents, empty.NextContinuationToken]).toEqual([
        false,
        0,
        undefined,
        undefined,
      ]);
      const page = await c.send(new ListObjectsV2Command({ Bucket: "data" }));
      expect(page.Contents?.map((o) => o.StorageClass)).toEqual(["STANDARD"]);
    }),
});

Deno.test({
  ...opts,
  name:
    "aws-sdk: CompleteMultipartUpload sent again answers the same ETag; GetBucketLocation names the region",
  fn: () =>
    withServer(async (_s, c) => {
      const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "twice" }));
      const part = await c.send(
        new UploadPartCommand({ Bucket: "data", Key: "twice", UploadId, PartNumber: 1, Body: "x" }),
      );
      const complete = () =>
        c.send(
          new CompleteMultipartUploadCommand({
            Bucket: "data",
            Key: "twice",
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          }),
        );
      const first = await complete();
      expect((await complete()).ETag).toBe(first.ETag);
      const location = await c.send(new GetBucketLocationCommand({ Bucket: "data" }));
      expect(location.LocationConstraint).toBe("cn-beijing");
    }),
});

Deno.test({
  ...opts,
  name: "aws-sdk: a bucket named with dots is created, written and read, and survives a restart",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ossflow-dots-" });
    try {
      await withServer(async (_s, c) => {
        await c.send(new CreateBucketCommand({ Bucket: "logs.example.test" }));
        await c.send(new PutObjectCommand({ Bucket: "logs.example.test", Key: "k", Body: "dotted" }));
      }, dir);
      await withServer(async (_s, c) => {
        const got = await c.send(new GetObjectCommand({ Bucket: "logs.example.test", Key: "k" }));
        expect(await got.Body?.transformToString()).toBe("dotted");
      }, dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
