/**
 * The sub-resources of the OSS and S3 REST APIs (`?acl`, `?tagging`, `?legal-hold`, …) and which of them the
 * local server implements for each method and target. A request naming any other one is refused with
 * `501 NotImplemented` before its body is read or anything is written: a sub-resource the server ignored
 * would otherwise fall through to the plain operation (`PUT /b/k?legal-hold` overwriting the object with
 * the XML body, `GET /b?publicAccessBlock` answering a listing).
 *
 * Query parameters that are not sub-resources (listing parameters, `response-*` overrides, presign
 * parameters, `security-token`, `x-id` of the AWS SDK, …) are not listed here: like OSS and S3, the
 * server ignores the ones it does not use.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";

/**
 * Sub-resources of the OSS API: the OSS V1 signature's list of signed sub-resources and the operations
 * added since (OSS V4 signs every parameter, so the newer ones appear only in the API reference).
 */
const OSS = [
  "accessPoint",
  "accessPointConfigForObjectProcess",
  "accessPointForObjectProcess",
  "accessPointPolicy",
  "accessPointPolicyForObjectProcess",
  "acl",
  "append",
  "asyncFetch",
  "bucketArchiveDirectRead",
  "bucketInfo",
  "callback",
  "callback-var",
  "cleanRestoredObject",
  "cloudboxes",
  "cname",
  "comp",
  "cors",
  "dataRedundancyTransition",
  "delete",
  "encryption",
  "endTime",
  "httpsConfig",
  "img",
  "inventory",
  "inventoryId",
  "lifecycle",
  "live",
  "location",
  "logging",
  "metaQuery",
  "objectMeta",
  "objectWorm",
  "overwriteConfig",
  "partNumber",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "qos",
  "qosInfo",
  "redundancyTransition",
  "referer",
  "regionList",
  "replication",
  "replicationLocation",
  "replicationProgress",
  "requestPayment",
  "requesterQosInfo",
  "resourceGroup",
  "resourcePool",
  "resourcePoolBuckets",
  "resourcePoolInfo",
  "responseHeader",
  "restore",
  "rtc",
  "seal",
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
  "userDefinedLogFieldsConfig",
  "versionId",
  "versioning",
  "versions",
  "vod",
  "website",
  "withHashContext",
  "worm",
  "wormExtend",
  "wormId",
  "x-oss-ac-forward-allow",
  "x-oss-ac-source-ip",
  "x-oss-ac-subnet-mask",
  "x-oss-ac-vpc-id",
  "x-oss-async-process",
  "x-oss-enable-md5",
  "x-oss-enable-sha1",
  "x-oss-enable-sha256",
  "x-oss-hash-ctx",
  "x-oss-md5-ctx",
  "x-oss-process",
  "x-oss-write-get-object-response",
];

/** Sub-resources of the S3 API (the operations of the S3 API reference that are addressed by one). */
const S3 = [
  "abac",
  "accelerate",
  "acl",
  "analytics",
  "attributes",
  "cors",
  "delete",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "legal-hold",
  "lifecycle",
  "location",
  "logging",
  "metadataConfiguration",
  "metadataInventoryTable",
  "metadataJournalTable",
  "metadataTable",
  "metrics",
  "notification",
  "object-lock",
  "ownershipControls",
  "partNumber",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "renameObject",
  "replication",
  "requestPayment",
  "restore",
  "retention",
  "select",
  "select-type",
  "session",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website",
];

/**
 * Every sub-resource of either API, sorted.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { SUBRESOURCES } from "./subresources.ts";
 * expect([SUBRESOURCES.includes("legal-hold"), SUBRESOURCES.includes("prefix")]).toEqual([true, false]);
 * ```
 */
export const SUBRESOURCES: readonly string[] = [...new Set([...OSS, ...S3])].sort();

const KNOWN = new Set(SUBRESOURCES);

/**
 * The `501 NotImplemented` answer to a request naming `subresource`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { notImplemented } from "./subresources.ts";
 * expect(notImplemented("PUT", "legal-hold").status).toEqual(501);
 * ```
 */
export function notImplemented(method: string, subresource: string): EmulatorError {
  return new EmulatorError(
    "NotImplemented",
    `The local server does not implement the "${subresource}" sub-resource for ${method} requests.`,
  );
}

/** What a request addresses: the service, a bucket or an object. */
export type Target = "service" | "bucket" | "object";

/** The sub-resources the server implements, by target and method. */
const IMPLEMENTED: Record<string, ReadonlySet<string>> = {
  "bucket GET": new Set(["uploads", "location"]), // ListMultipartUploads, GetBucketLocation
  "bucket POST": new Set(["delete"]), // DeleteMultipleObjects
  "object GET": new Set(["uploadId"]), // ListParts
  "object PUT": new Set(["uploadId", "partNumber"]), // UploadPart, UploadPartCopy
  "object POST": new Set(["uploads", "uploadId", "append"]), // Initiate/CompleteMultipartUpload, AppendObject
  "object DELETE": new Set(["uploadId"]), // AbortMultipartUpload
};
const NONE: ReadonlySet<string> = new Set();

/**
 * The first sub-resource in `query` that the server does not implement for `method` on `target`, or
 * undefined when the request names none.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { unsupportedSubresource } from "./subresources.ts";
 * expect(unsupportedSubresource("PUT", "object", new URLSearchParams("legal-hold"))).toEqual("legal-hold");
 * expect(unsupportedSubresource("PUT", "object", new URLSearchParams("partNumber=1&uploadId=U"))).toBeUndefined();
 * expect(unsupportedSubresource("GET", "bucket", new URLSearchParams("list-type=2&prefix=a"))).toBeUndefined();
 * ```
 */
export function unsupportedSubresource(
  method: string,
  target: Target,
  query: URLSearchParams,
): string | undefined {
  const allowed = IMPLEMENTED[`${target} ${method}`] ?? NONE;
  for (const name of query.keys()) {
    if (KNOWN.has(name) && !allowed.has(name)) return name;
  }
  // A part number only means UploadPart next to an upload id; on its own it would be a plain PutObject.
  if (method === "PUT" && query.has("partNumber") && !query.has("uploadId")) return "partNumber";
  return undefined;
}
