/**
 * No request may fall through to the wrong operation: every OSS and S3 sub-resource the local server does
 * not implement is refused with 501 NotImplemented, for every method and target, before anything is read
 * or written. The sub-resource list here is written from the OSS API reference and the S3 API reference,
 * independently of the server's own list.
 */
import { expect } from "expect";
import {
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketTaggingCommand,
  PutObjectAclCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type RunningEmulator, serveEmulator } from "../src/server/emulator.ts";
import { DirectoryStore, MemoryStore, type ObjectStore } from "../src/server/store/mod.ts";

const enc = new TextEncoder();

/** OSS API sub-resources (the V1 signature's list and the operations of the API reference since). */
const OSS_SUBRESOURCES = [
  "acl",
  "append",
  "asyncFetch",
  "bucketInfo",
  "callback",
  "callback-var",
  "cname",
  "comp",
  "cors",
  "delete",
  "encryption",
  "endTime",
  "img",
  "inventory",
  "inventoryId",
  "lifecycle",
  "live",
  "location",
  "logging",
  "metaQuery",
  "objectMeta",
  "partNumber",
  "policy",
  "qos",
  "qosInfo",
  "referer",
  "regionList",
  "replication",
  "replicationLocation",
  "replicationProgress",
  "requestPayment",
  "resourceGroup",
  "restore",
  "sequential",
  "startTime",
  "stat",
  "status",
  "style",
  "styleName",
  "symlink",
  "tagging",
  "transferAcceleration",
  "udf",
  "udfApplication",
  "udfApplicationLog",
  "udfId",
  "udfImage",
  "udfImageDesc",
  "udfName",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "vod",
  "website",
  "worm",
  "wormExtend",
  "wormId",
  "x-oss-process",
  "withHashContext",
  "x-oss-enable-md5",
  "x-oss-enable-sha1",
  "x-oss-enable-sha256",
  "x-oss-hash-ctx",
  "x-oss-md5-ctx",
  "cloudboxes",
  "x-oss-ac-source-ip",
  "x-oss-ac-subnet-mask",
  "x-oss-ac-vpc-id",
  "x-oss-ac-forward-allow",
  "x-oss-async-process",
  "accessPoint",
  "accessPointPolicy",
  "publicAccessBlock",
  "policyStatus",
  "httpsConfig",
  "rtc",
  "redundancyTransition",
  "dataRedundancyTransition",
  "responseHeader",
  "userDefinedLogFieldsConfig",
  "overwriteConfig",
  "seal",
  "cleanRestoredObject",
  "bucketArchiveDirectRead",
  "objectWorm",
  "requesterQosInfo",
  "resourcePool",
  "resourcePoolInfo",
  "resourcePoolBuckets",
  "accessPointForObjectProcess",
  "accessPointConfigForObjectProcess",
  "accessPointPolicyForObjectProcess",
  "x-oss-write-get-object-response",
]; // deno-fmt-ignore

/** S3 API sub-resources (each operation of the S3 API reference addressed by one). */
const S3_SUBRESOURCES = [
  "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering",
  "inventory", "legal-hold", "lifecycle", "location", "logging", "metrics", "notification", "object-lock",
  "ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock", "replication",
  "requestPayment", "restore", "retention", "select", "select-type", "session", "tagging", "torrent", "uploadId",
  "uploads", "versionId", "versioning", "versions", "website", "metadataTable", "metadataConfiguration",
  "metadataInventoryTable", "metadataJournalTable", "renameObject", "abac",
]; // deno-fmt-ignore

const ALL = [...new Set([...OSS_SUBRESOURCES, ...S3_SUBRESOURCES])];
const METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"];

/** The sub-resources the server implements, by target and method: the only ones not walked. */
const IMPLEMENTED: Record<string, string[]> = {
  "bucket GET": ["uploads", "location"],
  "bucket POST": ["delete"],
  "object GET": ["uploadId"],
  "object PUT": ["uploadId"],
  "object POST": ["uploads", "uploadId", "append"],
  "object DELETE": ["uploadId"],
};

/** Everything the store holds: buckets, objects (metadata and bytes) and uploads with their parts. */
async function snapshot(store: ObjectStore): Promise<unknown> {
  const out = [];
  for (const bucket of await store.listBuckets()) {
    const objects = [];
    for (const meta of (await store.list(bucket.name, { maxKeys: 100_000 })).objects) {
      objects.push({ meta, body: await new Response((await store.get(bucket.name, meta.key)).body).text() });
    }
    const uploads = [];
    for (const u of await store.listUploads(bucket.name)) {
      uploads.push({ ...u, parts: await store.listParts(bucket.name, u.key, u.uploadId) });
    }
    out.push({ bucket, objects, uploads });
  }
  return out;
}

/** A bucket with a plain object, an appendable one and an upload in progress, and an empty bucket. */
async function seed(store: ObjectStore): Promise<string> {
  await store.createBucket("data");
  await store.createBucket("empty");
  await store.put("data", "k", enc.encode("original bytes"), {
    contentType: "text/plain",
    userMeta: { owner: "me" },
  });
  await store.append("data", "log", 0, enc.encode("abc"));
  const { uploadId } = await store.createUpload("data", "big");
  await store.uploadPart("data", "big", uploadId, 1, enc.encode("part one"));
  return uploadId;
}

async function withServer(
  backend: "memory" | "directory",
  fn: (s: RunningEmulator, uploadId: string) => Promise<void>,
): Promise<void> {
  const dir = backend === "directory" ? await Deno.makeTempDir({ prefix: "ossflow-subres-" }) : undefined;
  const store = dir ? new DirectoryStore(dir) : new MemoryStore();
  const uploadId = await seed(store);
  const s = await serveEmulator({ store });
  try {
    await fn(s, uploadId);
  } finally {
    await s.close();
    await store.close();
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

interface Probe {
  method: string;
  path: string;
  form: "oss" | "s3";
}

/** Sends a probe (PUT and POST carry an XML body a fall-through would store) and reads the answer. */
async function send(s: RunningEmulator, p: Probe): Promise<{ status: number; code?: string }> {
  const headers: Record<string, string> = p.form === "s3"
    ? { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }
    : {};
  const body = p.method === "PUT" || p.method === "POST" || p.method === "PATCH"
    ? "<LegalHold><Status>ON</Status></LegalHold>"
    : undefined;
  const res = await fetch(`${s.url}${p.path}`, { method: p.method, headers, body });
  const text = await res.text();
  return { status: res.status, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] };
}

/** Runs `probes` a few at a time; returns those not answered 501 NotImplemented. */
async function walk(s: RunningEmulator, probes: Probe[]): Promise<string[]> {
  const wrong: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < probes.length) {
      const p = probes[next++];
      const { status, code } = await send(s, p);
      const expected = p.method === "HEAD" ? undefined : "NotImplemented";
      if (status !== 501 || code !== expected) {
        wrong.push(`${p.form} ${p.method} ${p.path} -> ${status} ${code}`);
      }
    }
  }));
  return wrong;
}

for (const backend of ["memory", "directory"] as const) {
  Deno.test(`subresources (${backend} store): every unimplemented OSS and S3 sub-resource, for every method and target, is 501 and changes nothing`, async () => {
    await withServer(backend, async (s) => {
      const targets = { service: "/", bucket: "/data", empty: "/empty", object: "/data/k" };
      const probes: Probe[] = [];
      for (const [target, path] of Object.entries(targets)) {
        const kind = target === "empty" ? "bucket" : target;
        for (const method of METHODS) {
          const implemented = IMPLEMENTED[`${kind} ${method}`] ?? [];
          for (const name of ALL) {
            if (implemented.includes(name)) continue;
            for (const form of ["oss", "s3"] as const) probes.push({ method, path: `${path}?${name}`, form });
          }
        }
      }
      const before = await snapshot(s.store);
      const received = s.stats.bytesReceived;
      expect(await walk(s, probes)).toEqual([]);
      expect(await snapshot(s.store)).toEqual(before);
      expect(s.stats.bytesReceived).toBe(received); // no body was read
      expect(probes.length).toBeGreaterThan(4000);
    });
  });

  Deno.test(`subresources (${backend} store): an unimplemented sub-resource next to implemented ones still refuses the request`, async () => {
    await withServer(backend, async (s, uploadId) => {
      const before = await snapshot(s.store);
      const probes: Probe[] = [
        { method: "PUT", path: `/data/big?partNumber=2&uploadId=${uploadId}&tagging`, form: "s3" },
        { method: "PUT", path: "/data/k?partNumber=1", form: "oss" }, // a part number without an upload
        { method: "POST", path: "/data/log?append&position=3&symlink", form: "oss" },
        { method: "POST", path: `/data/big?uploadId=${uploadId}&restore`, form: "s3" },
        { method: "DELETE", path: `/data/big?uploadId=${uploadId}&versionId=v1`, form: "s3" },
        { method: "GET", path: "/data?list-type=2&publicAccessBlock", form: "s3" },
        { method: "GET", path: "/data/k?x-oss-process=image/resize,w_10", form: "oss" },
        { method: "GET", path: "/data/k?partNumber=1", form: "s3" },
        { method: "POST", path: "/data?delete&versioning", form: "oss" },
      ];
      expect(await walk(s, probes)).toEqual([]);
      expect(await snapshot(s.store)).toEqual(before);
    });
  });
}

Deno.test({
  name:
    "subresources: the AWS SDK's calls of unimplemented operations fail with NotImplemented and change nothing",
  sanitizeResources: false, // the SDK's HTTP agent keeps sockets pooled
  sanitizeOps: false,
  fn: () =>
    withServer("memory", async (s) => {
      const client = new S3Client({
        endpoint: s.url,
        forcePathStyle: true,
        region: "cn-hangzhou",
        credentials: { accessKeyId: "AKIAOSSFLOWTEST", secretAccessKey: "secret" },
        maxAttempts: 1,
      });
      try {
        const before = await snapshot(s.store);
        const object = { Bucket: "data", Key: "k" };
        const calls = [
          new PutObjectLegalHoldCommand({ ...object, LegalHold: { Status: "ON" } }),
          new PutObjectRetentionCommand({
            ...object,
            Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(Date.now() + 86_400_000) },
          }),
          new PutObjectAclCommand({ ...object, ACL: "public-read" }),
          new GetObjectAttributesCommand({ ...object, ObjectAttributes: ["ETag"] }),
          new GetObjectTaggingCommand(object),
          new GetObjectCommand({ ...object, PartNumber: 1 }),
          new RestoreObjectCommand({ ...object, RestoreRequest: { Days: 1 } }),
          new PutObjectLockConfigurationCommand({
            Bucket: "data",
            ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" },
          }),
          new GetPublicAccessBlockCommand({ Bucket: "data" }),
          new PutBucketTaggingCommand({ Bucket: "data", Tagging: { TagSet: [{ Key: "a", Value: "b" }] } }),
        ];
        for (const command of calls) {
          // deno-lint-ignore no-explicit-any
          const err = await client.send(command as any).then(() => undefined, (e) => e);
          expect([command.constructor.name, err?.name, err?.$metadata?.httpStatusCode]).toEqual([
            command.constructor.name,
            "NotImplemented",
            501,
          ]);
        }
        expect(await snapshot(s.store)).toEqual(before);
      } finally {
        client.destroy();
      }
    }),
});
