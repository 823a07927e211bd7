/**
 * Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, HeadBucket, GetBucketLocation,
 * ListObjects (v1, `marker`), ListObjectsV2 (`list-type=2`) and DeleteMultipleObjects.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import { bucketOf, empty, type EmulatorContext, type EmulatorRuntime, query, xml } from "../context.ts";
import { createBucket, type Route } from "./object.ts";
import { type ListOptions, type ListResult, validateKey } from "../store/types.ts";
import { parseDeleteBody } from "./xml_requests.ts";
import { deleteResultXml, listBucketsXml, listObjectsXml, locationXml } from "./xml_responses.ts";

function maxKeysOf(c: EmulatorContext): number {
  const raw = query(c, "max-keys");
  const fallback = c.get("form") === "s3" ? 1000 : 100;
  if (raw === undefined || raw === "") return fallback;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(n) || (n > 1000 && c.get("form") === "oss")) {
    throw new EmulatorError("InvalidArgument", `max-keys must be an integer from 0 to 1000, got "${raw}".`);
  }
  return Math.min(n, 1000);
}

function encodeUrlOf(c: EmulatorContext): boolean {
  const enc = query(c, "encoding-type");
  if (enc !== undefined && enc !== "" && enc !== "url") {
    throw new EmulatorError("InvalidArgument", `encoding-type must be "url", got "${enc}".`);
  }
  return enc === "url";
}

/**
 * One listing page. `max-keys=0` answers an empty page that is not truncated, as OSS and S3 do: a
 * truncated page without a next marker would make a paging loop spin.
 */
async function listPage(rt: EmulatorRuntime, bucket: string, opts: ListOptions): Promise<ListResult> {
  const r = await rt.store.list(bucket, opts);
  return opts.maxKeys === 0 ? { ...r, isTruncated: false, nextMarker: undefined } : r;
}

/**
 * Encodes a listing position as an opaque continuation token.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { decodeToken, encodeToken } from "./bucket.ts";
 * expect(decodeToken(encodeToken("photos/ü.jpg"))).toEqual("photos/ü.jpg");
 * ```
 */
export function encodeToken(marker: string): string {
  const bytes = new TextEncoder().encode(`v1:${marker}`);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes a continuation token made by {@linkcode encodeToken}; `InvalidArgument` when it is not one. */
export function decodeToken(token: string): string {
  try {
    const bin = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (ch) => ch.charCodeAt(0)),
    );
    if (text.startsWith("v1:")) return text.slice(3);
  } catch {
    // fall through
  }
  throw new EmulatorError("InvalidArgument", "The continuation token provided is incorrect.");
}

/**
 * Handlers of the service and bucket operations.
 *
 * @example
 * ```ts ignore
 * const routes = bucketRoutes(runtime);
 * return await routes.ListObjectsV2(c);
 * ```
 */
export function bucketRoutes(rt: EmulatorRuntime): Record<string, Route> {
  const location = `oss-${rt.region}`;
  const requireBucket = async (bucket: string) => {
    if (!(await rt.store.hasBucket(bucket))) {
      throw new EmulatorError("NoSuchBucket", "The specified bucket does not exist.", { bucket });
    }
  };
  return {
    async ListBuckets(c) {
      return xml(listBucketsXml(c.get("form"), location, await rt.store.listBuckets()));
    },

    async PutBucket(c) {
      await createBucket(rt, c);
      return empty(200, { location: `/${bucketOf(c)}` });
    },

    async DeleteBucket(c) {
      await rt.store.deleteBucket(bucketOf(c));
      return empty(204);
    },

    async HeadBucket(c) {
      await requireBucket(bucketOf(c));
      return empty(200, { "x-oss-bucket-region": location, "x-amz-bucket-region": rt.region });
    },

    async GetBucketLocation(c) {
      await requireBucket(bucketOf(c));
      // OSS names the location oss-<region>; S3 names the region, and us-east-1 as an empty constraint.
      const s3 = rt.region === "us-east-1" ? "" : rt.region;
      return xml(locationXml(c.get("form"), c.get("form") === "s3" ? s3 : location));
    },

    async ListObjects(c) {
      const bucket = bucketOf(c);
      const prefix = query(c, "prefix") ?? "";
      const marker = query(c, "marker") ?? "";
      const delimiter = query(c, "delimiter") || undefined;
      const maxKeys = maxKeysOf(c);
      const encodeUrl = encodeUrlOf(c);
      const r = await listPage(rt, bucket, { prefix, startAfter: marker, delimiter, maxKeys });
      return xml(
        listObjectsXml(c.get("form"), 1, {
          bucket,
          prefix,
          delimiter,
          maxKeys,
          encodeUrl,
          fetchOwner: true,
          marker,
        }, r),
      );
    },

    async ListObjectsV2(c) {
      const bucket = bucketOf(c);
      const prefix = query(c, "prefix") ?? "";
      const delimiter = query(c, "delimiter") || undefined;
      const maxKeys = maxKeysOf(c);
      const encodeUrl = encodeUrlOf(c);
      // An empty token is echoed (as S3 does) and lists from the start.
      const continuationToken = query(c, "continuation-token");
      const startAfter = query(c, "start-after") || undefined;
      const from = continuationToken ? decodeToken(continuationToken) : startAfter;
      const r = await listPage(rt, bucket, { prefix, startAfter: from, delimiter, maxKeys });
      return xml(listObjectsXml(c.get("form"), 2, {
        bucket,
        prefix,
        delimiter,
        maxKeys,
        encodeUrl,
        fetchOwner: query(c, "fetch-owner") === "true",
        startAfter,
        continuationToken,
        nextContinuationToken: r.isTruncated && r.nextMarker !== undefined
          ? encodeToken(r.nextMarker)
          : undefined,
      }, r));
    },

    async DeleteMultipleObjects(c) {
      const bucket = bucketOf(c);
      await requireBucket(bucket);
      const encodeUrl = encodeUrlOf(c);
      const { quiet, keys } = await parseDeleteBody(c.req.raw);
      const deleted: string[] = [];
      const errors: { key: string; code: string; message: string }[] = [];
      for (const key of keys) {
        try {
          validateKey(key);
          await rt.store.delete(bucket, key);
          if (!quiet) deleted.push(key);
        } catch (err) {
          if (!(err instanceof EmulatorError)) throw err;
          errors.push({ key, code: err.code, message: err.message });
        }
      }
      return xml(deleteResultXml(c.get("form"), deleted, errors, encodeUrl));
    },
  };
}
