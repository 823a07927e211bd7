/**
 * The two ways of `OssClient` to read an object: `get` (a resumable stream) and `getBytes` (into memory).
 * Internal: see `client.ts`.
 *
 * @module
 */
import { parseContentRange, resumableBody } from "./body.ts";
import type { GetBytesResult, GetObjectResult, GetOptions } from "./client_types.ts";
import { checkObject, checkOptionalString, intHeader, rangeHeader, requestIdOf } from "./client_util.ts";
import { IntegrityError } from "./errors.ts";
import { bodyLength, type Reply, type RequestSpec, type Transport } from "./request.ts";

function getSpec(t: Transport, op: string, bucket: string, key: string, opts: GetOptions): RequestSpec {
  checkObject(op, bucket, key);
  let headers: Record<string, string> | undefined; // none for a plain GET: no Headers copied from a record
  if (opts.range !== undefined) {
    headers = { range: rangeHeader(op, opts.range) };
    // Without it OSS answers an unsatisfiable range with the whole object instead of 416.
    if (!t.s3) headers["x-oss-range-behavior"] = "standard";
  }
  checkOptionalString(op, "ifMatch", opts.ifMatch);
  if (opts.ifMatch !== undefined) (headers ??= {})["if-match"] = opts.ifMatch;
  return { method: "GET", bucket, key, headers, signal: opts.signal, onRetry: opts.onRetry };
}

/** The metadata of a GET reply, and the absolute byte positions its body covers (`end` undefined: unknown). */
function describe(
  spec: RequestSpec,
  reply: Reply,
): [Omit<GetObjectResult, "body">, number, number | undefined] {
  const { res } = reply;
  const h = res.headers;
  // A body read into memory was checked against Content-Length (and sent with no Content-Encoding).
  const size = reply.bytes ? reply.bytes.byteLength : intHeader(h, "content-length");
  const length = reply.bytes ? size : bodyLength(h);
  let start = 0;
  let end = length >= 0 ? length - 1 : undefined;
  let objectSize = size;
  let range: { start: number; end: number } | undefined;
  if (res.status === 206) {
    const cr = parseContentRange(h.get("content-range"));
    if (cr === undefined) {
      reply.attempt?.done();
      res.body?.cancel().catch(() => {});
      throw new IntegrityError(
        `GET ${spec.bucket}/${spec.key}: a 206 response without a valid Content-Range`,
        {
          key: spec.key,
        },
      );
    }
    const asked = spec.headers?.range;
    const want = asked ? /^bytes=(\d+)-(\d*)$/.exec(asked) : null;
    if (want && (cr.start !== Number(want[1]) || (want[2] !== "" && cr.end > Number(want[2])))) {
      // A proxy or cache that answers another range: never hand those bytes out as the ones asked for.
      reply.attempt?.done();
      res.body?.cancel().catch(() => {});
      throw new IntegrityError(
        `GET ${spec.bucket}/${spec.key}: asked for ${asked}, the server sent Content-Range ${
          h.get("content-range")
        }`,
        { key: spec.key, expected: asked, actual: h.get("content-range") ?? undefined },
      );
    }
    start = cr.start;
    if (end !== undefined) end = cr.end;
    objectSize = cr.total;
    range = { start: cr.start, end: cr.end };
  }
  // The fields a read reports, each header read once (metaOf would also read the append-only ones).
  const lm = h.get("last-modified");
  const result = {
    status: res.status,
    size,
    objectSize,
    etag: h.get("etag") ?? "",
    crc64: reply.crc64 ?? (h.get("x-oss-hash-crc64ecma") || undefined),
    contentType: h.get("content-type") || undefined,
    lastModified: lm ? new Date(lm) : undefined,
    range,
    headers: h,
    requestId: requestIdOf(h),
  };
  return [result, start, end];
}

function bodyOf(
  t: Transport,
  spec: RequestSpec,
  reply: Reply,
  start: number,
  end: number | undefined,
  etag: string,
) {
  if (reply.res.body) return resumableBody(t, spec, reply, start, end, etag);
  reply.attempt?.done();
  return new Blob([]).stream();
}

/** `OssClient.get`. */
export async function getObject(
  t: Transport,
  bucket: string,
  key: string,
  opts: GetOptions,
): Promise<GetObjectResult> {
  const spec = getSpec(t, "get", bucket, key, opts);
  const reply = await t.send(spec, "stream");
  const [result, start, end] = describe(spec, reply);
  return { ...result, body: bodyOf(t, spec, reply, start, end, result.etag) };
}

/** `OssClient.getBytes`. */
export async function getObjectBytes(
  t: Transport,
  bucket: string,
  key: string,
  opts: GetOptions,
): Promise<GetBytesResult> {
  const spec = getSpec(t, "getBytes", bucket, key, opts);
  const reply = await t.send(spec, "bytes");
  const [result, start, end] = describe(spec, reply);
  if (reply.bytes) return { ...result, bytes: reply.bytes };
  const body = bodyOf(t, spec, reply, start, end, result.etag);
  if (end === undefined) return { ...result, bytes: new Uint8Array(await new Response(body).arrayBuffer()) };
  const bytes = new Uint8Array(end + 1 - start);
  let at = 0;
  // The resumable body checks the length, so the chunks fit exactly.
  for await (const chunk of body) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { ...result, bytes };
}
