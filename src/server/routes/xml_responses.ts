/**
 * XML bodies of the local server's responses, in the OSS form (no namespace) or the S3 form (the
 * `http://s3.amazonaws.com/doc/2006-03-01/` namespace the AWS SDK expects). Plain templates: the
 * shapes are fixed and small, so a builder library would only add cost.
 *
 * @module
 */
import type { ListResult, ObjectMeta, PartInfo, UploadInfo } from "../store/types.ts";

/**
 * Which API dialect a request speaks.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { detectForm } from "../pipeline/addressing.ts";
 * import type { ApiForm } from "./xml_responses.ts";
 * const form: ApiForm = detectForm(new URL("http://127.0.0.1:9000/b/k"), new Headers({ "x-oss-date": "x" }));
 * expect(form).toEqual("oss");
 * ```
 */
export type ApiForm = "oss" | "s3";

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const OWNER = "<Owner><ID>ossflow</ID><DisplayName>ossflow</DisplayName></Owner>";

/**
 * Escapes text for XML content and attribute values.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { escapeXml } from "./xml_responses.ts";
 * expect(escapeXml("a<b&c")).toEqual("a&lt;b&amp;c");
 * ```
 */
export function escapeXml(text: string): string {
  return /[&<>"'\r]/.test(text) ? text.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c]) : text;
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\r": "&#13;",
};

/**
 * Encodes a key for `encoding-type=url` listings (RFC 3986, "/" kept).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { urlEncodeKey } from "./xml_responses.ts";
 * expect(urlEncodeKey("a b/ü")).toEqual("a%20b/%C3%BC");
 * ```
 */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll("%2F", "/");
}

/** `<Tag>escaped text</Tag>`, or "" when `value` is undefined. */
function el(tag: string, value: string | number | boolean | undefined): string {
  return value === undefined ? "" : `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

function root(form: ApiForm, tag: string, body: string): string {
  const ns = form === "s3" ? ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' : "";
  return `${DECL}<${tag}${ns}>${body}</${tag}>`;
}

/**
 * ISO 8601 with milliseconds, the date format of listing bodies.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isoDate } from "./xml_responses.ts";
 * expect(isoDate(0)).toEqual("1970-01-01T00:00:00.000Z");
 * ```
 */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The `<Error>` body of every failed request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { errorXml } from "./xml_responses.ts";
 * const xml = errorXml({ code: "NoSuchKey", message: "missing", requestId: "1", hostId: "h", key: "k" });
 * expect(xml).toContain("<Code>NoSuchKey</Code>");
 * expect(xml).toContain("<Key>k</Key>");
 * ```
 */
export function errorXml(e: {
  code: string;
  message: string;
  requestId: string;
  hostId: string;
  bucket?: string;
  key?: string;
}): string {
  return `${DECL}<Error>${el("Code", e.code)}${el("Message", e.message)}${el("RequestId", e.requestId)}${
    el("HostId", e.hostId)
  }${el("BucketName", e.bucket)}${el("Key", e.key)}</Error>`;
}

/** Listing parameters echoed in the response. */
export interface ListEcho {
  bucket: string;
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  encodeUrl: boolean;
  fetchOwner: boolean;
  /** v1 only */
  marker?: string;
  /** v2 only */
  startAfter?: string;
  continuationToken?: string;
  nextContinuationToken?: string;
}

/** `<StorageClass>` of every object and upload: OSS writes `Standard`, S3 `STANDARD`. */
function storageClass(form: ApiForm): string {
  return el("StorageClass", form === "s3" ? "STANDARD" : "Standard");
}

function contents(form: ApiForm, o: ObjectMeta, enc: (s: string) => string, owner: boolean): string {
  return `<Contents>${el("Key", enc(o.key))}${el("LastModified", isoDate(o.lastModified))}${
    el("ETag", `"${o.etag}"`)
  }${form === "oss" ? el("Type", o.objectType) : ""}${el("Size", o.size)}${storageClass(form)}${
    owner ? OWNER : ""
  }</Contents>`;
}

/**
 * `ListBucketResult` of ListObjects (v1, `marker`) or ListObjectsV2 (`list-type=2`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { listObjectsXml } from "./xml_responses.ts";
 * const xml = listObjectsXml("oss", 2, { bucket: "b", prefix: "", maxKeys: 100, encodeUrl: false, fetchOwner: false },
 *   { objects: [], commonPrefixes: [], isTruncated: false });
 * expect(xml.includes("<KeyCount>0</KeyCount>")).toBe(true);
 * ```
 */
export function listObjectsXml(form: ApiForm, version: 1 | 2, q: ListEcho, r: ListResult): string {
  const enc = q.encodeUrl ? urlEncodeKey : (s: string) => s;
  const opt = (v: string | undefined) => (v === undefined ? undefined : enc(v));
  // S3 leaves the Prefix echo of a v1 listing unencoded (and the AWS SDKs do not decode it); OSS encodes it.
  const prefix = version === 1 && form === "s3" ? q.prefix : enc(q.prefix);
  let head = el("Name", q.bucket) + el("Prefix", prefix);
  if (version === 1) {
    head += el("Marker", enc(q.marker ?? "")) + el("MaxKeys", q.maxKeys) + el("Delimiter", opt(q.delimiter)) +
      el("IsTruncated", r.isTruncated) + el("NextMarker", r.isTruncated ? opt(r.nextMarker) : undefined);
  } else {
    head += el("StartAfter", opt(q.startAfter)) + el("ContinuationToken", q.continuationToken) +
      el("MaxKeys", q.maxKeys) + el("Delimiter", opt(q.delimiter)) + el("IsTruncated", r.isTruncated) +
      el("NextContinuationToken", q.nextContinuationToken) +
      el("KeyCount", r.objects.length + r.commonPrefixes.length);
  }
  if (q.encodeUrl) head += el("EncodingType", "url");
  const owner = version === 1 || q.fetchOwner;
  const items = r.objects.map((o) => contents(form, o, enc, owner)).join("") +
    r.commonPrefixes.map((p) => `<CommonPrefixes>${el("Prefix", enc(p))}</CommonPrefixes>`).join("");
  return root(form, "ListBucketResult", head + items);
}

/**
 * `InitiateMultipartUploadResult`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { initiateXml } from "./xml_responses.ts";
 * expect(initiateXml("oss", "b", "k", "U1").includes("<UploadId>U1</UploadId>")).toBe(true);
 * ```
 */
export function initiateXml(form: ApiForm, bucket: string, key: string, uploadId: string): string {
  return root(
    form,
    "InitiateMultipartUploadResult",
    el("Bucket", bucket) + el("Key", key) + el("UploadId", uploadId),
  );
}

/**
 * `CompleteMultipartUploadResult`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { completeXml } from "./xml_responses.ts";
 * expect(completeXml("s3", "http://h/b/k", "b", "k", "abc-2").includes("&quot;abc-2&quot;")).toBe(true);
 * ```
 */
export function completeXml(
  form: ApiForm,
  location: string,
  bucket: string,
  key: string,
  etag: string,
): string {
  return root(
    form,
    "CompleteMultipartUploadResult",
    el("Location", location) + el("Bucket", bucket) + el("Key", key) + el("ETag", `"${etag}"`),
  );
}

/**
 * `ListPartsResult`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { listPartsXml } from "./xml_responses.ts";
 * const xml = listPartsXml("oss", { bucket: "b", key: "k", uploadId: "U", marker: 0, maxParts: 1000 }, [], false);
 * expect(xml.includes("<IsTruncated>false</IsTruncated>")).toBe(true);
 * ```
 */
export function listPartsXml(
  form: ApiForm,
  q: { bucket: string; key: string; uploadId: string; marker: number; maxParts: number },
  parts: PartInfo[],
  truncated: boolean,
): string {
  const next = parts.length > 0 ? parts[parts.length - 1].partNumber : q.marker;
  return root(
    form,
    "ListPartsResult",
    el("Bucket", q.bucket) + el("Key", q.key) + el("UploadId", q.uploadId) +
      el("PartNumberMarker", q.marker) +
      el("NextPartNumberMarker", next) + el("MaxParts", q.maxParts) + el("IsTruncated", truncated) +
      storageClass(form) +
      parts.map((p) =>
        `<Part>${el("PartNumber", p.partNumber)}${el("LastModified", isoDate(p.lastModified))}${
          el("ETag", `"${p.etag}"`)
        }${el("HashCrc64ecma", form === "oss" ? p.crc64 : undefined)}${el("Size", p.size)}</Part>`
      ).join(""),
  );
}

/**
 * `ListMultipartUploadsResult`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { listUploadsXml } from "./xml_responses.ts";
 * expect(listUploadsXml("oss", { bucket: "b", prefix: "", maxUploads: 1000 }, [], false).length > 0).toBe(true);
 * ```
 */
export function listUploadsXml(
  form: ApiForm,
  q: { bucket: string; prefix: string; maxUploads: number; keyMarker?: string; uploadIdMarker?: string },
  uploads: UploadInfo[],
  truncated: boolean,
): string {
  const last = uploads[uploads.length - 1];
  return root(
    form,
    "ListMultipartUploadsResult",
    el("Bucket", q.bucket) + el("KeyMarker", q.keyMarker ?? "") +
      el("UploadIdMarker", q.uploadIdMarker ?? "") +
      el("NextKeyMarker", truncated ? last?.key : undefined) +
      el("NextUploadIdMarker", truncated ? last?.uploadId : undefined) + el("Prefix", q.prefix) +
      el("MaxUploads", q.maxUploads) + el("IsTruncated", truncated) +
      uploads.map((u) =>
        `<Upload>${el("Key", u.key)}${el("UploadId", u.uploadId)}${storageClass(form)}${
          el("Initiated", isoDate(u.initiated))
        }</Upload>`
      ).join(""),
  );
}

/**
 * `CopyObjectResult` (or `CopyPartResult` for UploadPartCopy).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { copyResultXml } from "./xml_responses.ts";
 * expect(copyResultXml("oss", "CopyObjectResult", "abc", 0).includes("<ETag>")).toBe(true);
 * ```
 */
export function copyResultXml(form: ApiForm, tag: string, etag: string, lastModified: number): string {
  return root(form, tag, el("ETag", `"${etag}"`) + el("LastModified", isoDate(lastModified)));
}

/**
 * `DeleteResult` of DeleteMultipleObjects (empty in quiet mode unless errors).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { deleteResultXml } from "./xml_responses.ts";
 * expect(deleteResultXml("oss", ["a"], [], false)).toContain("<Deleted><Key>a</Key></Deleted>");
 * ```
 */
export function deleteResultXml(
  form: ApiForm,
  deleted: string[],
  errors: { key: string; code: string; message: string }[],
  encodeUrl: boolean,
): string {
  const enc = encodeUrl ? urlEncodeKey : (s: string) => s;
  return root(
    form,
    "DeleteResult",
    (encodeUrl ? el("EncodingType", "url") : "") +
      deleted.map((k) => `<Deleted>${el("Key", enc(k))}</Deleted>`).join("") +
      errors.map((e) =>
        `<Error>${el("Key", enc(e.key))}${el("Code", e.code)}${el("Message", e.message)}</Error>`
      )
        .join(""),
  );
}

/**
 * `ListAllMyBucketsResult` (GetService / ListBuckets).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { listBucketsXml } from "./xml_responses.ts";
 * expect(listBucketsXml("oss", "oss-cn-hangzhou", [{ name: "b", created: 0 }])).toContain("<Name>b</Name>");
 * ```
 */
export function listBucketsXml(
  form: ApiForm,
  location: string,
  buckets: { name: string; created: number }[],
): string {
  return root(
    form,
    "ListAllMyBucketsResult",
    OWNER + "<Buckets>" +
      buckets.map((b) =>
        `<Bucket>${el("Name", b.name)}${el("CreationDate", isoDate(b.created))}${
          form === "oss" ? el("Location", location) : ""
        }</Bucket>`
      ).join("") + "</Buckets>",
  );
}

/**
 * `LocationConstraint` (GetBucketLocation).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { locationXml } from "./xml_responses.ts";
 * expect(locationXml("oss", "oss-cn-hangzhou").includes("oss-cn-hangzhou")).toBe(true);
 * ```
 */
export function locationXml(form: ApiForm, location: string): string {
  return root(form, "LocationConstraint", escapeXml(location));
}
