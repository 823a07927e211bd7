/**
 * The `/api/preview` answer of the preview app: one ranged GET of an object's head, then an image as-is (the
 * rest streamed when the head was not all of it), or JSON with the truncated text, the parsed JSON lines or a
 * hex head.
 *
 * @module
 */
import type { OssClient } from "../../client.ts";
import type { GetBytesResult } from "../../client_types.ts";
import { OssError } from "../../errors.ts";
import { classify, hexHead, type PreviewKind, textPreview } from "./content.ts";
import { API_HEADERS, jsonResponse, PreviewApiError } from "./http.ts";

/** Byte limits of a preview. */
export interface PreviewLimits {
  /** Bytes of text shown (and fetched first, for any object). */
  previewBytes: number;
  /** Bytes of a binary object shown as hex. */
  hexBytes: number;
  /** Largest image served as-is. */
  maxImageBytes: number;
}

/**
 * The JSON body of a non-image preview.
 */
export interface ObjectPreview {
  /** Object key. */
  key: string;
  /** Size of the whole object in bytes (-1 when the store did not say). */
  size: number;
  /** ETag, quotes included. */
  etag: string;
  /** Content-Type as stored. */
  contentType?: string;
  /** Last-Modified as an ISO string. */
  lastModified?: string;
  /** How it is shown. */
  kind: Exclude<PreviewKind, "image">;
  /** Whether the object continues past what is shown. */
  truncated: boolean;
  /** Text kinds: the decoded head (whole characters; for JSON lines, whole lines). */
  text?: string;
  /** JSON lines: the parsed complete lines. */
  records?: unknown[];
  /** Binary: the first bytes in hex, `"89 50 4e 47 …"`. */
  hex?: string;
}

/** Security headers of an image served from the app's origin (an SVG must not run scripts there). */
const IMAGE_HEADERS = {
  ...API_HEADERS,
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  "content-disposition": "inline",
};

/**
 * Answers a preview of `bucket`/`key` (the caller has checked that the key is allowed).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "../../client.ts";
 * import { serveEmulator } from "../emulator.ts";
 * import { previewObject } from "./object.ts";
 * const server = await serveEmulator({ buckets: ["data"] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * await client.put("data", "notes.txt", "hello, world");
 * const limits = { previewBytes: 5, hexBytes: 16, maxImageBytes: 1 << 20 };
 * const res = await previewObject(client, "data", "notes.txt", limits);
 * expect((await res.json()).text).toEqual("hello");
 * await server.close();
 * ```
 */
export async function previewObject(
  client: OssClient,
  bucket: string,
  key: string,
  limits: PreviewLimits,
  signal?: AbortSignal,
): Promise<Response> {
  const head = await readHead(client, bucket, key, limits.previewBytes, signal);
  const size = head.objectSize >= 0 ? head.objectSize : -1;
  const { kind, contentType } = classify(key, head.contentType, head.bytes);
  if (kind === "image") {
    if (size > limits.maxImageBytes) {
      throw new PreviewApiError(
        413,
        "ImageTooLarge",
        `image ${
          JSON.stringify(key)
        } has ${size} bytes, more than the app serves (${limits.maxImageBytes}); ` +
          `fetch it by /api/presign`,
      );
    }
    const headers: Record<string, string> = { ...IMAGE_HEADERS, "content-type": contentType };
    if (head.etag) headers.etag = head.etag;
    if (size >= 0 && size <= head.bytes.length) {
      return new Response(head.bytes.subarray(0, size), { headers });
    }
    // Not tied to `signal`: the body outlives this call; cancelling the response cancels it.
    const rest = await client.get(bucket, key);
    if (rest.size >= 0) headers["content-length"] = String(rest.size);
    return new Response(rest.body, { headers });
  }
  const base = {
    key,
    size,
    etag: head.etag,
    contentType: head.contentType,
    lastModified: head.lastModified?.toISOString(),
  };
  if (kind === "binary") {
    const shown = head.bytes.subarray(0, limits.hexBytes);
    const preview: ObjectPreview = {
      ...base,
      kind,
      truncated: size < 0 || size > shown.length,
      hex: hexHead(shown),
    };
    return jsonResponse(preview);
  }
  const truncated = size < 0 ? head.bytes.length >= limits.previewBytes : size > head.bytes.length;
  const preview: ObjectPreview = { ...base, kind, truncated, ...textPreview(head.bytes, kind, truncated) };
  return jsonResponse(preview);
}

/** The first `n` bytes; an empty object (whose range is unsatisfiable) reads as empty. */
async function readHead(
  client: OssClient,
  bucket: string,
  key: string,
  n: number,
  signal?: AbortSignal,
): Promise<GetBytesResult> {
  try {
    const r = await client.getBytes(bucket, key, { range: { start: 0, end: n - 1 }, signal });
    // A store that ignores Range sends the whole object.
    return r.bytes.length > n ? { ...r, bytes: r.bytes.subarray(0, n) } : r;
  } catch (err) {
    if (!(err instanceof OssError && err.status === 416)) throw err;
    return await client.getBytes(bucket, key, { signal });
  }
}
