/**
 * Multipart operations: InitiateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import {
  bucketOf,
  empty,
  type EmulatorContext,
  type EmulatorRuntime,
  keyOf,
  query,
  xml,
} from "../context.ts";
import {
  checkConditions,
  copySourceCondition,
  copySourceHeader,
  formHeader,
  parseCopySource,
  parseRange,
} from "./object_headers.ts";
import { bodyOf, ensureBucket, type Route, writeHeaders, writeMetadataFrom } from "./object.ts";
import { parseCompleteBody } from "./xml_requests.ts";
import { compareKeys, type CompletePart } from "../store/types.ts";
import { completeXml, copyResultXml, initiateXml, listPartsXml, listUploadsXml } from "./xml_responses.ts";

function uploadIdOf(c: EmulatorContext): string {
  return query(c, "uploadId") ?? "";
}

function partNumberOf(c: EmulatorContext): number {
  const raw = query(c, "partNumber") ?? "";
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 10000)) {
    throw new EmulatorError(
      "InvalidArgument",
      `Part number must be an integer between 1 and 10000, got "${raw}".`,
    );
  }
  return n;
}

function intParam(c: EmulatorContext, name: string, fallback: number, max: number): number {
  const raw = query(c, name);
  if (raw === undefined || raw === "") return fallback;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(n)) {
    throw new EmulatorError("InvalidArgument", `${name} must be a non-negative integer, got "${raw}".`);
  }
  return Math.min(n, max);
}

/** The part list of a CompleteMultipartUpload request, normalised for comparison. */
function partList(parts: CompletePart[]): string {
  return parts.map((p) => `${p.partNumber}:${p.etag.replaceAll('"', "").toLowerCase()}`).join(",");
}

/** What a completed upload answered, remembered (the most recent ones) so an S3 retry gets it again. */
class CompletedUploads {
  static readonly LIMIT = 10_000;
  #results = new Map<string, { request: string; result: { etag: string; crc64: string } }>();

  add(
    r: { bucket: string; key: string; uploadId: string; parts: string },
    result: { etag: string; crc64: string },
  ) {
    this.#results.set(r.uploadId, { request: `${r.bucket}/${r.key}|${r.parts}`, result });
    if (this.#results.size > CompletedUploads.LIMIT) this.#results.delete(this.#results.keys().next().value!);
  }

  /** The result of the same request (bucket, key, upload id and parts), if remembered. */
  get(r: { bucket: string; key: string; uploadId: string; parts: string }) {
    const hit = this.#results.get(r.uploadId);
    return hit?.request === `${r.bucket}/${r.key}|${r.parts}` ? hit.result : undefined;
  }
}

/**
 * Handlers of the multipart operations.
 *
 * @example
 * ```ts ignore
 * const routes = multipartRoutes(runtime);
 * return await routes.UploadPart(c);
 * ```
 */
export function multipartRoutes(rt: EmulatorRuntime): Record<string, Route> {
  const completed = new CompletedUploads();
  return {
    async InitiateMultipartUpload(c) {
      const bucket = bucketOf(c), key = keyOf(c);
      await ensureBucket(rt, c);
      const upload = await rt.store.createUpload(bucket, key, writeMetadataFrom(c.req.raw.headers));
      return xml(initiateXml(c.get("form"), bucket, key, upload.uploadId));
    },

    async UploadPart(c) {
      const partNumber = partNumberOf(c);
      const body = bodyOf(rt, c);
      const part = await rt.store.uploadPart(bucketOf(c), keyOf(c), uploadIdOf(c), partNumber, body.stream, {
        verify: body.verify,
      });
      return empty(200, writeHeaders(part));
    },

    async UploadPartCopy(c) {
      const h = c.req.raw.headers;
      const partNumber = partNumberOf(c);
      const src = parseCopySource(copySourceHeader(h)!);
      const rangeHeader = formHeader(h, c.get("form"), "copy-source-range");
      const range = parseRange(rangeHeader);
      if (rangeHeader !== null && (!range || "suffix" in range || range.end === undefined)) {
        throw new EmulatorError(
          "InvalidArgument",
          `The copy source range "${rangeHeader}" must be bytes=first-last.`,
        );
      }
      await rt.store.listParts(bucketOf(c), keyOf(c), uploadIdOf(c)); // NoSuchUpload before reading the source
      const source = await rt.store.get(src.bucket, src.key, {
        range,
        check: (meta) => {
          // Both services answer 412 to every failed copy-source condition of UploadPartCopy.
          checkConditions(meta, copySourceCondition(h, c.get("form")), 412);
          // A range reaching past the source is refused, not cut short (a short part would corrupt the object).
          if (range && "end" in range && range.end !== undefined && range.end >= meta.size) {
            throw new EmulatorError(
              "InvalidArgument",
              `Range specified is not valid for source object of size: ${meta.size}`,
            );
          }
        },
      });
      const part = await rt.store.uploadPart(bucketOf(c), keyOf(c), uploadIdOf(c), partNumber, source.body);
      return xml(
        copyResultXml(c.get("form"), "CopyPartResult", part.etag, part.lastModified),
        200,
        writeHeaders(part),
      );
    },

    async CompleteMultipartUpload(c) {
      const bucket = bucketOf(c), key = keyOf(c), uploadId = uploadIdOf(c);
      const all = formHeader(c.req.raw.headers, c.get("form"), "complete-all") === "yes";
      const parts = all
        ? (await rt.store.listParts(bucket, key, uploadId)).map((p) => ({
          partNumber: p.partNumber,
          etag: p.etag,
        }))
        : await parseCompleteBody(c.req.raw);
      const request = { bucket, key, uploadId, parts: partList(parts) };
      let meta: { etag: string; crc64: string };
      try {
        meta = await rt.store.completeUpload(bucket, key, uploadId, parts, { minPartSize: rt.minPartSize });
        completed.add(request, meta);
      } catch (err) {
        // S3 answers a CompleteMultipartUpload sent again after it succeeded (a retry whose answer was
        // lost) with the same result; OSS forgets the upload id and answers NoSuchUpload.
        const again = c.get("form") === "s3" && (err as { code?: string }).code === "NoSuchUpload"
          ? completed.get(request)
          : undefined;
        if (!again) throw err;
        meta = again;
      }
      const location = `${c.get("url").origin}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
      return xml(completeXml(c.get("form"), location, bucket, key, meta.etag), 200, {
        "etag": `"${meta.etag}"`,
        "x-oss-hash-crc64ecma": meta.crc64,
      });
    },

    async AbortMultipartUpload(c) {
      await rt.store.abortUpload(bucketOf(c), keyOf(c), uploadIdOf(c));
      return empty(204);
    },

    async ListParts(c) {
      const bucket = bucketOf(c), key = keyOf(c), uploadId = uploadIdOf(c);
      const marker = intParam(c, "part-number-marker", 0, 10000);
      const maxParts = intParam(c, "max-parts", 1000, 1000);
      const all = (await rt.store.listParts(bucket, key, uploadId)).filter((p) => p.partNumber > marker);
      const page = all.slice(0, maxParts);
      return xml(
        listPartsXml(
          c.get("form"),
          { bucket, key, uploadId, marker, maxParts },
          page,
          all.length > page.length,
        ),
      );
    },

    async ListMultipartUploads(c) {
      const bucket = bucketOf(c);
      const prefix = query(c, "prefix") ?? "";
      const maxUploads = intParam(c, "max-uploads", 1000, 1000);
      const keyMarker = query(c, "key-marker") || undefined;
      const uploadIdMarker = query(c, "upload-id-marker") || undefined;
      let all = await rt.store.listUploads(bucket, { prefix });
      if (keyMarker !== undefined) {
        const after = all.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker);
        all = all.filter((u, i) =>
          compareKeys(u.key, keyMarker) > 0 || (u.key === keyMarker && after >= 0 && i > after)
        );
      }
      const page = all.slice(0, maxUploads);
      return xml(
        listUploadsXml(
          c.get("form"),
          { bucket, prefix, maxUploads, keyMarker, uploadIdMarker },
          page,
          all.length > page.length,
        ),
      );
    },
  };
}
