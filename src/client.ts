/**
 * `OssClient`: typed operations on Alibaba Cloud OSS and S3-compatible stores over one request path (sign,
 * fetch, retry, map errors; see `request.ts`). OSS mode (`signatureVersion: "oss4"`, the default) sends
 * `x-oss-*` headers signed with OSS4-HMAC-SHA256; S3 mode (`"s3v4"`) sends `x-amz-*` headers signed with SigV4.
 *
 * Argument errors are thrown before any request: `TypeError` (wrong type, empty name) or `RangeError` (a number
 * out of range), each naming the operation and the argument. Service errors are {@linkcode OssError}s.
 *
 * @module
 */
import { getObject, getObjectBytes } from "./client_get.ts";
import type {
  AppendResult,
  CompletedPart,
  GetBytesResult,
  GetObjectResult,
  GetOptions,
  ListOptions,
  ListPage,
  ListUploadsOptions,
  ObjectMeta,
  ObjectSummary,
  OssClientOptions,
  PartInfo,
  PutBody,
  PutOptions,
  PutResult,
  RequestOptions,
  SignedRequest,
  UploadInfo,
  UploadPartOptions,
} from "./client_types.ts";
import {
  checkBucket,
  checkContentMd5,
  checkInt,
  checkObject,
  checkOptionalString,
  checkUploadId,
  copySource,
  intHeader,
  metaOf,
  requestIdOf,
  toBody,
} from "./client_util.ts";
import { contentMd5 } from "./content_md5.ts";
import { crc64Tap } from "./crc64.ts";
import { ConfigError, IntegrityError, OssError } from "./errors.ts";
import { crc64Of } from "./integrity.ts";
import { type PresignOptions, resolvePresignOptions } from "./presign.ts";
import { type RequestSpec, Transport } from "./request.ts";
import {
  buildCompleteMultipart,
  parseErrorResponse,
  parseETagResult,
  parseInitiateMultipart,
  parseListObjectsV2,
  parseListParts,
  parseListUploads,
  peekContinuationToken,
} from "./xml.ts";

const OCTET_STREAM = "application/octet-stream";

/** Keys on the first page of `list` when the caller gives no `maxKeys` (1000 on the pages after it). */
const FIRST_PAGE_KEYS = 100;

/**
 * A client for one endpoint. Cheap to share: keep one per endpoint and credentials.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient } from "./client.ts";
 * import { serveEmulator } from "./server/emulator.ts";
 *
 * const server = await serveEmulator({ buckets: ["demo"], port: 0 });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * await client.put("demo", "hello.txt", "hello, world");
 * const { body } = await client.get("demo", "hello.txt", { range: { start: 0, end: 4 } });
 * expect(await new Response(body).text()).toEqual("hello");
 * const listed = await Array.fromAsync(client.list("demo"), (o) => [o.key, o.size]);
 * expect(listed).toEqual([["hello.txt", 12]]);
 * await server.close();
 * ```
 */
export class OssClient {
  #t: Transport;

  /**
   * Creates a client; nothing is sent until the first operation.
   *
   * @throws {ConfigError} on a bad endpoint, region, signature version, timeout or retry option.
   */
  constructor(opts: OssClientOptions) {
    this.#t = new Transport(opts);
  }

  /** `"oss4"` or `"s3v4"`. */
  get signatureVersion(): "oss4" | "s3v4" {
    return this.#t.s3 ? "s3v4" : "oss4";
  }

  /** The signing region. */
  get region(): string {
    return this.#t.region;
  }

  /**
   * A presigned URL for one request on `bucket`/`key` (GET unless `opts.method` says otherwise), signed with this
   * client's credentials and signature version, good for `opts.expires` seconds (default 900). Headers in
   * `opts.headers` are signed and must be sent with the URL. Whoever holds the URL needs no credentials.
   *
   * @throws {TypeError} when `bucket` is not a string or `key` is not a non-empty string.
   * @throws {ConfigError} when the client has no credentials, on a bucket name or key that cannot be addressed
   * by URL, or on a bad option.
   */
  async presignUrl(bucket: string, key: string, opts: PresignOptions = {}): Promise<string> {
    checkObject("presignUrl", bucket, key);
    return (await this.#t.presign(bucket, key, resolvePresignOptions(opts))).href;
  }

  /**
   * Signs a GET (or HEAD) of `bucket`/`key` for another context to send — prefetch Web Workers receive their
   * requests this way — with this client's credentials and signature version. The result holds the URL and
   * headers only, no secret; send it within 15 minutes. Without credentials it is an unsigned request.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssClient } from "./client.ts";
   * import { serveEmulator } from "./server/emulator.ts";
   * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
   * const server = await serveEmulator({ buckets: ["demo"], credentials: [credentials] });
   * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials });
   * await client.put("demo", "a.txt", "hello");
   * const req = await client.signRequest({ method: "GET", bucket: "demo", key: "a.txt" });
   * expect(await (await fetch(req.url, { headers: req.headers })).text()).toEqual("hello");
   * await server.close();
   * ```
   */
  async signRequest(spec: { method: "GET" | "HEAD"; bucket: string; key: string }): Promise<SignedRequest> {
    checkObject("signRequest", spec?.bucket, spec?.key);
    if (spec.method !== "GET" && spec.method !== "HEAD") {
      throw new TypeError(
        `OssClient.signRequest: method: expected "GET" or "HEAD", got ${String(spec.method)}`,
      );
    }
    return await this.#t.signed({ method: spec.method, bucket: spec.bucket, key: spec.key });
  }

  /** `x-oss-` or `x-amz-`. */
  #h(name: string): string {
    return (this.#t.s3 ? "x-amz-" : "x-oss-") + name;
  }

  /**
   * Reads an object, or the bytes of `range`. The body is a stream that resumes by itself after a broken
   * connection (Range from the next byte, If-Match the first ETag); cancel it if you stop early.
   */
  get(bucket: string, key: string, opts: GetOptions = {}): Promise<GetObjectResult> {
    return getObject(this.#t, bucket, key, opts);
  }

  /**
   * Reads an object (or `range`) into memory: the fast path for small objects (no stream in between). A body
   * that breaks is fetched again (up to 8 MiB) or resumed like {@linkcode get}'s (larger ones).
   */
  getBytes(bucket: string, key: string, opts: GetOptions = {}): Promise<GetBytesResult> {
    return getObjectBytes(this.#t, bucket, key, opts);
  }

  /** Metadata of an object. A missing object rejects with an OssError `NoSuchKey` (status 404). */
  async head(bucket: string, key: string, opts: RequestOptions = {}): Promise<ObjectMeta> {
    checkObject("head", bucket, key);
    const { res } = await this.#t.send({
      method: "HEAD",
      bucket,
      key,
      signal: opts.signal,
      onRetry: opts.onRetry,
    }, "none");
    return metaOf(res.headers);
  }

  /**
   * Whether an object exists: a HEAD that answers `true` (200) or `false` (404 `NoSuchKey`). Any other failure
   * rejects as {@linkcode head} does: a missing bucket where the store says so (OSS's `x-oss-ec` header;
   * S3-compatible stores and the local server answer a HEAD to a missing bucket with a bare 404, read as
   * `false`), access denied, network errors after retries.
   *
   * @example
   * ```ts
   * import { expect } from "expect";
   * import { OssClient } from "./client.ts";
   * import { serveEmulator } from "./server/emulator.ts";
   * const server = await serveEmulator({ buckets: ["demo"] });
   * const client = new OssClient({ endpoint: server.url, credentials: { accessKeyId: "id", accessKeySecret: "secret" } });
   * await client.put("demo", "here.txt", "hi");
   * expect([await client.exists("demo", "here.txt"), await client.exists("demo", "gone.txt")]).toEqual([true, false]);
   * await server.close();
   * ```
   */
  async exists(bucket: string, key: string, opts: RequestOptions = {}): Promise<boolean> {
    checkObject("exists", bucket, key);
    try {
      await this.head(bucket, key, opts);
      return true;
    } catch (err) {
      if (err instanceof OssError && err.status === 404 && err.code === "NoSuchKey") return false;
      throw err;
    }
  }

  /**
   * Writes an object (see {@linkcode PutBody} for how streams are sent). The body goes with its `Content-MD5`, so
   * the store refuses one that changed on the way (`BadDigest`; sent again while attempts remain) and the object
   * already at the key stays as it was; see {@linkcode PutOptions.contentMd5} for streamed bodies.
   */
  async put(bucket: string, key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    checkObject("put", bucket, key);
    const data = await toBody("put", body, opts.stream, opts.signal, opts.size);
    const headers = {
      "content-type": opts.contentType ?? ((data instanceof Blob && data.type) || OCTET_STREAM),
    };
    const spec: RequestSpec = {
      method: "PUT",
      bucket,
      key,
      headers,
      body: data,
      size: opts.size,
      signal: opts.signal,
      onRetry: opts.onRetry,
    };
    const { res } = await this.#sendChecked("put", spec, opts.contentMd5, true);
    return putResult(res.headers);
  }

  /**
   * Sends a write whose body is `spec.body` with its Content-MD5 (`md5`, else computed here unless the body is a
   * stream). Without an MD5, and when the answer's CRC-64 is the body's (`crcIsBody`: a PUT, not an append), the
   * body's CRC-64 is computed as it goes and compared with the one the store reports: a mismatch rejects with an
   * IntegrityError.
   */
  async #sendChecked(op: string, spec: RequestSpec, md5: string | undefined, crcIsBody: boolean) {
    const body = spec.body!;
    if (md5 !== undefined) checkContentMd5(op, md5);
    else if (!(body instanceof ReadableStream)) md5 = await contentMd5(body);
    let crc: Promise<string> | undefined;
    if (md5 !== undefined) spec.headers = { ...spec.headers, "content-md5": md5 };
    else if (crcIsBody && body instanceof ReadableStream) {
      const tap = crc64Tap(body);
      spec.body = tap.stream;
      crc = tap.digest;
    } else if (crcIsBody) crc = crc64Of(body as Uint8Array | Blob);
    const reply = await this.#t.send(spec, "none");
    const reported = reply.res.headers.get("x-oss-hash-crc64ecma") ?? undefined;
    if (crc !== undefined && reported !== undefined) {
      const sent = await crc;
      if (sent !== reported) {
        throw new IntegrityError(
          `${spec.method} ${spec.bucket}/${spec.key}: the store reports CRC-64 ${reported} for the object, the bytes sent have ${sent}: the body changed on the way and the object now holds other bytes`,
          { key: spec.key, expected: sent, actual: reported },
        );
      }
    }
    return reply;
  }

  /**
   * Appends to an appendable object (OSS only), creating it at position 0. Resolves with the position of the
   * next append; a wrong position rejects with an OssError `PositionNotEqualToLength` (409). A retried append
   * whose first attempt succeeded unseen also ends in that error: `head()` tells the current length.
   */
  async append(
    bucket: string,
    key: string,
    position: number,
    body: PutBody,
    opts: PutOptions = {},
  ): Promise<AppendResult> {
    checkObject("append", bucket, key);
    checkInt("append", "position", position, 0);
    if (this.#t.s3) {
      throw new ConfigError(
        `OssClient.append: appendable objects are an OSS feature; this client uses signatureVersion "s3v4"`,
      );
    }
    const data = await toBody("append", body, opts.stream, opts.signal, opts.size);
    const query = new URLSearchParams({ append: "", position: String(position) });
    const headers = {
      "content-type": opts.contentType ?? ((data instanceof Blob && data.type) || OCTET_STREAM),
    };
    const spec: RequestSpec = {
      method: "POST",
      bucket,
      key,
      query,
      headers,
      body: data,
      size: opts.size,
      signal: opts.signal,
      onRetry: opts.onRetry,
    };
    // The CRC-64 in an append's answer is the whole object's, not the body's: only Content-MD5 checks the body.
    const { res } = await this.#sendChecked("append", spec, opts.contentMd5, false);
    const h = res.headers;
    const nextPosition = intHeader(h, "x-oss-next-append-position");
    if (nextPosition < 0) {
      throw new OssError({
        code: "InvalidResponse",
        status: res.status,
        message: "append response lacks x-oss-next-append-position",
        requestId: requestIdOf(h),
        bucket,
        key,
        method: "POST",
      });
    }
    return { nextPosition, crc64: h.get("x-oss-hash-crc64ecma") ?? undefined, requestId: requestIdOf(h) };
  }

  /** Deletes an object; deleting a missing object succeeds (as on OSS and S3). */
  async delete(bucket: string, key: string, opts: RequestOptions = {}): Promise<void> {
    checkObject("delete", bucket, key);
    await this.#t.send({ method: "DELETE", bucket, key, signal: opts.signal, onRetry: opts.onRetry }, "none");
  }

  /**
   * Lists a bucket page by page (ListObjectsV2, keys URL-encoded on the wire and decoded here). The next page
   * is requested while the caller works on the current one; leaving the loop early aborts that request.
   */
  listPages(bucket: string, opts: ListOptions = {}): AsyncGenerator<ListPage> {
    return this.#pages("listPages", bucket, opts, undefined);
  }

  /** `listPages`; `firstPageKeys`, when given, sets `max-keys` of the first request only. */
  async *#pages(
    op: string,
    bucket: string,
    opts: ListOptions,
    firstPageKeys: number | undefined,
  ): AsyncGenerator<ListPage> {
    const base = this.#listQuery(op, bucket, opts);
    let first = base;
    if (firstPageKeys !== undefined) {
      first = new URLSearchParams(base);
      first.set("max-keys", String(firstPageKeys));
    }
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const fetchPage = (token: string | undefined, query = base) => {
      const pageStop = new AbortController();
      const text = this.#listText(
        bucket,
        query,
        token,
        AbortSignal.any([signal, pageStop.signal]),
        opts.onRetry,
      );
      text.catch(() => {}); // if the caller stops before awaiting it
      return { token, text, stop: pageStop };
    };
    let next: ReturnType<typeof fetchPage> | undefined = fetchPage(opts.continuationToken, first);
    try {
      while (next !== undefined) {
        const text: string = await next.text;
        // Ask for the following page before parsing this one, so its round trip overlaps the parse.
        const guess = peekContinuationToken(text);
        next = guess === undefined ? undefined : fetchPage(guess);
        // Signing is asynchronous: let the request reach fetch() before the parse below takes the thread.
        if (next !== undefined) await new Promise((resolve) => setTimeout(resolve, 0));
        const page = parseListObjectsV2(text);
        const token = page.isTruncated ? page.nextContinuationToken : undefined;
        if (token !== next?.token) {
          next?.stop.abort();
          next = token === undefined ? undefined : fetchPage(token);
        }
        yield page;
      }
    } finally {
      stop.abort();
      await next?.text.catch(() => {});
    }
  }

  /**
   * One page of a listing (ListObjectsV2), nothing fetched ahead: for paging driven by someone else, such as a
   * web page asking for the next page with `continuationToken` = the previous page's `nextContinuationToken`.
   */
  async listPage(bucket: string, opts: ListOptions = {}): Promise<ListPage> {
    const base = this.#listQuery("listPage", bucket, opts);
    return parseListObjectsV2(
      await this.#listText(bucket, base, opts.continuationToken, opts.signal, opts.onRetry),
    );
  }

  /** The query every page of a listing shares; checks the options. */
  #listQuery(op: string, bucket: string, opts: ListOptions): URLSearchParams {
    checkBucket(op, bucket);
    for (const name of ["prefix", "delimiter", "startAfter", "continuationToken"] as const) {
      checkOptionalString(op, name, opts[name]);
    }
    // Sent explicitly: OSS's own default is 100 keys a page, ten times the requests of the documented 1000.
    const maxKeys = opts.maxKeys === undefined ? 1000 : checkInt(op, "maxKeys", opts.maxKeys, 1, 1000);
    const base = new URLSearchParams({ "list-type": "2", "encoding-type": "url" });
    if (opts.prefix) base.set("prefix", opts.prefix);
    if (opts.delimiter) base.set("delimiter", opts.delimiter);
    base.set("max-keys", String(maxKeys));
    if (opts.startAfter && !opts.continuationToken) base.set("start-after", opts.startAfter);
    return base;
  }

  async #listText(
    bucket: string,
    base: URLSearchParams,
    token: string | undefined,
    signal: AbortSignal | undefined,
    onRetry: RequestOptions["onRetry"],
  ): Promise<string> {
    const query = new URLSearchParams(base);
    if (token) query.set("continuation-token", token);
    const { text } = await this.#t.send({ method: "GET", bucket, query, signal, onRetry }, "text");
    return text;
  }

  /**
   * Every object of a listing, page after page (common prefixes are in {@linkcode listPages}). Without
   * `maxKeys`, the first page holds 100 keys and the next ones 1000, so the first keys come quickly.
   */
  async *list(bucket: string, opts: ListOptions = {}): AsyncGenerator<ObjectSummary> {
    // Without a maxKeys of the caller's, the first page is small: its keys arrive sooner (less to build, send
    // and parse), and the pages of 1000 that follow are requested while the caller works on it.
    const first = opts.maxKeys === undefined ? FIRST_PAGE_KEYS : undefined;
    for await (const page of this.#pages("list", bucket, opts, first)) yield* page.objects;
  }

  /** Starts a multipart upload and resolves with its upload id. */
  async initiateMultipart(
    bucket: string,
    key: string,
    opts: Omit<PutOptions, "stream" | "contentMd5"> = {},
  ): Promise<string> {
    checkObject("initiateMultipart", bucket, key);
    const headers = { "content-type": opts.contentType ?? OCTET_STREAM };
    const query = new URLSearchParams({ uploads: "" });
    const { text } = await this.#t.send(
      { method: "POST", bucket, key, query, headers, signal: opts.signal, onRetry: opts.onRetry },
      "text",
    );
    return parseInitiateMultipart(text);
  }

  /** Uploads part `partNumber` (1..10000) of an upload. */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: PutBody,
    opts: UploadPartOptions = {},
  ): Promise<PutResult & { partNumber: number }> {
    checkObject("uploadPart", bucket, key);
    checkUploadId("uploadPart", uploadId);
    checkInt("uploadPart", "partNumber", partNumber, 1, 10000);
    const data = await toBody("uploadPart", body, opts.stream, opts.signal, opts.size);
    const query = new URLSearchParams({ partNumber: String(partNumber), uploadId });
    const { res } = await this.#t.send(
      {
        method: "PUT",
        bucket,
        key,
        query,
        body: data,
        size: opts.size,
        signal: opts.signal,
        onRetry: opts.onRetry,
      },
      "none",
    );
    const result = putResult(res.headers);
    if (result.etag === "") {
      // Without it the part cannot be completed; say so here, not later as a caller error in completeMultipart.
      throw new OssError({
        code: "InvalidResponse",
        status: res.status,
        message: `UploadPart ${partNumber} response lacks an ETag header (a proxy that strips headers?)`,
        requestId: result.requestId,
        bucket,
        key,
        method: "PUT",
      });
    }
    return { partNumber, ...result };
  }

  /** Assembles the parts (sorted by number) into the object. */
  async completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts: RequestOptions = {},
  ): Promise<PutResult> {
    checkObject("completeMultipart", bucket, key);
    checkUploadId("completeMultipart", uploadId);
    if (!Array.isArray(parts) || parts.length === 0) {
      throw new TypeError(
        `OssClient.completeMultipart: parts: expected a non-empty array of { partNumber, etag }`,
      );
    }
    parts.forEach((p, i) => {
      if (p === null || typeof p !== "object" || typeof p.etag !== "string" || p.etag === "") {
        throw new TypeError(
          `OssClient.completeMultipart: parts[${i}]: expected { partNumber, etag } with the ETag from uploadPart`,
        );
      }
      checkInt("completeMultipart", `parts[${i}].partNumber`, p.partNumber, 1, 10000);
    });
    const body = new TextEncoder().encode(buildCompleteMultipart(parts));
    const query = new URLSearchParams({ uploadId });
    const headers = { "content-type": "application/xml" };
    const spec: RequestSpec = {
      method: "POST",
      bucket,
      key,
      query,
      headers,
      body,
      signal: opts.signal,
      onRetry: opts.onRetry,
    };
    const { res, text } = await this.#t.send(spec, "text");
    this.#throwIfErrorDocument(spec, res, text);
    const etag = parseETagResult(text, "CompleteMultipartUploadResult");
    return { ...putResult(res.headers), etag };
  }

  /** Aborts an upload and frees its parts. */
  async abortMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    opts: RequestOptions = {},
  ): Promise<void> {
    checkObject("abortMultipart", bucket, key);
    checkUploadId("abortMultipart", uploadId);
    const query = new URLSearchParams({ uploadId });
    await this.#t.send(
      { method: "DELETE", bucket, key, query, signal: opts.signal, onRetry: opts.onRetry },
      "none",
    );
  }

  /** All parts uploaded so far, in part order (follows the pages of ListParts). */
  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: RequestOptions = {},
  ): Promise<PartInfo[]> {
    checkObject("listParts", bucket, key);
    checkUploadId("listParts", uploadId);
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ uploadId });
      if (marker) query.set("part-number-marker", marker);
      const { text } = await this.#t.send({
        method: "GET",
        bucket,
        key,
        query,
        signal: opts.signal,
        onRetry: opts.onRetry,
      }, "text");
      const page = parseListParts(text);
      parts.push(...page.parts);
      if (!page.isTruncated || !page.nextMarker || page.nextMarker === marker) return parts;
      marker = page.nextMarker;
    }
  }

  /** Unfinished multipart uploads of a bucket (follows the pages of ListMultipartUploads). */
  async listUploads(bucket: string, opts: ListUploadsOptions = {}): Promise<UploadInfo[]> {
    checkBucket("listUploads", bucket);
    checkOptionalString("listUploads", "prefix", opts.prefix);
    const uploads: UploadInfo[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ uploads: "" });
      if (opts.prefix) query.set("prefix", opts.prefix);
      if (keyMarker !== undefined) query.set("key-marker", keyMarker);
      if (idMarker !== undefined) query.set("upload-id-marker", idMarker);
      const { text } = await this.#t.send({
        method: "GET",
        bucket,
        query,
        signal: opts.signal,
        onRetry: opts.onRetry,
      }, "text");
      const page = parseListUploads(text);
      uploads.push(...page.uploads);
      if (!page.isTruncated || (page.nextKeyMarker === keyMarker && page.nextUploadIdMarker === idMarker)) {
        return uploads;
      }
      keyMarker = page.nextKeyMarker;
      idMarker = page.nextUploadIdMarker;
    }
  }

  /** Copies an object on the server side. */
  async copy(
    srcBucket: string,
    srcKey: string,
    dstBucket: string,
    dstKey: string,
    opts: RequestOptions = {},
  ): Promise<{ etag: string; requestId?: string }> {
    checkObject("copy", srcBucket, srcKey, "srcKey");
    checkObject("copy", dstBucket, dstKey, "dstKey");
    const headers = { [this.#h("copy-source")]: copySource(srcBucket, srcKey) };
    const spec: RequestSpec = {
      method: "PUT",
      bucket: dstBucket,
      key: dstKey,
      headers,
      signal: opts.signal,
      onRetry: opts.onRetry,
    };
    const { res, text } = await this.#t.send(spec, "text");
    this.#throwIfErrorDocument(spec, res, text);
    return { etag: parseETagResult(text, "CopyObjectResult"), requestId: requestIdOf(res.headers) };
  }

  /** S3 may answer CompleteMultipartUpload and CopyObject with 200 and an `<Error>` document. */
  #throwIfErrorDocument(spec: RequestSpec, res: Response, text: string): void {
    if (!/^\s*(<\?xml[^>]*>\s*)?<Error>/.test(text)) return;
    const parsed = parseErrorResponse(res.status, res.headers, text);
    throw new OssError({
      ...parsed,
      status: res.status,
      bucket: spec.bucket,
      key: spec.key,
      method: spec.method,
    });
  }
}

function putResult(h: Headers): PutResult {
  const r: PutResult = { etag: h.get("etag") ?? "" };
  const crc = h.get("x-oss-hash-crc64ecma");
  if (crc) r.crc64 = crc;
  const rid = requestIdOf(h);
  if (rid) r.requestId = rid;
  return r;
}
